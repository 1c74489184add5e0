#define G_LOG_DOMAIN "test-openclaw"

#include "pres-openclaw-activity.h"
#include "pres-openclaw-node-frames.h"
#include "pres-recording-server.h"

/* The node frames against fixed vectors (the shapes the gateway's schemas
 * accept, research/openclaw.md and the gateway's node-presence schema),
 * what the gateway may answer, hostile or not, and the pacing of activity
 * reports. */

static JsonNode *
node (const char *json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  return json_node_copy (json_parser_get_root (parser));
}

static void
test_activity (void)
{
  g_autofree char *frame = pres_openclaw_build_activity ("activity-1", 42);

  g_assert_cmpstr (frame, ==,
                   "{\"type\":\"req\",\"id\":\"activity-1\",\"method\":\"node.event\","
                   "\"params\":{\"event\":\"node.presence.activity\","
                   "\"payloadJSON\":\"{\\\"idleSeconds\\\":42,\\\"source\\\":\\\"system\\\"}\"}}");
}

static void
test_activity_capped (void)
{
  g_autofree char *just_under = pres_openclaw_build_activity ("activity-2", 2591999);
  g_autofree char *at_cap = pres_openclaw_build_activity ("activity-3", 2592000);
  g_autofree char *beyond
    = pres_openclaw_build_activity ("activity-4", G_GINT64_CONSTANT (1) << 40);
  const char *saturated = "\\\"idleSeconds\\\":2592000,\\\"source\\\":\\\"system\\\","
                          "\\\"saturated\\\":true}";

  g_assert_nonnull (
    strstr (just_under, "\\\"idleSeconds\\\":2591999,\\\"source\\\":\\\"system\\\"}"));
  g_assert_null (strstr (just_under, "saturated"));
  g_assert_nonnull (strstr (at_cap, saturated));
  g_assert_nonnull (strstr (beyond, saturated));
}

static void
test_activity_clear (void)
{
  g_autofree char *frame = pres_openclaw_build_activity ("activity-5", -1);

  g_assert_cmpstr (frame, ==,
                   "{\"type\":\"req\",\"id\":\"activity-5\",\"method\":\"node.event\","
                   "\"params\":{\"event\":\"node.presence.activity\","
                   "\"payloadJSON\":\"{\\\"action\\\":\\\"clear\\\"}\"}}");
}

static void
test_request (void)
{
  g_autofree char *frame = pres_openclaw_build_request ("pairing-7", "node.pair.list");

  g_assert_cmpstr (frame, ==,
                   "{\"type\":\"req\",\"id\":\"pairing-7\",\"method\":\"node.pair.list\","
                   "\"params\":{}}");
}

static void
test_event_result (void)
{
  g_autoptr (JsonNode) updated = node (
    "{\"ok\":true,\"event\":\"node.presence.activity\",\"handled\":true,\"reason\":\"updated\"}");
  g_autoptr (JsonNode) refused
    = node ("{\"ok\":true,\"event\":\"node.presence.activity\",\"handled\":false,"
            "\"reason\":\"permission_required\"}");
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  gboolean handled = FALSE;

  g_assert_true (pres_openclaw_parse_event_result (updated, &handled, &reason, &error));
  g_assert_no_error (error);
  g_assert_true (handled);
  g_assert_cmpstr (reason, ==, "updated");
  g_clear_pointer (&reason, g_free);

  g_assert_true (pres_openclaw_parse_event_result (refused, &handled, &reason, &error));
  g_assert_false (handled);
  g_assert_cmpstr (reason, ==, "permission_required");
}

