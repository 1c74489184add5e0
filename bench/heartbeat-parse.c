/* bench/heartbeat-parse: the server's reading of one heartbeat body, the
 * loadgen's, with N bytes of member data: without data, with data read by
 * the fast reader, and with the same data under a name that only json-glib
 * reads ("d\u0061ta"), side by side in one run.
 *
 *   build/bench/heartbeat-parse [--data-bytes 1024] [--iterations 20000]
 *                               [--only none|fast|json-glib]
 *
 * Prints the mean time per parse; on a busy machine compare instructions
 * instead: `valgrind --tool=callgrind` of each path alone (--only). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pres-wire.h"

static char *
body_with (const char *name, int data_bytes)
{
  GString *body = g_string_new ("{\"state\":\"online\",\"session\":\"a1b2c3d4\",\"seq\":42,"
                                "\"last_input_seconds\":12,\"reason\":\"periodic\"");

  if (name != NULL)
    {
      g_string_append_printf (body, ",\"%s\":{\"d\":\"", name);
      for (int i = 0; i < data_bytes - 8; i++)
        g_string_append_c (body, 'x');
      g_string_append (body, "\"}");
    }
  g_string_append_c (body, '}');
  return g_string_free (body, FALSE);
}

static double
ns_per_parse (const char *body, int iterations)
{
  gsize len = strlen (body);
  gint64 start = g_get_monotonic_time ();

  for (int i = 0; i < iterations; i++)
    {
      g_autoptr (GError) error = NULL;
      PresHeartbeat *hb = pres_heartbeat_parse (body, len, &error);

      if (hb == NULL)
        g_error ("the bench body does not parse: %s", error->message);
      pres_heartbeat_free (hb);
    }
  return (g_get_monotonic_time () - start) * 1000.0 / iterations;
}

int
main (int argc, char *argv[])
{
  int data_bytes = 1024, iterations = 20000;
  const char *only = NULL;

  for (int i = 1; i + 1 < argc; i += 2)
    {
      if (strcmp (argv[i], "--data-bytes") == 0)
        data_bytes = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--iterations") == 0)
        iterations = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--only") == 0)
        only = argv[i + 1];
    }
  if (data_bytes < 9 || data_bytes > 1024 || iterations < 1)
    {
      fprintf (stderr, "usage: %s [--data-bytes 9..1024] [--iterations N]\n", argv[0]);
      return 2;
    }
  {
    g_autofree char *none = body_with (NULL, 0);
    g_autofree char *fast = body_with ("data", data_bytes);
    g_autofree char *full = body_with ("d\\u0061ta", data_bytes);

    if (only == NULL || strcmp (only, "none") == 0)
      printf ("no data: %.0f ns\n", ns_per_parse (none, iterations));
    if (only == NULL || strcmp (only, "fast") == 0)
      printf ("%d B of data, fast reader: %.0f ns\n", data_bytes, ns_per_parse (fast, iterations));
    if (only == NULL || strcmp (only, "json-glib") == 0)
      printf ("%d B of data, json-glib: %.0f ns\n", data_bytes, ns_per_parse (full, iterations));
  }
  return 0;
}
