#include <json-glib/json-glib.h>

#include "pres-http-transport.h"
#include "pres-recording-server.h"
#include "pres-settings.h"

#define INSTANCE_ID "test-instance"
#define TOKEN "test-token-1234"

/* An idle source that can tell the idle time, unlike "none". */
#define FAKE_TYPE_IDLE (fake_idle_get_type ())
G_DECLARE_FINAL_TYPE (FakeIdle, fake_idle, FAKE, IDLE, PresIdleSource)

struct _FakeIdle
{
  PresIdleSource parent_instance;
};

G_DEFINE_TYPE (FakeIdle, fake_idle, PRES_TYPE_IDLE_SOURCE)

static void
fake_get_idle_time_async (PresIdleSource *self,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_return_int (task, 42);
}

static guint
fake_get_idle_time_finish (PresIdleSource *self, GAsyncResult *result, GError **error)
{
  return (guint)g_task_propagate_int (G_TASK (result), error);
}

static void
fake_idle_class_init (FakeIdleClass *klass)
{
  PresIdleSourceClass *idle_class = PRES_IDLE_SOURCE_CLASS (klass);

  idle_class->name = "fake";
  idle_class->get_idle_time_async = fake_get_idle_time_async;
  idle_class->get_idle_time_finish = fake_get_idle_time_finish;
}

static void
fake_idle_init (FakeIdle *self)
{
}

typedef struct
{
  PresRecordingServer *server;
  GSettings *settings;
  PresClock *clock;
  PresModel *model;
  PresLink *link;
  PresIdleSource *idle;
  PresTransport *transport;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  PresRecordingMode mode = GPOINTER_TO_INT (data);
  PresTransportSetup setup = { 0 };

  g_setenv ("PRESENCE_TOKEN", TOKEN, TRUE);
  fixture->server = pres_recording_server_new (mode);
  fixture->settings = pres_settings_new (NULL);
  g_assert_nonnull (fixture->settings);
  fixture->clock = pres_clock_new_system ();
  fixture->model = pres_model_new (fixture->clock);
  fixture->link = pres_link_new (NULL);
  fixture->idle = g_object_new (FAKE_TYPE_IDLE, NULL);
  g_settings_set_string (fixture->settings, "server-url",
                         pres_recording_server_get_url (fixture->server));
  setup.model = fixture->model;
  setup.link = fixture->link;
  setup.idle_source = fixture->idle;
  setup.settings = fixture->settings;
  setup.instance_id = INSTANCE_ID;
  fixture->transport = pres_http_transport_new (&setup);
  pres_model_start (fixture->model);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->transport);
  /* Lets the server see the agent's connection close before it goes:
   * libsoup 3.2 leaks a client socket still open when the server is freed. */
  pres_test_run_for (100);
  g_clear_object (&fixture->idle);
  g_clear_object (&fixture->link);
  g_clear_object (&fixture->model);
  g_clear_object (&fixture->clock);
  g_clear_object (&fixture->settings);
  g_clear_pointer (&fixture->server, pres_recording_server_free);
}

