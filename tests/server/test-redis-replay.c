#include <string.h>

#include "pres-redis-keys.h"
#include "pres-redis-store.h"
#include "redis-fixture.h"
#include "store-wait.h"

/* What the store contract tables cannot reach: cursors of the Redis store
 * across nodes (two PresRedisStore on one redis-server), and the cursors it
 * must refuse: past a trim, of another epoch, malformed. */

#define WAIT_S 10

static RedisFixture *redis;

static gboolean
timed_out_cb (gpointer user_data)
{
  g_error ("the Redis store did not answer within %d s", WAIT_S);
  return G_SOURCE_REMOVE;
}

static PresStore *
node_new (void)
{
  g_autoptr (GError) error = NULL;
  PresStore *store = pres_redis_store_new (redis_fixture_get_address (redis), 60000, 1000, &error);
  guint id = g_timeout_add_seconds (WAIT_S, timed_out_cb, NULL);

  g_assert_no_error (error);
  while (!pres_redis_store_is_ready (PRES_REDIS_STORE (store)))
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  return store;
}

/* Every member event a node emitted, as the stream sends it, and its state
 * changes, in the order they came. */
typedef struct
{
  GPtrArray *events;
  GPtrArray *log;
} Seen;

static char *
event_json (const PresMemberEvent *event)
{
  GString *out = g_string_new (NULL);

  pres_member_event_append_json (event, out);
  return g_string_free (out, FALSE);
}

static void
member_cb (PresStore       *store,
           PresMemberEvent *event,
           Seen            *seen)
{
  g_ptr_array_add (seen->events, event_json (event));
  g_ptr_array_add (seen->log, g_strdup_printf ("member %s", event->participant_id));
}

static void
changed_cb (PresStore  *store,
            const char *participant_id,
            int         old_state,
            int         new_state,
            Seen       *seen)
{
  g_ptr_array_add (seen->log, g_strdup_printf ("state %s", participant_id));
}

static void
seen_watch (Seen      *seen,
            PresStore *store)
{
  seen->events = g_ptr_array_new_with_free_func (g_free);
  seen->log = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (store, "member-event", G_CALLBACK (member_cb), seen);
  g_signal_connect (store, "state-changed", G_CALLBACK (changed_cb), seen);
}

static void
seen_clear (Seen      *seen,
            PresStore *store)
{
  g_signal_handlers_disconnect_by_data (store, seen);
  g_clear_pointer (&seen->events, g_ptr_array_unref);
  g_clear_pointer (&seen->log, g_ptr_array_unref);
}

static void
beat (PresStore  *store,
      const char *participant,
      const char *instance,
      PresState   state,
      const char *session,
      guint64     seq,
      const char *data)
{
  PresHeartbeat *hb = pres_heartbeat_new ();
  g_autoptr (GError) error = NULL;
  PresUpsertResult result = PRES_UPSERT_STALE;

  hb->state = state;
  hb->session = g_strdup (session);
  hb->seq = seq;
  hb->data = g_strdup (data);
  g_assert_true (store_wait_upsert (store, participant, instance, hb, &result, &error));
  g_assert_cmpint (result, ==, PRES_UPSERT_APPLIED);
}

typedef struct
{
  gboolean answered;
  gboolean removed;
  gboolean resumed;
  GPtrArray *changed_ids;
  GPtrArray *events; /* as JSON */
  GError *error;
} Answer;

static void
wait_for (Answer *answer)
{
  guint id = g_timeout_add_seconds (WAIT_S, timed_out_cb, NULL);

  while (!answer->answered)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
}

static void
leave_cb (gboolean      removed,
          const GError *error,
          gpointer      user_data)
{
  Answer *answer = user_data;

  g_assert_no_error (error);
  answer->removed = removed;
  answer->answered = TRUE;
}

static void
leave (PresStore  *store,
       const char *participant,
       const char *instance,
       const char *session,
       const char *client_reason,
       const char *data)
{
  Answer answer = { 0 };

  pres_store_leave (store, participant, instance, session, client_reason, data, leave_cb,
                    &answer);
  wait_for (&answer);
  g_assert_true (answer.removed);
  store_wait_events (store);
}