static void
test_event_result_hostile (void)
{
  const char *malformed[] = {
    "[]", "\"handled\"", "{}", "{\"handled\":\"yes\"}", "{\"handled\":1}", "{\"handled\":null}",
  };
  /* A reason that is no word reaches no log line nor LastError. */
  const char *unsayable[] = {
    "{\"handled\":false,\"reason\":\"line\\nbreak\"}",
    "{\"handled\":false,\"reason\":\"run “openclaw”\"}",
    "{\"handled\":false,\"reason\":17}",
    "{\"handled\":false,\"reason\":"
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
  };
  g_autofree char *reason = NULL;
  gboolean handled;

  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autoptr (JsonNode) payload = node (malformed[i]);
      g_autoptr (GError) error = NULL;

      g_assert_false (pres_openclaw_parse_event_result (payload, &handled, &reason, &error));
      g_assert_nonnull (error);
      g_assert_null (reason);
    }
  {
    g_autoptr (GError) error = NULL;

    g_assert_false (pres_openclaw_parse_event_result (NULL, &handled, &reason, &error));
    g_assert_nonnull (error);
  }
  for (guint i = 0; i < G_N_ELEMENTS (unsayable); i++)
    {
      g_autoptr (JsonNode) payload = node (unsayable[i]);

      g_assert_true (pres_openclaw_parse_event_result (payload, &handled, &reason, NULL));
      g_assert_false (handled);
      g_assert_null (reason);
    }
}

#define OURS "2fcaff55164ffc658f1475d9fc07bf4159c77b056058c57b9126162abfd08484"

static void
test_pairing_list (void)
{
  /* As the gateway answered (research/openclaw.md), trimmed. */
  g_autoptr (JsonNode) pending = node (
    "{\"pending\":[{\"requestId\":\"e29fd3ec-6515-4bf7-be8b-c9e0bbd3ee59\",\"nodeId\":\"" OURS
    "\",\"clientId\":\"openclaw-linux\",\"clientMode\":\"node\",\"caps\":[],\"commands\":[],"
    "\"permissions\":{\"accessibility\":true},\"silent\":true}],\"paired\":[]}");
  g_autoptr (JsonNode) paired
    = node ("{\"pending\":[{\"requestId\":\"other-1\",\"nodeId\":\"ff\"}],"
            "\"paired\":[{\"nodeId\":\"" OURS "\",\"approvedAtMs\":1796278915760}]}");
  g_autoptr (JsonNode) neither = node ("{\"pending\":[7,null,\"x\"],\"paired\":[{}]}");
  g_autoptr (GError) error = NULL;
  g_autofree char *request_id = NULL;

  g_assert_cmpint (pres_openclaw_parse_pairing_list (pending, OURS, &request_id, &error), ==,
                   PRES_OPENCLAW_PAIRING_PENDING);
  g_assert_no_error (error);
  g_assert_cmpstr (request_id, ==, "e29fd3ec-6515-4bf7-be8b-c9e0bbd3ee59");
  g_clear_pointer (&request_id, g_free);

  g_assert_cmpint (pres_openclaw_parse_pairing_list (paired, OURS, &request_id, &error), ==,
                   PRES_OPENCLAW_PAIRING_APPROVED);
  g_assert_null (request_id);
  g_assert_cmpint (pres_openclaw_parse_pairing_list (neither, OURS, &request_id, &error), ==,
                   PRES_OPENCLAW_PAIRING_UNKNOWN);
  g_assert_no_error (error);
}

static void
test_pairing_list_hostile (void)
{
  const char *malformed[] = {
    "[]",
    "{\"pending\":[]}",
    "{\"pending\":{},\"paired\":[]}",
    /* A request id that would run something in the user's shell. */
    "{\"pending\":[{\"requestId\":\"$(reboot)\",\"nodeId\":\"" OURS "\"}],\"paired\":[]}",
    "{\"pending\":[{\"requestId\":\"a b\",\"nodeId\":\"" OURS "\"}],\"paired\":[]}",
    "{\"pending\":[{\"requestId\":5,\"nodeId\":\"" OURS "\"}],\"paired\":[]}",
  };
  g_autoptr (GString) long_list = g_string_new ("{\"paired\":[],\"pending\":[");

  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autoptr (JsonNode) payload = node (malformed[i]);
      g_autoptr (GError) error = NULL;
      g_autofree char *request_id = NULL;

      g_assert_cmpint (pres_openclaw_parse_pairing_list (payload, OURS, &request_id, &error), ==,
                       PRES_OPENCLAW_PAIRING_UNKNOWN);
      g_assert_nonnull (error);
      g_assert_null (request_id);
    }

  /* Only so many entries are looked at: ours after 5000 others is not. */
  for (guint i = 0; i < 5000; i++)
    g_string_append_printf (long_list, "{\"nodeId\":\"n%u\",\"requestId\":\"r%u\"},", i, i);
  g_string_append (long_list, "{\"nodeId\":\"" OURS "\",\"requestId\":\"r-ours\"}]}");
  {
    g_autoptr (JsonNode) payload = node (long_list->str);
    g_autofree char *request_id = NULL;

    g_assert_cmpint (pres_openclaw_parse_pairing_list (payload, OURS, &request_id, NULL), ==,
                     PRES_OPENCLAW_PAIRING_UNKNOWN);
  }
}