static JsonObject *
body_of (const PresRecordedRequest *request)
{
  g_autoptr (JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, request->body, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static gboolean
connected (Fixture *fixture)
{
  return pres_link_get_connection (fixture->link) == PRES_CONNECTION_CONNECTED;
}

static gboolean
error_says (Fixture *fixture, const char *words)
{
  const char *error = pres_link_get_last_error (fixture->link);

  return error != NULL && strstr (error, words) != NULL;
}

static void
start_and_connect (Fixture *fixture)
{
  pres_transport_start (fixture->transport);
  PRES_TEST_WAIT (connected (fixture), 2000);
}

static void
test_heartbeat (Fixture *fixture, gconstpointer data)
{
  const PresRecordedRequest *request;
  g_autoptr (JsonObject) body = NULL;

  start_and_connect (fixture);
  g_assert_cmpuint (pres_recording_server_count (fixture->server), ==, 1);
  request = pres_recording_server_last (fixture->server);
  g_assert_cmpstr (request->method, ==, "PUT");
  g_assert_cmpstr (request->path, ==, "/v1/instances/" INSTANCE_ID);
  g_assert_cmpstr (request->authorization, ==, "Bearer " TOKEN);
  body = body_of (request);
  g_assert_cmpstr (json_object_get_string_member (body, "state"), ==, "online");
  g_assert_cmpstr (json_object_get_string_member (body, "reason"), ==, "connect");
  g_assert_cmpint (json_object_get_int_member (body, "seq"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (body, "last_input_seconds"), ==, 42);
  g_assert_cmpstr (json_object_get_string_member (body, "session"), ==,
                   pres_http_transport_get_session (PRES_HTTP_TRANSPORT (fixture->transport)));
  g_assert_cmpstr (pres_link_get_last_error (fixture->link), ==, "");
  g_assert_cmpint (pres_link_get_last_heartbeat (fixture->link), >, 0);
  g_assert_true (g_str_has_prefix (pres_link_get_last_reply (fixture->link), "HTTP 200"));
}

static void
test_quiet_between_beats (Fixture *fixture, gconstpointer data)
{
  /* Nothing may close the idle keep-alive connection before the next beat
   * (30 s): the watch would take that for a server restart. */
  start_and_connect (fixture);
  pres_test_run_for (11000);
  g_assert_cmpuint (pres_recording_server_count (fixture->server), ==, 1);
}

static void
test_state_change (Fixture *fixture, gconstpointer data)
{
  g_autoptr (JsonObject) body = NULL;
  gint64 start;

  start_and_connect (fixture);
  /* Three changes at once go out as one message with the latest state. */
  start = g_get_monotonic_time ();
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, 0, NULL));
  pres_model_set_auto (fixture->model);
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, 0, NULL));
  /* At once, not with the next beat (30 s); how fast is bench/agent-latency's
   * question, not a test's on a loaded machine. */
  PRES_TEST_WAIT (pres_recording_server_count (fixture->server) == 2, 5000);
  g_assert_cmpint (pres_recording_server_last (fixture->server)->when - start, <, 5000000);
  pres_test_run_for (400);
  g_assert_cmpuint (pres_recording_server_count (fixture->server), ==, 2);

  body = body_of (pres_recording_server_last (fixture->server));
  g_assert_cmpstr (json_object_get_string_member (body, "state"), ==, "busy");
  g_assert_cmpstr (json_object_get_string_member (body, "reason"), ==, "state-change");
  g_assert_cmpint (json_object_get_int_member (body, "seq"), ==, 2);
}

static void
test_status_text (Fixture *fixture, gconstpointer data)
{
  g_autoptr (JsonObject) body = NULL;

  start_and_connect (fixture);
  g_assert_true (pres_model_set_status_text (fixture->model, "In a meeting", NULL));
  /* Before the next beat (30 s), with the state unchanged. */
  PRES_TEST_WAIT (pres_recording_server_count (fixture->server) == 2, 5000);
  body = body_of (pres_recording_server_last (fixture->server));
  g_assert_cmpstr (json_object_get_string_member (body, "state"), ==, "online");
  g_assert_cmpstr (json_object_get_string_member (body, "status_text"), ==, "In a meeting");
  g_assert_cmpstr (json_object_get_string_member (body, "reason"), ==, "status-text");
  /* The same text again is no news. */
  g_assert_true (pres_model_set_status_text (fixture->model, "In a meeting", NULL));
  pres_test_run_for (400);
  g_assert_cmpuint (pres_recording_server_count (fixture->server), ==, 2);
}