static void
replay_cb (gboolean      resumed,
           GPtrArray    *changed_ids,
           GPtrArray    *events,
           const GError *error,
           gpointer      user_data)
{
  Answer *answer = user_data;

  g_assert_false (answer->answered);
  answer->answered = TRUE;
  answer->resumed = resumed;
  answer->error = error != NULL ? g_error_copy (error) : NULL;
  if (error != NULL)
    return;
  answer->changed_ids = g_ptr_array_new_with_free_func (g_free);
  answer->events = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < changed_ids->len; i++)
    g_ptr_array_add (answer->changed_ids, g_strdup (changed_ids->pdata[i]));
  for (guint i = 0; i < events->len; i++)
    g_ptr_array_add (answer->events, event_json (events->pdata[i]));
}

static void
answer_clear (Answer *answer)
{
  g_clear_pointer (&answer->changed_ids, g_ptr_array_unref);
  g_clear_pointer (&answer->events, g_ptr_array_unref);
  g_clear_error (&answer->error);
  *answer = (Answer) { 0 };
}

static void
replay (PresStore         *store,
        const char        *cursor,
        const char *const *ids,
        Answer            *answer)
{
  pres_store_replay (store, cursor, ids, g_strv_length ((char **) ids), replay_cb, answer);
  wait_for (answer);
}

static void
assert_same (GPtrArray *got,
             GPtrArray *want)
{
  g_assert_cmpuint (got->len, ==, want->len);
  for (guint i = 0; i < want->len; i++)
    g_assert_cmpstr (got->pdata[i], ==, want->pdata[i]);
}

/* A subscriber of node A resumes on node B with A's cursor: B replays what
 * A's writes did since, for the ids asked only, the same events B emitted
 * itself; and a write after the call reaches B's listener by the signal,
 * not the replay: nothing lost, nothing twice. */
static void
test_other_node (void)
{
  const char *ids[] = { "lena", NULL };
  g_autoptr (PresStore) a = NULL;
  g_autoptr (PresStore) b = NULL;
  g_autofree char *cursor = NULL;
  g_autofree char *end = NULL;
  Seen on_b = { 0 };
  Answer answer = { 0 }, at_end = { 0 };
  guint before_call;
  const char *want[] = {
    "{\"action\":\"update\",\"participant_id\":\"lena\",\"instance_id\":\"laptop\","
    "\"state\":\"busy\",\"data\":{\"n\":1}",
    "{\"action\":\"enter\",\"participant_id\":\"lena\",\"instance_id\":\"phone\","
    "\"state\":\"online\",\"data\":{\"n\":2}",
    "{\"action\":\"leave\",\"participant_id\":\"lena\",\"instance_id\":\"laptop\","
    "\"state\":\"busy\",\"data\":{\"n\":1},\"reason\":\"replaced\"",
    "{\"action\":\"enter\",\"participant_id\":\"lena\",\"instance_id\":\"laptop\","
    "\"state\":\"idle\"",
    "{\"action\":\"leave\",\"participant_id\":\"lena\",\"instance_id\":\"phone\","
    "\"state\":\"online\",\"data\":{\"n\":3},\"reason\":\"left\",\"client_reason\":\"bye\"",
  };

  redis_fixture_flush (redis);
  a = node_new ();
  b = node_new ();
  beat (a, "lena", "laptop", PRES_STATE_ONLINE, "s1", 1, NULL);
  store_wait_events (b);
  cursor = pres_store_get_cursor (a);
  seen_watch (&on_b, b);

  beat (a, "lena", "laptop", PRES_STATE_BUSY, "s1", 2, "{\"n\":1}");
  beat (a, "lena", "phone", PRES_STATE_ONLINE, "t", 1, "{\"n\":2}");
  beat (a, "bob", "desk", PRES_STATE_ONLINE, "u", 1, NULL);
  beat (a, "lena", "laptop", PRES_STATE_IDLE, "s2", 1, NULL);
  leave (a, "lena", "phone", "t", "bye", "{\"n\":3}");
  store_wait_events (b);
  /* B's own: lena's five and bob's enter, each member event before the
   * state change it causes.  Buckets are read side by side: bob's may come
   * anywhere among lena's. */
  g_assert_cmpuint (on_b.events->len, ==, 6);
  for (guint k = 0; k < on_b.log->len; k++)
    if (g_str_has_suffix (on_b.log->pdata[k], " lena"))
      {
        g_assert_cmpstr (on_b.log->pdata[k], ==, "member lena");
        g_assert_cmpstr (on_b.log->pdata[k + 1], ==, "state lena");
        break;
      }
  for (guint k = 0; k < on_b.events->len; k++)
    if (strstr (on_b.events->pdata[k], "\"participant_id\":\"bob\"") != NULL)
      {
        g_ptr_array_remove_index (on_b.events, k);
        break;
      }
  g_assert_cmpuint (on_b.events->len, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      g_test_message ("%s", (char *) on_b.events->pdata[i]);
      g_assert_true (g_str_has_prefix (on_b.events->pdata[i], want[i]));
    }

  replay (b, cursor, ids, &answer);
  g_assert_no_error (answer.error);
  g_assert_true (answer.resumed);
  g_assert_cmpuint (answer.changed_ids->len, ==, 1);
  g_assert_cmpstr (answer.changed_ids->pdata[0], ==, "lena");
  assert_same (answer.events, on_b.events);
  answer_clear (&answer);

  /* Replayed up to B's position at the call; a write queued behind it
   * comes by the signal. */
  before_call = on_b.events->len;
  pres_store_replay (b, cursor, ids, 1, replay_cb, &answer);
  beat (b, "lena", "laptop", PRES_STATE_BUSY, "s2", 2, NULL);
  wait_for (&answer);
  g_assert_true (answer.resumed);
  g_assert_cmpuint (answer.events->len, ==, before_call);
  g_assert_cmpuint (on_b.events->len, ==, before_call + 1);
  g_assert_true (g_str_has_prefix (on_b.events->pdata[before_call],
                                   "{\"action\":\"update\",\"participant_id\":\"lena\","
                                   "\"instance_id\":\"laptop\",\"state\":\"busy\""));
  answer_clear (&answer);

  /* At the end: resumed, nothing to replay. */
  store_wait_events (a);
  end = pres_store_get_cursor (a);
  replay (b, end, ids, &at_end);
  g_assert_true (at_end.resumed);
  g_assert_cmpuint (at_end.changed_ids->len, ==, 0);
  g_assert_cmpuint (at_end.events->len, ==, 0);
  answer_clear (&at_end);
  seen_clear (&on_b, b);
}

