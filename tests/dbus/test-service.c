#include "pres-dbus.h"
#include "pres-error.h"
#include "pres-fake-clock.h"
#include "pres-service.h"
#include "pres-settings.h"
#include "pres-test-utils.h"

/* 2026-01-05 12:00:00 UTC */
#define T0 G_GINT64_CONSTANT (1767614400)
#define INSTANCE_ID "0b7e3c52-9f5d-8a3b-9c11-5d2e7f0a4b61"

typedef struct
{
  GTestDBus *bus;
  GDBusConnection *service_connection;
  GDBusConnection *client_connection;
  PresFakeClock *clock;
  PresModel *model;
  PresLink *link;
  PresIdleSource *idle_source;
  GSettings *settings;
  PresService *service;
  PresDBusAgent *proxy;
  GHashTable *changed; /* property names seen in PropertiesChanged */
  GPtrArray *signals;  /* "state previous reason" of StateChanged */
  guint reconnects;
} Fixture;

static void
on_properties_changed (GDBusProxy *proxy, GVariant *changed, GStrv invalidated, Fixture *fixture)
{
  GVariantIter iter;
  const char *name;

  g_variant_iter_init (&iter, changed);
  while (g_variant_iter_next (&iter, "{&sv}", &name, NULL))
    g_hash_table_add (fixture->changed, g_strdup (name));
}

static void
on_state_changed (PresDBusAgent *proxy,
                  const char *state,
                  const char *previous,
                  const char *reason,
                  Fixture *fixture)
{
  g_ptr_array_add (fixture->signals, g_strdup_printf ("%s %s %s", state, previous, reason));
}

static void
on_reconnect_requested (PresService *service, Fixture *fixture)
{
  fixture->reconnects++;
}

static void
on_proxy_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **)user_data = g_object_ref (result);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) proxy_result = NULL;
  g_autofree char *address = NULL;

  fixture->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (fixture->bus);
  address = g_strdup (g_test_dbus_get_bus_address (fixture->bus));

  fixture->service_connection = g_dbus_connection_new_for_address_sync (
    address,
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  fixture->client_connection = g_dbus_connection_new_for_address_sync (
    address,
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);

  fixture->clock = pres_fake_clock_new (T0 * G_USEC_PER_SEC);
  fixture->model = pres_model_new (PRES_CLOCK (fixture->clock));
  fixture->link = pres_link_new ("http://127.0.0.1:8787");
  fixture->idle_source = pres_idle_source_new_none ();
  fixture->settings = pres_settings_new (&error);
  g_assert_no_error (error);
  fixture->service = pres_service_new (fixture->model, fixture->link, fixture->idle_source,
                                       fixture->settings, INSTANCE_ID);
  g_signal_connect (fixture->service, "reconnect-requested", G_CALLBACK (on_reconnect_requested),
                    fixture);
  pres_model_start (fixture->model);
  g_assert_true (pres_service_export (fixture->service, fixture->service_connection, &error));
  g_assert_no_error (error);

  pres_dbus_agent_proxy_new (fixture->client_connection, G_DBUS_PROXY_FLAGS_NONE,
                             g_dbus_connection_get_unique_name (fixture->service_connection),
                             PRES_AGENT_OBJECT_PATH, NULL, on_proxy_ready, &proxy_result);
  PRES_WAIT_UNTIL (proxy_result != NULL);
  fixture->proxy = pres_dbus_agent_proxy_new_finish (proxy_result, &error);
  g_assert_no_error (error);

  fixture->changed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  fixture->signals = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (fixture->proxy, "g-properties-changed", G_CALLBACK (on_properties_changed),
                    fixture);
  g_signal_connect (fixture->proxy, "state-changed", G_CALLBACK (on_state_changed), fixture);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->proxy);
  g_clear_object (&fixture->service);
  g_clear_object (&fixture->settings);
  g_clear_object (&fixture->idle_source);
  g_clear_object (&fixture->link);
  g_clear_object (&fixture->model);
  g_clear_object (&fixture->clock);
  g_dbus_connection_close_sync (fixture->client_connection, NULL, NULL);
  g_dbus_connection_close_sync (fixture->service_connection, NULL, NULL);
  g_clear_object (&fixture->client_connection);
  g_clear_object (&fixture->service_connection);
  g_hash_table_unref (fixture->changed);
  g_ptr_array_unref (fixture->signals);
  g_test_dbus_down (fixture->bus);
  g_clear_object (&fixture->bus);
}

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **)user_data = g_object_ref (result);
}