static void
test_periodic (Fixture *fixture, gconstpointer data)
{
  const PresRecordedRequest *first, *second;
  g_autoptr (JsonObject) body = NULL;
  gint64 gap;

  pres_recording_server_set_interval (fixture->server, 1000);
  start_and_connect (fixture);
  PRES_TEST_WAIT (pres_recording_server_count (fixture->server) == 3, 3000);
  first = pres_recording_server_get (fixture->server, 1);
  second = pres_recording_server_get (fixture->server, 2);
  /* The server's interval, ± 10 % jitter. */
  gap = second->when - first->when;
  g_assert_cmpint (gap, >=, 880000);
  g_assert_cmpint (gap, <=, 1150000);
  body = body_of (second);
  g_assert_cmpstr (json_object_get_string_member (body, "reason"), ==, "periodic");
  g_assert_cmpint (json_object_get_int_member (body, "seq"), ==, 3);
}

static void
test_hanging_server (Fixture *fixture, gconstpointer data)
{
  pres_transport_start (fixture->transport);
  PRES_TEST_WAIT (error_says (fixture, "did not answer"), 10000);
  g_assert_cmpint (pres_link_get_connection (fixture->link), ==, PRES_CONNECTION_ERROR);
}

/* A server sending far more than any reply: the agent refuses it from its
 * Content-Length without reading the body, or stops reading a chunked one
 * at the bound, and says so. */
static void
test_flood (Fixture *fixture, gconstpointer data)
{
  PresRecordingServer *server = fixture->server;

  pres_transport_start (fixture->transport);
  PRES_TEST_WAIT (error_says (fixture, "too large"), 8000);
  g_test_message ("%s", pres_link_get_last_error (fixture->link));
  g_assert_cmpint (pres_link_get_connection (fixture->link), ==, PRES_CONNECTION_ERROR);
  g_assert_true (error_says (fixture, "at most 16384 bytes are read"));
  /* The agent dropped the connection: the server could not send it all,
   * only what the socket buffers took. */
  PRES_TEST_WAIT (pres_recording_server_flood_refused (server), 5000);
  g_test_message ("%zu body bytes sent before the agent hung up",
                  pres_recording_server_get_flooded (server));
  g_assert_cmpuint (pres_recording_server_get_flooded (server), <, PRES_RECORDING_FLOOD_BYTES);
}

static void
test_garbage (Fixture *fixture, gconstpointer data)
{
  pres_transport_start (fixture->transport);
  PRES_TEST_WAIT (error_says (fixture, "not a presence reply"), 2000);
  g_assert_cmpint (pres_link_get_connection (fixture->link), ==, PRES_CONNECTION_ERROR);
}

static void
test_unauthorized (Fixture *fixture, gconstpointer data)
{
  pres_transport_start (fixture->transport);
  PRES_TEST_WAIT (pres_link_get_connection (fixture->link) == PRES_CONNECTION_UNAUTHORIZED, 2000);
  g_assert_true (error_says (fixture, "refused the token"));
  g_assert_true (error_says (fixture, "presencectl login"));
  g_assert_true (error_says (fixture, "retrying in 300 s (then every 5 min"));
  g_assert_false (error_says (fixture, TOKEN));
  /* No hot loop: state changes do not bypass the slow retry either. */
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, 0, NULL));
  pres_test_run_for (3000);
  g_assert_cmpuint (pres_recording_server_count (fixture->server), ==, 1);
}

static void
test_retry_after (Fixture *fixture, gconstpointer data)
{
  gint64 gap;

  pres_transport_start (fixture->transport);
  PRES_TEST_WAIT (pres_recording_server_count (fixture->server) == 2, 4000);
  gap = pres_recording_server_get (fixture->server, 1)->when
        - pres_recording_server_get (fixture->server, 0)->when;
  g_assert_cmpint (gap, >=, 1950000);
  g_assert_cmpint (gap, <=, 3000000);
  g_assert_true (error_says (fixture, "busy"));
}

static void
test_recovers (Fixture *fixture, gconstpointer data)
{
  pres_transport_start (fixture->transport);
  PRES_TEST_WAIT (pres_recording_server_count (fixture->server) == 2, 3000);
  g_assert_true (error_says (fixture, "503"));
  pres_recording_server_set_mode (fixture->server, PRES_RECORDING_GOOD);
  /* Third try: 1.6–2.4 s after the second failure. */
  PRES_TEST_WAIT (connected (fixture), 3500);
  g_assert_cmpstr (pres_link_get_last_error (fixture->link), ==, "");
}

