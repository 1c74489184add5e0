/*
 * idle-watch: one display idle source in a main loop, for the integration
 * tests. Prints one line per fact on stdout:
 *   source NAME | idle 0|1 | idletime SECONDS | lost | error MESSAGE
 * and reads commands on stdin:
 *   timeout SECONDS | idletime | quit
 *
 * Usage: idle-watch x11|x11-screensaver|wayland TIMEOUT_SECONDS
 */

#define G_LOG_DOMAIN "pres-test"

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <stdio.h>
#include <stdlib.h>

#include "sensors/pres-idle-wayland.h"
#include "sensors/pres-idle-x11.h"

typedef struct
{
  GMainLoop        *loop;
  PresIdleSource   *source;
  GDataInputStream *input;
  GCancellable     *cancellable;
} Watch;

static void
say (const char *format,
     ...) G_GNUC_PRINTF (1, 2);

static void
say (const char *format,
     ...)
{
  va_list args;

  va_start (args, format);
  vprintf (format, args);
  va_end (args);
  putchar ('\n');
  fflush (stdout);
}

static void
on_idle (PresIdleSource *source,
         GParamSpec     *pspec,
         Watch          *watch)
{
  say ("idle %d", pres_idle_source_get_idle (source));
}

static void
on_lost (PresIdleSource *source,
         Watch          *watch)
{
  say ("lost");
}

static void
on_idle_time (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (GError) error = NULL;
  guint seconds = pres_idle_source_get_idle_time_finish (PRES_IDLE_SOURCE (object), result,
                                                         &error);

  if (error != NULL)
    say ("error %s", error->message);
  else
    say ("idletime %u", seconds);
}

static void read_command (Watch *watch);

static void
on_line (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Watch *watch = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (object),
                                                                result, NULL, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (line == NULL || g_str_equal (line, "quit"))
    {
      g_main_loop_quit (watch->loop);
      return;
    }
  if (g_str_has_prefix (line, "timeout "))
    pres_idle_source_set_timeout (watch->source, (guint) atoi (line + strlen ("timeout ")));
  else if (g_str_equal (line, "idletime"))
    pres_idle_source_get_idle_time_async (watch->source, watch->cancellable, on_idle_time, watch);
  else
    say ("error unknown command %s", line);
  read_command (watch);
}

static void
read_command (Watch *watch)
{
  g_data_input_stream_read_line_async (watch->input, G_PRIORITY_DEFAULT, watch->cancellable,
                                       on_line, watch);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) stdin_stream = NULL;
  Watch watch = { 0 };

  if (argc != 3)
    {
      g_printerr ("Usage: %s x11|x11-screensaver|wayland TIMEOUT_SECONDS\n", argv[0]);
      return 2;
    }

  if (g_str_equal (argv[1], "x11"))
    watch.source = pres_idle_x11_new (&error);
  else if (g_str_equal (argv[1], "x11-screensaver"))
    watch.source = pres_idle_x11_new_screensaver (&error);
  else if (g_str_equal (argv[1], "wayland"))
    watch.source = pres_idle_wayland_new (&error);
  else
    {
      g_printerr ("Unknown backend %s\n", argv[1]);
      return 2;
    }
  if (watch.source == NULL)
    {
      say ("error %s", error->message);
      return 1;
    }

  watch.loop = g_main_loop_new (NULL, FALSE);
  watch.cancellable = g_cancellable_new ();
  stdin_stream = g_unix_input_stream_new (0, FALSE);
  watch.input = g_data_input_stream_new (stdin_stream);

  g_signal_connect (watch.source, "notify::idle", G_CALLBACK (on_idle), &watch);
  g_signal_connect (watch.source, "lost", G_CALLBACK (on_lost), &watch);
  pres_idle_source_set_timeout (watch.source, (guint) atoi (argv[2]));
  say ("source %s", pres_idle_source_get_name (watch.source));
  say ("idle %d", pres_idle_source_get_idle (watch.source));
  read_command (&watch);

  g_main_loop_run (watch.loop);

  g_cancellable_cancel (watch.cancellable);
  g_clear_object (&watch.input);
  g_clear_object (&watch.source);
  g_clear_object (&watch.cancellable);
  /* Let the cancelled read finish so valgrind sees no live task. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_main_loop_unref (watch.loop);
  return 0;
}