/* Service and client share this thread's main loop, so calls are made
 * asynchronously and waited for, never with _sync. */
static GVariant *
call (Fixture *fixture, const char *method, GVariant *parameters, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  g_dbus_connection_call (fixture->client_connection,
                          g_dbus_connection_get_unique_name (fixture->service_connection),
                          PRES_AGENT_OBJECT_PATH, "org.presence.Agent", method, parameters, NULL,
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_call_done, &result);
  PRES_WAIT_UNTIL (result != NULL);
  return g_dbus_connection_call_finish (fixture->client_connection, result, error);
}

static gboolean
call_ok (Fixture *fixture, const char *method, GVariant *parameters, GError **error)
{
  g_autoptr (GVariant) reply = call (fixture, method, parameters, error);

  return reply != NULL;
}

#define CHANGED(name) g_hash_table_contains (fixture->changed, (name))

static void
assert_signal (Fixture *fixture, const char *expected)
{
  PRES_WAIT_UNTIL (fixture->signals->len > 0);
  g_assert_cmpuint (fixture->signals->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fixture->signals, 0), ==, expected);
  g_ptr_array_set_size (fixture->signals, 0);
}

static void
assert_invalid_args (GError *error, const char *mention)
{
  g_autofree char *remote = NULL;

  g_assert_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS);
  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, "org.presence.Agent.Error.InvalidArgs");
  g_assert_nonnull (strstr (error->message, mention));
}

static void
test_properties (Fixture *fixture, gconstpointer data)
{
  PresDBusAgent *p = fixture->proxy;

  g_assert_cmpstr (pres_dbus_agent_get_state (p), ==, "online");
  g_assert_cmpstr (pres_dbus_agent_get_auto_state (p), ==, "online");
  g_assert_cmpstr (pres_dbus_agent_get_manual_state (p), ==, "");
  g_assert_cmpint (pres_dbus_agent_get_manual_until (p), ==, 0);
  g_assert_cmpstr (pres_dbus_agent_get_status_text (p), ==, "");
  g_assert_cmpuint (pres_dbus_agent_get_idle_timeout (p), ==, 300);
  g_assert_cmpstr (pres_dbus_agent_get_idle_source (p), ==, "none");
  g_assert_false (pres_dbus_agent_get_locked (p));
  g_assert_cmpstr (pres_dbus_agent_get_connection (p), ==, "disconnected");
  g_assert_cmpstr (pres_dbus_agent_get_last_error (p), ==, "");
  g_assert_cmpint (pres_dbus_agent_get_last_heartbeat (p), ==, 0);
  g_assert_cmpstr (pres_dbus_agent_get_instance_id (p), ==, INSTANCE_ID);
  g_assert_cmpstr (pres_dbus_agent_get_server (p), ==, "http://127.0.0.1:8787");
  g_assert_cmpstr (pres_dbus_agent_get_version (p), ==, PACKAGE_VERSION);
}

static void
test_set_busy (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (call_ok (fixture, "SetBusy", g_variant_new ("(u)", 3600), &error));
  g_assert_no_error (error);
  assert_signal (fixture, "busy online manual");
  PRES_WAIT_UNTIL (CHANGED ("State") && CHANGED ("ManualState") && CHANGED ("ManualUntil"));
  g_assert_cmpstr (pres_dbus_agent_get_state (fixture->proxy), ==, "busy");
  g_assert_cmpstr (pres_dbus_agent_get_manual_state (fixture->proxy), ==, "busy");
  g_assert_cmpint (pres_dbus_agent_get_manual_until (fixture->proxy), ==, T0 + 3600);

  /* Expiry reaches the bus as a StateChanged with reason "expired". */
  pres_fake_clock_advance (fixture->clock, 3600 * 1000);
  assert_signal (fixture, "online busy expired");
  PRES_WAIT_UNTIL (g_strcmp0 (pres_dbus_agent_get_manual_state (fixture->proxy), "") == 0);
  g_assert_cmpint (pres_dbus_agent_get_manual_until (fixture->proxy), ==, 0);
}