static void
test_pairing_resolved (void)
{
  g_autoptr (JsonNode) approved = node ("{\"requestId\":\"a2c4\",\"nodeId\":\"" OURS
                                        "\",\"decision\":\"approved\",\"ts\":1796278915952}");
  g_autoptr (JsonNode) rejected
    = node ("{\"requestId\":\"a2c4\",\"nodeId\":\"" OURS "\",\"decision\":\"rejected\"}");
  g_autoptr (JsonNode) other = node ("{\"nodeId\":\"ff\",\"decision\":\"approved\"}");
  g_autoptr (JsonNode) typed = node ("{\"nodeId\":[],\"decision\":true}");

  g_assert_true (pres_openclaw_parse_pairing_resolved (approved, OURS));
  g_assert_false (pres_openclaw_parse_pairing_resolved (rejected, OURS));
  g_assert_false (pres_openclaw_parse_pairing_resolved (other, OURS));
  g_assert_false (pres_openclaw_parse_pairing_resolved (typed, OURS));
  g_assert_false (pres_openclaw_parse_pairing_resolved (NULL, OURS));
}

static void
test_activity_clock (void)
{
  PresOpenclawActivityClock clock = { 0 };
  const gint64 t0 = 1000000;

  /* Nothing reported yet: now. */
  g_assert_cmpint (pres_openclaw_activity_clock_due (&clock, t0, 500), ==, 0);
  pres_openclaw_activity_clock_sent (&clock, t0, 10);

  /* The same input 5 s later (idle grew by 5 s): the keepalive decides. */
  g_assert_cmpint (pres_openclaw_activity_clock_due (&clock, t0 + 5000, 15), ==,
                   PRES_OPENCLAW_ACTIVITY_KEEPALIVE_MS - 5000);
  /* One second of rounding is still the same input. */
  g_assert_cmpint (pres_openclaw_activity_clock_due (&clock, t0 + 5000, 14), ==,
                   PRES_OPENCLAW_ACTIVITY_KEEPALIVE_MS - 5000);
  /* Newer input 5 s later waits out the 15 s gap, then goes. */
  g_assert_cmpint (pres_openclaw_activity_clock_due (&clock, t0 + 5000, 0), ==, 10000);
  g_assert_cmpint (pres_openclaw_activity_clock_due (&clock, t0 + 15000, 2), ==, 0);
  /* The keepalive is due 3 min after the last report. */
  g_assert_cmpint (pres_openclaw_activity_clock_due (&clock, t0 + 180000, 190), ==, 0);

  /* Idle times beyond the cap count as the cap, and a capped time that
   * moves on with the clock is no newer input: only the keepalive. */
  pres_openclaw_activity_clock_sent (&clock, t0, G_GINT64_CONSTANT (1) << 40);
  g_assert_cmpint (clock.active_at_ms, ==, t0 - (gint64)PRES_OPENCLAW_MAX_IDLE_SECONDS * 1000);
  g_assert_cmpint (
    pres_openclaw_activity_clock_due (&clock, t0 + 60000, PRES_OPENCLAW_MAX_IDLE_SECONDS), ==,
    PRES_OPENCLAW_ACTIVITY_KEEPALIVE_MS - 60000);
  /* Input after all that is newer. */
  g_assert_cmpint (pres_openclaw_activity_clock_due (&clock, t0 + 60000, 3), ==, 0);
}

/* An idle source that tells a set idle time at once. */
#define FAKE_TYPE_IDLE (fake_idle_get_type ())
G_DECLARE_FINAL_TYPE (FakeIdle, fake_idle, FAKE, IDLE, PresIdleSource)

