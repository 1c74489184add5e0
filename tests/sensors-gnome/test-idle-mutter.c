/*
 * The Mutter idle source against a stand-in for org.gnome.Mutter.IdleMonitor
 * on a private bus: which watches it adds and removes, when, and on which
 * Mutter. What a real Mutter does with them is in test_idle_gnome.py.
 */

#include <string.h>

#include "sensors/pres-idle-mutter.h"
#include "pres-test-utils.h"

#define NAME "org.gnome.Mutter.IdleMonitor"
#define PATH "/org/gnome/Mutter/IdleMonitor/Core"

static const char introspection[] =
  "<node><interface name='org.gnome.Mutter.IdleMonitor'>"
  "<method name='GetIdletime'><arg name='idletime' type='t' direction='out'/></method>"
  "<method name='AddIdleWatch'><arg name='interval' type='t' direction='in'/>"
  "<arg name='id' type='u' direction='out'/></method>"
  "<method name='AddUserActiveWatch'><arg name='id' type='u' direction='out'/></method>"
  "<method name='RemoveWatch'><arg name='id' type='u' direction='in'/></method>"
  "<signal name='WatchFired'><arg name='id' type='u'/></signal>"
  "</interface></node>";

/* One Mutter process: its own connection, its own watch ids from 1. */
typedef struct
{
  GDBusConnection *connection;
  guint            registration;
  guint            next_id;
  guint            idle_id;   /* the last idle watch added */
  guint64          idle_ms;   /* its threshold */
  guint            active_id; /* the last user-active watch added */
  guint            active_added;
  GArray          *removed;
  guint64          idletime;
  gboolean         leaving;   /* refuses new watches, as a Mutter on its way out */
  guint            refused;
} FakeMutter;

typedef struct
{
  GTestDBus      *bus;
  GDBusConnection *agent_connection;
  PresIdleSource *source;
} Fixture;