static void
test_set_appear_offline (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (call_ok (fixture, "SetAppearOffline", g_variant_new ("(u)", 0), &error));
  assert_signal (fixture, "appear_offline online manual");
  PRES_WAIT_UNTIL (CHANGED ("State") && CHANGED ("ManualState"));
  g_assert_cmpstr (pres_dbus_agent_get_state (fixture->proxy), ==, "appear_offline");
  g_assert_cmpint (pres_dbus_agent_get_manual_until (fixture->proxy), ==, 0);
}

static void
test_set_auto (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (call_ok (fixture, "SetBusy", g_variant_new ("(u)", 0), &error));
  assert_signal (fixture, "busy online manual");
  g_assert_true (call_ok (fixture, "SetAuto", NULL, &error));
  g_assert_no_error (error);
  assert_signal (fixture, "online busy auto");
  PRES_WAIT_UNTIL (g_strcmp0 (pres_dbus_agent_get_manual_state (fixture->proxy), "") == 0);
  g_assert_cmpstr (pres_dbus_agent_get_state (fixture->proxy), ==, "online");

  /* Idempotent: no second signal. */
  g_assert_true (call_ok (fixture, "SetAuto", NULL, &error));
  g_assert_cmpuint (fixture->signals->len, ==, 0);
}

static void
test_invalid_duration (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (call_ok (fixture, "SetBusy", g_variant_new ("(u)", 31536001), &error));
  assert_invalid_args (error, "seconds");
  g_clear_error (&error);
  g_assert_false (
    call_ok (fixture, "SetAppearOffline", g_variant_new ("(u)", G_MAXUINT32), &error));
  assert_invalid_args (error, "31536000");

  g_assert_cmpstr (pres_dbus_agent_get_state (fixture->proxy), ==, "online");
  g_assert_cmpuint (fixture->signals->len, ==, 0);
  g_assert_cmpint (pres_model_get_manual (fixture->model), ==, PRES_MANUAL_NONE);
}

static void
test_status_text (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *too_long = g_strnfill (141, 'x');

  g_assert_true (call_ok (fixture, "SetStatusText", g_variant_new ("(s)", "In a meeting"), &error));
  PRES_WAIT_UNTIL (CHANGED ("StatusText"));
  g_assert_cmpstr (pres_dbus_agent_get_status_text (fixture->proxy), ==, "In a meeting");

  g_assert_false (call_ok (fixture, "SetStatusText", g_variant_new ("(s)", too_long), &error));
  assert_invalid_args (error, "140");
  g_clear_error (&error);
  g_assert_false (call_ok (fixture, "SetStatusText", g_variant_new ("(s)", "a\tb"), &error));
  assert_invalid_args (error, "control");
  g_assert_cmpstr (pres_model_get_status_text (fixture->model), ==, "In a meeting");
  /* Text is not a state change. */
  g_assert_cmpuint (fixture->signals->len, ==, 0);
}

static void
test_get_idle_time_unsupported (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *remote = NULL;

  g_assert_false (call_ok (fixture, "GetIdleTime", NULL, &error));
  g_assert_error (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED);
  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, "org.presence.Agent.Error.NotSupported");
}