struct _FakeIdle
{
  PresIdleSource parent_instance;
  guint seconds;
};

G_DEFINE_TYPE (FakeIdle, fake_idle, PRES_TYPE_IDLE_SOURCE)

static void
fake_get_idle_time_async (PresIdleSource *self,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_return_int (task, FAKE_IDLE (self)->seconds);
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

static void
record_send (gpointer user_data, gint64 idle_seconds)
{
  g_array_append_val ((GArray *)user_data, idle_seconds);
}

/* Which states report, which withdraw: busy reports (the user is there),
 * a lock and appearing offline withdraw, once. */
static void
test_activity_states (void)
{
  g_autoptr (PresClock) clock = pres_clock_new_system ();
  g_autoptr (PresModel) model = pres_model_new (clock);
  g_autoptr (FakeIdle) idle = g_object_new (FAKE_TYPE_IDLE, NULL);
  g_autoptr (GArray) sent = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr (PresOpenclawActivity) activity = NULL;

  pres_model_start (model);
  activity = pres_openclaw_activity_new (model, PRES_IDLE_SOURCE (idle), record_send, sent);
  idle->seconds = 7;
  pres_openclaw_activity_start (activity);
  PRES_TEST_WAIT (sent->len == 1, 2000);
  g_assert_cmpint (g_array_index (sent, gint64, 0), ==, 7);

  /* Busy: nothing withdrawn, and newer input still goes (after the gap,
   * which the clock tests cover; here the report stands). */
  g_assert_true (pres_model_set_manual (model, PRES_MANUAL_BUSY, 0, NULL));
  pres_test_run_for (50);
  g_assert_cmpuint (sent->len, ==, 1);

  pres_model_set_locked (model, TRUE);
  PRES_TEST_WAIT (sent->len == 2, 2000);
  g_assert_cmpint (g_array_index (sent, gint64, 1), ==, -1);
  /* Withdrawn once, however often it is told. */
  pres_openclaw_activity_update (activity);
  g_assert_false (pres_openclaw_activity_withdraw (activity));
  g_assert_cmpuint (sent->len, ==, 2);

  pres_model_set_locked (model, FALSE);
  PRES_TEST_WAIT (sent->len == 3, 2000);
  g_assert_cmpint (g_array_index (sent, gint64, 2), ==, 7);

  g_assert_true (pres_model_set_manual (model, PRES_MANUAL_APPEAR_OFFLINE, 0, NULL));
  PRES_TEST_WAIT (sent->len == 4, 2000);
  g_assert_cmpint (g_array_index (sent, gint64, 3), ==, -1);
  pres_test_run_for (50);
  g_assert_cmpuint (sent->len, ==, 4);

  /* Back: a report again; a leave withdraws it. */
  pres_model_set_auto (model);
  PRES_TEST_WAIT (sent->len == 5, 2000);
  g_assert_true (pres_openclaw_activity_withdraw (activity));
  g_assert_cmpint (g_array_index (sent, gint64, 5), ==, -1);

  /* Stopped (the connection gone): nothing more, whatever happens. */
  pres_openclaw_activity_stop (activity);
  pres_model_set_locked (model, TRUE);
  pres_model_set_locked (model, FALSE);
  pres_test_run_for (50);
  g_assert_cmpuint (sent->len, ==, 6);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/openclaw-node/activity", test_activity);
  g_test_add_func ("/openclaw-node/activity-capped", test_activity_capped);
  g_test_add_func ("/openclaw-node/activity-clear", test_activity_clear);
  g_test_add_func ("/openclaw-node/request", test_request);
  g_test_add_func ("/openclaw-node/event-result", test_event_result);
  g_test_add_func ("/openclaw-node/event-result-hostile", test_event_result_hostile);
  g_test_add_func ("/openclaw-node/pairing-list", test_pairing_list);
  g_test_add_func ("/openclaw-node/pairing-list-hostile", test_pairing_list_hostile);
  g_test_add_func ("/openclaw-node/pairing-resolved", test_pairing_resolved);
  g_test_add_func ("/openclaw-node/activity-clock", test_activity_clock);
  g_test_add_func ("/openclaw-node/activity-states", test_activity_states);
  return g_test_run ();
}