static void
fake_method_call (GDBusConnection       *connection,
                  const char            *sender,
                  const char            *path,
                  const char            *iface,
                  const char            *method,
                  GVariant              *parameters,
                  GDBusMethodInvocation *invocation,
                  gpointer               user_data)
{
  FakeMutter *fake = user_data;
  guint id;

  if (fake->leaving && g_str_has_prefix (method, "Add"))
    {
      fake->refused++;
      g_dbus_method_invocation_return_dbus_error (invocation,
                                                  "org.freedesktop.DBus.Error.UnknownObject",
                                                  "The idle monitor is gone");
    }
  else if (g_str_equal (method, "GetIdletime"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(t)", fake->idletime));
  else if (g_str_equal (method, "AddIdleWatch"))
    {
      g_variant_get (parameters, "(t)", &fake->idle_ms);
      fake->idle_id = ++fake->next_id;
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", fake->idle_id));
    }
  else if (g_str_equal (method, "AddUserActiveWatch"))
    {
      fake->active_id = ++fake->next_id;
      fake->active_added++;
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", fake->active_id));
    }
  else
    {
      g_variant_get (parameters, "(u)", &id);
      g_array_append_val (fake->removed, id);
      g_dbus_method_invocation_return_value (invocation, NULL);
    }
}

static const GDBusInterfaceVTable fake_vtable = { fake_method_call, NULL, NULL };

static FakeMutter *
fake_start (Fixture *fixture)
{
  FakeMutter *fake = g_new0 (FakeMutter, 1);
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (introspection, NULL);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  fake->removed = g_array_new (FALSE, FALSE, sizeof (guint));
  /* Long idle, as a real Mutter would say once a watch fired: the source
   * checks the idle time whenever it adds watches. */
  fake->idletime = 10 * 3600 * 1000;
  fake->connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (fixture->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  fake->registration = g_dbus_connection_register_object (fake->connection, PATH,
                                                          info->interfaces[0], &fake_vtable, fake,
                                                          NULL, &error);
  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (fake->connection, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "RequestName", g_variant_new ("(su)", NAME, 0),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  g_assert_no_error (error);
  return fake;
}

/* As a Mutter that quits does first: the monitor goes, the name stays. */
static void
fake_unexport (FakeMutter *fake)
{
  g_dbus_connection_unregister_object (fake->connection, fake->registration);
  fake->registration = 0;
}

/* Like a crash: the connection goes, and with it the name and the watches. */
static void
fake_stop (FakeMutter *fake)
{
  if (fake->registration != 0)
    fake_unexport (fake);
  g_dbus_connection_close_sync (fake->connection, NULL, NULL);
  g_object_unref (fake->connection);
  g_array_unref (fake->removed);
  g_free (fake);
}

static void
fake_fire (FakeMutter *fake,
           guint       id)
{
  g_autoptr (GError) error = NULL;

  g_dbus_connection_emit_signal (fake->connection, NULL, PATH, NAME, "WatchFired",
                                 g_variant_new ("(u)", id), &error);
  g_assert_no_error (error);
}

static gboolean
fake_removed (FakeMutter *fake,
              guint       id)
{
  for (guint i = 0; i < fake->removed->len; i++)
    if (g_array_index (fake->removed, guint, i) == id)
      return TRUE;
  return FALSE;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (fixture->bus);
  fixture->agent_connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (fixture->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->source);
  g_dbus_connection_close_sync (fixture->agent_connection, NULL, NULL);
  g_clear_object (&fixture->agent_connection);
  g_test_dbus_down (fixture->bus);
  g_clear_object (&fixture->bus);
}

static void
test_watches (Fixture *fixture, gconstpointer data)
{
  FakeMutter *fake = fake_start (fixture);
  guint first;

  fixture->source = pres_idle_mutter_new (fixture->agent_connection);
  g_assert_cmpstr (pres_idle_source_get_name (fixture->source), ==, "mutter");
  PRES_WAIT_UNTIL (fake->idle_id != 0);
  g_assert_cmpuint (fake->idle_ms, ==, 300000);

  /* A new timeout replaces the watch. */
  first = fake->idle_id;
  pres_idle_source_set_timeout (fixture->source, 20);
  PRES_WAIT_UNTIL (fake->idle_id != first && fake_removed (fake, first));
  g_assert_cmpuint (fake->idle_ms, ==, 20000);
  g_assert_false (pres_idle_source_get_idle (fixture->source));

  /* Idle: a user-active watch is armed; it fires once, so each idle
   * period arms a new one. */
  for (guint round = 1; round <= 2; round++)
    {
      fake_fire (fake, fake->idle_id);
      PRES_WAIT_UNTIL (pres_idle_source_get_idle (fixture->source));
      PRES_WAIT_UNTIL (fake->active_added == round);
      fake_fire (fake, fake->active_id);
      PRES_WAIT_UNTIL (!pres_idle_source_get_idle (fixture->source));
    }
  g_assert_cmpuint (fake->active_added, ==, 2);
  fake_stop (fake);
}

static void
test_mutter_restart (Fixture *fixture, gconstpointer data)
{
  FakeMutter *fake = fake_start (fixture);
  FakeMutter *again;

  fixture->source = pres_idle_mutter_new (fixture->agent_connection);
  pres_idle_source_set_timeout (fixture->source, 15);
  PRES_WAIT_UNTIL (fake->idle_id != 0 && fake->idle_ms == 15000);
  fake_fire (fake, fake->idle_id);
  PRES_WAIT_UNTIL (pres_idle_source_get_idle (fixture->source));
  fake_stop (fake);

  /* The new Mutter hands out the same ids again; it gets its own watch at
   * the current timeout, and says whether input is still idle. */
  again = fake_start (fixture);
  again->idletime = 200;
  PRES_WAIT_UNTIL (again->idle_id != 0);
  g_assert_cmpuint (again->idle_ms, ==, 15000);
  PRES_WAIT_UNTIL (!pres_idle_source_get_idle (fixture->source));

  again->idletime = 15000;
  fake_fire (again, again->idle_id);
  PRES_WAIT_UNTIL (pres_idle_source_get_idle (fixture->source));
  PRES_WAIT_UNTIL (again->active_added == 1);
  fake_stop (again);
}

static void
on_seen (GDBusConnection *connection,
         const char      *sender,
         const char      *path,
         const char      *iface,
         const char      *signal,
         GVariant        *parameters,
         gpointer         user_data)
{
  *(gboolean *) user_data = TRUE;
}

static void
test_foreign_signals (Fixture *fixture, gconstpointer data)
{
  FakeMutter *fake = fake_start (fixture);
  g_autoptr (GDBusConnection) other = NULL;
  g_autoptr (GError) error = NULL;
  gboolean seen = FALSE;
  guint subscription;

  fixture->source = pres_idle_mutter_new (fixture->agent_connection);
  PRES_WAIT_UNTIL (fake->idle_id != 0);

  /* Someone else's WatchFired with our id is not Mutter's word. */
  other = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (fixture->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  subscription = g_dbus_connection_signal_subscribe (
    fixture->agent_connection, g_dbus_connection_get_unique_name (other), NAME, "WatchFired",
    PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_seen, &seen, NULL);
  g_dbus_connection_emit_signal (other, NULL, PATH, NAME, "WatchFired",
                                 g_variant_new ("(u)", fake->idle_id), &error);
  g_assert_no_error (error);
  /* The source got it together with this test. */
  PRES_WAIT_UNTIL (seen);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_false (pres_idle_source_get_idle (fixture->source));
  g_dbus_connection_signal_unsubscribe (fixture->agent_connection, subscription);

  /* Mutter's own: an id it never handed out, then ours. */
  fake_fire (fake, fake->idle_id + 100);
  fake_fire (fake, fake->idle_id);
  PRES_WAIT_UNTIL (fake->active_added == 1);
  g_assert_true (pres_idle_source_get_idle (fixture->source));
  g_dbus_connection_close_sync (other, NULL, NULL);
  fake_stop (fake);
}

static void
on_idle_time (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
test_idle_time (Fixture *fixture, gconstpointer data)
{
  FakeMutter *fake = fake_start (fixture);
  g_autoptr (GAsyncResult) result = NULL;
  g_autoptr (GAsyncResult) gone = NULL;
  g_autoptr (GError) error = NULL;

  fixture->source = pres_idle_mutter_new (fixture->agent_connection);
  PRES_WAIT_UNTIL (fake->idle_id != 0);
  fake->idletime = 4999;
  pres_idle_source_get_idle_time_async (fixture->source, NULL, on_idle_time, &result);
  PRES_WAIT_UNTIL (result != NULL);
  g_assert_cmpuint (pres_idle_source_get_idle_time_finish (fixture->source, result, &error), ==,
                    4);
  g_assert_no_error (error);

  /* Without Mutter the idle time is unknown: an error, never a number. */
  fake_stop (fake);
  pres_idle_source_get_idle_time_async (fixture->source, NULL, on_idle_time, &gone);
  PRES_WAIT_UNTIL (gone != NULL);
  pres_idle_source_get_idle_time_finish (fixture->source, gone, &error);
  g_assert_nonnull (error);
}

/* What the source said of a refused watch. */
typedef struct
{
  gboolean warned;
  gboolean forgiven;
} Heard;

/* The source's warnings and debug lines, heard instead of printed. */
static void
on_log (const char     *domain,
        GLogLevelFlags  level,
        const char     *message,
        gpointer        user_data)
{
  Heard *heard = user_data;

  if ((level & G_LOG_LEVEL_WARNING) && strstr (message, "Cannot add a Mutter") != NULL)
    heard->warned = TRUE;
  /* Refused and then gone, or gone before it could answer. */
  if ((level & G_LOG_LEVEL_DEBUG) && g_str_has_prefix (message, "Mutter left "))
    heard->forgiven = TRUE;
}

/* The warning is heard, not fatal. */
static gboolean
on_fatal_log (const char     *domain,
              GLogLevelFlags  level,
              const char     *message,
              gpointer        user_data)
{
  return g_strcmp0 (domain, "pres-idle-mutter") != 0;
}

static guint
listen_to_the_source (Heard *heard)
{
  g_test_log_set_fatal_handler (on_fatal_log, NULL);
  /* Warnings are fatal in tests: a handler takes them only with the flag. */
  return g_log_set_handler ("pres-idle-mutter",
                            G_LOG_LEVEL_WARNING | G_LOG_LEVEL_DEBUG | G_LOG_FLAG_FATAL, on_log,
                            heard);
}

static void
stop_listening (guint handler)
{
  g_log_remove_handler ("pres-idle-mutter", handler);
  g_test_log_set_fatal_handler (NULL, NULL);
}

static void
test_monitor_missing (Fixture *fixture, gconstpointer data)
{
  FakeMutter *fake = fake_start (fixture);
  Heard heard = { 0 };
  guint handler = listen_to_the_source (&heard);

  /* A name owner without the monitor, for good: that is worth a warning. */
  fake_unexport (fake);
  fixture->source = pres_idle_mutter_new (fixture->agent_connection);
  PRES_WAIT_UNTIL (heard.warned);
  stop_listening (handler);
  fake_stop (fake);
}

static void
test_monitor_gone_before_name (Fixture *fixture, gconstpointer data)
{
  FakeMutter *fake = fake_start (fixture);
  Heard heard = { 0 };
  guint handler;

  fixture->source = pres_idle_mutter_new (fixture->agent_connection);
  pres_idle_source_set_timeout (fixture->source, 15);
  PRES_WAIT_UNTIL (fake->idle_id != 0 && fake->idle_ms == 15000);

  /* Mutter quitting: the monitor goes first, so the user-active watch the
   * source asks for once input is idle is refused; then the name goes. */
  handler = listen_to_the_source (&heard);
  fake->leaving = TRUE;
  fake_fire (fake, fake->idle_id);
  PRES_WAIT_UNTIL (fake->refused == 1);
  /* The refusal is on the bus before the name goes. */
  g_dbus_connection_flush_sync (fake->connection, NULL, NULL);
  fake_stop (fake);
  PRES_WAIT_UNTIL (heard.forgiven);
  g_assert_false (heard.warned);
  stop_listening (handler);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/idle-mutter/watches", test_watches);
  ADD ("/idle-mutter/mutter-restart", test_mutter_restart);
  ADD ("/idle-mutter/foreign-signals", test_foreign_signals);
  ADD ("/idle-mutter/idle-time", test_idle_time);
  ADD ("/idle-mutter/monitor-missing", test_monitor_missing);
  ADD ("/idle-mutter/monitor-gone-before-name", test_monitor_gone_before_name);
#undef ADD

  return g_test_run ();
}