/* Entries trimmed after the cursor: not resumed.  A cursor taken after the
 * trim resumes, and so does the old one for ids of buckets not trimmed. */
static void
test_trimmed (void)
{
  const char *lena[] = { "lena", NULL };
  const char *elsewhere[] = { "bob", NULL };
  g_autoptr (PresStore) store = NULL;
  g_autofree char *cursor = NULL;
  g_autofree char *after_trim = NULL;
  g_autofree char *trim = NULL;
  Answer answer = { 0 };

  g_assert_cmpuint (pres_redis_bucket ("lena"), !=, pres_redis_bucket ("bob"));
  trim = g_strdup_printf ("XTRIM pz:{%u}:ev MAXLEN 1", pres_redis_bucket ("lena"));
  redis_fixture_flush (redis);
  store = node_new ();
  beat (store, "lena", "laptop", PRES_STATE_ONLINE, "s", 1, NULL);
  cursor = pres_store_get_cursor (store);
  beat (store, "lena", "laptop", PRES_STATE_BUSY, "s", 2, NULL);
  beat (store, "lena", "laptop", PRES_STATE_IDLE, "s", 3, NULL);

  replay (store, cursor, lena, &answer);
  g_assert_true (answer.resumed);
  g_assert_cmpuint (answer.events->len, ==, 2);
  answer_clear (&answer);

  redis_fixture_command (redis, trim);
  replay (store, cursor, lena, &answer);
  g_assert_no_error (answer.error);
  g_assert_false (answer.resumed);
  g_assert_cmpuint (answer.changed_ids->len, ==, 0);
  g_assert_cmpuint (answer.events->len, ==, 0);
  answer_clear (&answer);

  replay (store, cursor, elsewhere, &answer);
  g_assert_true (answer.resumed);
  answer_clear (&answer);

  after_trim = pres_store_get_cursor (store);
  beat (store, "lena", "laptop", PRES_STATE_ONLINE, "s", 4, NULL);
  replay (store, after_trim, lena, &answer);
  g_assert_true (answer.resumed);
  g_assert_cmpuint (answer.events->len, ==, 1);
  answer_clear (&answer);

  /* A stream taken empty (0-0) and then trimmed lost what came after. */
  g_clear_object (&store);
  redis_fixture_flush (redis);
  store = node_new ();
  g_free (cursor);
  cursor = pres_store_get_cursor (store);
  beat (store, "lena", "laptop", PRES_STATE_ONLINE, "s", 1, NULL);
  beat (store, "lena", "laptop", PRES_STATE_BUSY, "s", 2, NULL);
  replay (store, cursor, lena, &answer);
  g_assert_true (answer.resumed);
  g_assert_cmpuint (answer.events->len, ==, 2);
  answer_clear (&answer);
  redis_fixture_command (redis, trim);
  replay (store, cursor, lena, &answer);
  g_assert_false (answer.resumed);
  answer_clear (&answer);
}