static void
test_appear_offline (Fixture *fixture, gconstpointer data)
{
  g_autoptr (JsonObject) body = NULL;

  g_settings_set_string (fixture->settings, "host-alias", "desk");
  start_and_connect (fixture);
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_APPEAR_OFFLINE, 0, NULL));
  PRES_TEST_WAIT (pres_recording_server_count (fixture->server) == 2, 1000);
  body = body_of (pres_recording_server_last (fixture->server));
  g_assert_cmpstr (json_object_get_string_member (body, "state"), ==, "appear_offline");
  g_assert_false (json_object_has_member (body, "last_input_seconds"));
  g_assert_false (json_object_has_member (body, "host"));
  g_assert_false (json_object_has_member (body, "model_identifier"));
}

static void
count_left (guint *left)
{
  (*left)++;
}

static void
test_offline_leaves (Fixture *fixture, gconstpointer data)
{
  guint left = 0;
  const PresRecordedRequest *request;
  g_autofree char *session = NULL;
  g_autoptr (JsonObject) body = NULL;

  pres_recording_server_set_interval (fixture->server, 1000);
  start_and_connect (fixture);
  g_signal_connect_swapped (fixture->transport, "left", G_CALLBACK (count_left), &left);
  pres_model_set_asleep (fixture->model, TRUE);
  PRES_TEST_WAIT (left == 1, 1000);
  g_assert_cmpuint (pres_recording_server_count (fixture->server), ==, 2);
  request = pres_recording_server_last (fixture->server);
  session = g_strdup_printf (
    "session=%s", pres_http_transport_get_session (PRES_HTTP_TRANSPORT (fixture->transport)));
  g_assert_cmpstr (request->method, ==, "DELETE");
  g_assert_cmpstr (request->path, ==, "/v1/instances/" INSTANCE_ID);
  g_assert_nonnull (strstr (request->query, session));
  g_assert_nonnull (strstr (request->query, "reason=sleep"));
  g_assert_cmpstr (request->authorization, ==, "Bearer " TOKEN);

  /* No heartbeats while offline, though the interval is 1 s. */
  pres_test_run_for (2500);
  g_assert_cmpuint (pres_recording_server_count (fixture->server), ==, 2);

  pres_model_set_asleep (fixture->model, FALSE);
  PRES_TEST_WAIT (pres_recording_server_count (fixture->server) == 3, 500);
  body = body_of (pres_recording_server_last (fixture->server));
  g_assert_cmpstr (json_object_get_string_member (body, "state"), ==, "online");
  g_assert_cmpstr (json_object_get_string_member (body, "reason"), ==, "resume");
}

static void
test_reconnect (Fixture *fixture, gconstpointer data)
{
  g_autoptr (JsonObject) body = NULL;

  start_and_connect (fixture);
  pres_transport_reconnect (fixture->transport);
  PRES_TEST_WAIT (pres_recording_server_count (fixture->server) == 2, 1000);
  PRES_TEST_WAIT (connected (fixture), 1000);
  body = body_of (pres_recording_server_last (fixture->server));
  g_assert_cmpstr (json_object_get_string_member (body, "reason"), ==, "connect");
}