static void
test_reconnect (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (call_ok (fixture, "Reconnect", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->reconnects, ==, 1);
}

static void
test_explain (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  const char *text;

  g_assert_true (call_ok (fixture, "SetBusy", g_variant_new ("(u)", 0), &error));
  pres_link_set_last_error (fixture->link, "the server did not answer within 10 s");
  reply = call (fixture, "Explain", NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(&s)", &text);
  g_assert_nonnull (strstr (text, "State: busy"));
  g_assert_nonnull (strstr (text, "until switched back to automatic"));
  g_assert_nonnull (strstr (text, "idle source: none"));
  g_assert_nonnull (strstr (text, "did not answer within 10 s"));
}

static void
test_link_properties (Fixture *fixture, gconstpointer data)
{
  pres_link_set_connection (fixture->link, PRES_CONNECTION_UNAUTHORIZED);
  pres_link_set_last_error (fixture->link, "token refused");
  pres_link_set_last_heartbeat (fixture->link, 1767614400123);
  pres_link_set_server (fixture->link, "https://presence.example.org");
  PRES_WAIT_UNTIL (CHANGED ("Connection") && CHANGED ("LastError") && CHANGED ("LastHeartbeat")
                   && CHANGED ("Server"));
  g_assert_cmpstr (pres_dbus_agent_get_connection (fixture->proxy), ==, "unauthorized");
  g_assert_cmpstr (pres_dbus_agent_get_last_error (fixture->proxy), ==, "token refused");
  g_assert_cmpint (pres_dbus_agent_get_last_heartbeat (fixture->proxy), ==, 1767614400123);
}

static void
test_locked_and_auto_state (Fixture *fixture, gconstpointer data)
{
  pres_model_set_locked (fixture->model, TRUE);
  assert_signal (fixture, "idle online lock");
  PRES_WAIT_UNTIL (CHANGED ("Locked") && CHANGED ("AutoState"));
  g_assert_true (pres_dbus_agent_get_locked (fixture->proxy));
  g_assert_cmpstr (pres_dbus_agent_get_auto_state (fixture->proxy), ==, "idle");
}

static GVariant *
set_idle_timeout (Fixture *fixture, guint seconds, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  g_dbus_connection_call (
    fixture->client_connection, g_dbus_connection_get_unique_name (fixture->service_connection),
    PRES_AGENT_OBJECT_PATH, "org.freedesktop.DBus.Properties", "Set",
    g_variant_new ("(ssv)", "org.presence.Agent", "IdleTimeout", g_variant_new_uint32 (seconds)),
    NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_call_done, &result);
  PRES_WAIT_UNTIL (result != NULL);
  return g_dbus_connection_call_finish (fixture->client_connection, result, error);
}

static void
test_idle_timeout (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;

  /* Bus → settings. */
  reply = set_idle_timeout (fixture, 120, &error);
  g_assert_no_error (error);
  PRES_WAIT_UNTIL (g_settings_get_uint (fixture->settings, "idle-timeout") == 120);
  PRES_WAIT_UNTIL (pres_dbus_agent_get_idle_timeout (fixture->proxy) == 120);

  /* Settings → bus. */
  g_hash_table_remove_all (fixture->changed);
  g_settings_set_uint (fixture->settings, "idle-timeout", 900);
  PRES_WAIT_UNTIL (CHANGED ("IdleTimeout"));
  g_assert_cmpuint (pres_dbus_agent_get_idle_timeout (fixture->proxy), ==, 900);

  /* Out of range: refused, nothing changes. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = set_idle_timeout (fixture, 9, &error);
  assert_invalid_args (error, "IdleTimeout");
  g_clear_error (&error);
  reply = set_idle_timeout (fixture, 86401, &error);
  assert_invalid_args (error, "86400");
  g_assert_cmpuint (g_settings_get_uint (fixture->settings, "idle-timeout"), ==, 900);
}

static void
test_bad_arguments (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;

  /* A string where seconds belong: refused by the bus layer, no change. */
  reply = call (fixture, "SetBusy", g_variant_new ("(s)", "1h"), &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_assert_cmpstr (pres_dbus_agent_get_state (fixture->proxy), ==, "online");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func)                                                                            \
  g_test_add ("/service/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("properties", test_properties);
  ADD ("set-busy", test_set_busy);
  ADD ("set-appear-offline", test_set_appear_offline);
  ADD ("set-auto", test_set_auto);
  ADD ("invalid-duration", test_invalid_duration);
  ADD ("status-text", test_status_text);
  ADD ("get-idle-time-unsupported", test_get_idle_time_unsupported);
  ADD ("reconnect", test_reconnect);
  ADD ("explain", test_explain);
  ADD ("link-properties", test_link_properties);
  ADD ("locked-and-auto-state", test_locked_and_auto_state);
  ADD ("idle-timeout", test_idle_timeout);
  ADD ("bad-arguments", test_bad_arguments);
#undef ADD

  return g_test_run ();
}
