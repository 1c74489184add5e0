/*
 * bench/idle-poll: the way the agent does NOT watch idleness, as a
 * yardstick for bench/idle-cost. Asks GNOME's idle monitor for the idle
 * time once a second, as polling presence clients do, on a GLib main loop
 * like the agent's.
 *
 *   idle-poll [INTERVAL_MS]
 */

#include <stdlib.h>

#include <gio/gio.h>

#define MUTTER_NAME "org.gnome.Mutter.IdleMonitor"
#define MUTTER_PATH "/org/gnome/Mutter/IdleMonitor/Core"

typedef struct
{
  GDBusConnection *bus;
  guint64          threshold_ms;
  gboolean         idle;
} Poller;

static void
on_idle_time (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Poller *poller = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  guint64 idle_ms;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_printerr ("idle-poll: %s\n", error->message);
      return;
    }
  g_variant_get (reply, "(t)", &idle_ms);
  /* What a polling client does with the answer: compare and maybe act. */
  poller->idle = idle_ms >= poller->threshold_ms;
}

static gboolean
poll_once (gpointer user_data)
{
  Poller *poller = user_data;

  g_dbus_connection_call (poller->bus, MUTTER_NAME, MUTTER_PATH, MUTTER_NAME, "GetIdletime", NULL,
                          G_VARIANT_TYPE ("(t)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
                          on_idle_time, poller);
  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  guint interval_ms = argc > 1 ? (guint) strtoul (argv[1], NULL, 10) : 1000;
  Poller poller = { .threshold_ms = 10000 };

  poller.bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (poller.bus == NULL)
    {
      g_printerr ("idle-poll: %s\n", error->message);
      return EXIT_FAILURE;
    }
  g_timeout_add (interval_ms > 0 ? interval_ms : 1000, poll_once, &poller);
  g_main_loop_run (loop);
  g_object_unref (poller.bus);
  return EXIT_SUCCESS;
}