/* A cursor of another Redis epoch (the data was flushed, or another Redis)
 * does not resume. */
static void
test_other_epoch (void)
{
  const char *ids[] = { "lena", NULL };
  g_autoptr (PresStore) store = NULL;
  g_autofree char *cursor = NULL;
  Answer answer = { 0 };

  redis_fixture_flush (redis);
  store = node_new ();
  beat (store, "lena", "laptop", PRES_STATE_ONLINE, "s", 1, NULL);
  cursor = pres_store_get_cursor (store);
  replay (store, cursor, ids, &answer);
  g_assert_true (answer.resumed);
  answer_clear (&answer);

  redis_fixture_command (redis, "SET pz:epoch 0123456789abcdef");
  replay (store, cursor, ids, &answer);
  g_assert_no_error (answer.error);
  g_assert_false (answer.resumed);
  answer_clear (&answer);

  redis_fixture_command (redis, "DEL pz:epoch");
  replay (store, cursor, ids, &answer);
  g_assert_false (answer.resumed);
  answer_clear (&answer);
}

/* Cursors that are not the Redis store's: not resumed, and no error. */
static void
test_malformed_cursor (void)
{
  const char *ids[] = { "lena", NULL };
  g_autoptr (PresStore) store = NULL;
  g_autofree char *good = NULL;
  g_autofree char *short_one = NULL;
  g_autofree char *long_one = NULL;
  g_autofree char *bad_id = NULL;
  g_autofree char *last_id = NULL;
  g_autofree char *no_epoch = NULL;
  char *dot;

  redis_fixture_flush (redis);
  store = node_new ();
  beat (store, "lena", "laptop", PRES_STATE_ONLINE, "s", 1, NULL);
  good = pres_store_get_cursor (store);
  dot = strrchr (good, '.');
  short_one = g_strndup (good, dot - good);
  long_one = g_strconcat (good, ".1-0", NULL);
  bad_id = g_strconcat (short_one, ".1-x", NULL);
  last_id = g_strconcat (short_one, ".18446744073709551615-18446744073709551615", NULL);
  no_epoch = g_strdup (strchr (good, '.'));
  {
    const char *cursors[] = { "", "0", "garbage", "1.2.3", short_one, long_one,
                              bad_id, last_id, no_epoch, "....,.....", };

    for (guint i = 0; i < G_N_ELEMENTS (cursors); i++)
      {
        Answer answer = { 0 };

        g_test_message ("cursor %s", cursors[i]);
        replay (store, cursors[i], ids, &answer);
        g_assert_no_error (answer.error);
        g_assert_false (answer.resumed);
        g_assert_cmpuint (answer.events->len, ==, 0);
        answer_clear (&answer);
      }
  }
  {
    Answer answer = { 0 };

    replay (store, good, ids, &answer);
    g_assert_true (answer.resumed);
    answer_clear (&answer);
  }
}

static char *skip_reason;

static void
run_case (gconstpointer data)
{
  if (redis == NULL)
    {
      g_test_skip (skip_reason);
      return;
    }
  ((GTestFunc) data) ();
}

/* The store warns once when it finds the epoch changed, as it should
 * (test_other_epoch changes it); nothing else may warn. */
static gboolean
fatal_cb (const char     *domain,
          GLogLevelFlags  level,
          const char     *message,
          gpointer        user_data)
{
  return strstr (message, "epoch changed") == NULL;
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_log_set_fatal_handler (fatal_cb, NULL);
  redis = redis_fixture_start (&skip_reason);
  g_test_add_data_func ("/redis-replay/other-node", test_other_node, run_case);
  g_test_add_data_func ("/redis-replay/trimmed", test_trimmed, run_case);
  g_test_add_data_func ("/redis-replay/other-epoch", test_other_epoch, run_case);
  g_test_add_data_func ("/redis-replay/malformed-cursor", test_malformed_cursor, run_case);
  status = g_test_run ();
  redis_fixture_stop (redis);
  g_free (skip_reason);
  return status;
}