static void
test_insecure_refused (Fixture *fixture, gconstpointer data)
{
  /* TEST-NET-1: nothing answers there; nothing may be sent there either. */
  g_settings_set_string (fixture->settings, "server-url", "http://192.0.2.1:8787");
  pres_transport_start (fixture->transport);
  PRES_TEST_WAIT (error_says (fixture, "Refusing to send the token"), 500);
  g_assert_cmpint (pres_link_get_connection (fixture->link), ==, PRES_CONNECTION_ERROR);
  pres_test_run_for (500);
  g_assert_cmpint (pres_link_get_connection (fixture->link), ==, PRES_CONNECTION_ERROR);
  pres_transport_reconnect (fixture->transport);
  pres_test_run_for (200);
  g_assert_cmpint (pres_link_get_connection (fixture->link), ==, PRES_CONNECTION_ERROR);
  g_assert_true (error_says (fixture, "Refusing to send the token"));

  /* Back to an allowed server: it goes there at once. */
  g_settings_set_string (fixture->settings, "server-url",
                         pres_recording_server_get_url (fixture->server));
  PRES_TEST_WAIT (connected (fixture), 2000);
}

static void
on_left (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_assert_true (pres_transport_leave_finish (PRES_TRANSPORT (source), result, NULL));
  *(gboolean *)user_data = TRUE;
}

static void
test_quit_leave (Fixture *fixture, gconstpointer data)
{
  gboolean done = FALSE;

  start_and_connect (fixture);
  pres_transport_leave_async (fixture->transport, "quit", on_left, &done);
  PRES_TEST_WAIT (done, 2000);
  g_assert_cmpstr (pres_recording_server_last (fixture->server)->method, ==, "DELETE");
  g_assert_nonnull (strstr (pres_recording_server_last (fixture->server)->query, "reason=quit"));
}

static void
test_quit_hanging (Fixture *fixture, gconstpointer data)
{
  gboolean done = FALSE;

  pres_transport_start (fixture->transport);
  pres_test_run_for (200);
  /* The heartbeat went out, so the server may hold the device: a leave is
   * owed, and the agent waits for it no longer than its quit deadline. */
  g_test_expect_message ("pres-http", G_LOG_LEVEL_WARNING, "*did not confirm the leave*");
  pres_transport_leave_async (fixture->transport, "quit", on_left, &done);
  PRES_TEST_WAIT (done, 2000);
  g_test_assert_expected_messages ();
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, mode, func)                                                                      \
  g_test_add (path, Fixture, GINT_TO_POINTER (mode), fixture_set_up, func, fixture_tear_down)
  ADD ("/transport/heartbeat", PRES_RECORDING_GOOD, test_heartbeat);
  ADD ("/transport/quiet-between-beats", PRES_RECORDING_GOOD, test_quiet_between_beats);
  ADD ("/transport/state-change", PRES_RECORDING_GOOD, test_state_change);
  ADD ("/transport/status-text", PRES_RECORDING_GOOD, test_status_text);
  ADD ("/transport/periodic", PRES_RECORDING_GOOD, test_periodic);
  ADD ("/transport/hanging-server", PRES_RECORDING_HANG, test_hanging_server);
  ADD ("/transport/flood-length", PRES_RECORDING_FLOOD_LENGTH, test_flood);
  ADD ("/transport/flood-chunked", PRES_RECORDING_FLOOD_CHUNKED, test_flood);
  ADD ("/transport/garbage", PRES_RECORDING_GARBAGE, test_garbage);
  ADD ("/transport/unauthorized", PRES_RECORDING_UNAUTHORIZED, test_unauthorized);
  ADD ("/transport/retry-after", PRES_RECORDING_RATE_LIMITED, test_retry_after);
  ADD ("/transport/recovers", PRES_RECORDING_UNAVAILABLE, test_recovers);
  ADD ("/transport/appear-offline", PRES_RECORDING_GOOD, test_appear_offline);
  ADD ("/transport/offline-leaves", PRES_RECORDING_GOOD, test_offline_leaves);
  ADD ("/transport/reconnect", PRES_RECORDING_GOOD, test_reconnect);
  ADD ("/transport/insecure-refused", PRES_RECORDING_GOOD, test_insecure_refused);
  ADD ("/transport/quit-leave", PRES_RECORDING_GOOD, test_quit_leave);
  ADD ("/transport/quit-hanging", PRES_RECORDING_HANG, test_quit_hanging);
#undef ADD
  return g_test_run ();
}
