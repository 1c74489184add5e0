#include "config.h"

#include "store-choice.h"
#include "store-wait.h"

/* The store contract of member events: enter, update and leave with their
 * reasons, in order and before the state changes they cause, and replayed
 * after a cursor.  One table, two stores (store-choice.h). */

#define O PRES_STATE_ONLINE
#define B PRES_STATE_BUSY
#define X PRES_STATE_APPEAR_OFFLINE

typedef struct
{
  PresStore *store;
  GString *told; /* "enter lena/laptop online {…} =online; state lena offline; …" */
} Fixture;

static void
describe_event (GString *out, const PresMemberEvent *event)
{
  g_string_append_printf (out, "%s %s/%s %s", pres_member_action_to_string (event->action),
                          event->participant_id, event->instance_id,
                          pres_state_to_string (event->state));
  if (event->reason != 0)
    g_string_append_printf (out, " %s", pres_member_reason_to_string (event->reason));
  if (event->client_reason != NULL)
    g_string_append_printf (out, " '%s'", event->client_reason);
  if (event->data != NULL)
    g_string_append_printf (out, " %s", event->data);
  g_string_append_printf (out, " =%s; ", pres_state_to_string (event->participant_state));
}

static void
member_cb (PresStore *store, PresMemberEvent *event, Fixture *fx)
{
  gint64 now_ms = g_get_real_time () / 1000;

  /* The store's clock: Redis' is this machine's too. */
  g_assert_cmpint (event->at_ms, >, now_ms - 5000);
  g_assert_cmpint (event->at_ms, <=, now_ms + 1000);
  describe_event (fx->told, event);
}

static void
changed_cb (PresStore *store, const char *participant_id, int old_state, int new_state,
            Fixture *fx)
{
  g_string_append_printf (fx->told, "state %s %s; ", participant_id,
                          pres_state_to_string (new_state));
}

static void
fixture_init (Fixture *fx, guint ttl_ms)
{
  fx->store = store_choice_new (ttl_ms, 100);
  fx->told = g_string_new (NULL);
  g_signal_connect (fx->store, "member-event", G_CALLBACK (member_cb), fx);
  g_signal_connect (fx->store, "state-changed", G_CALLBACK (changed_cb), fx);
}

static void
fixture_clear (Fixture *fx)
{
  g_clear_object (&fx->store);
  g_string_free (fx->told, TRUE);
}

/* What the store told since the last call. */
static char *
told (Fixture *fx)
{
  char *out = g_strdup (fx->told->str);

  g_string_truncate (fx->told, 0);
  return out;
}

static void
beat_full (Fixture *fx, const char *participant, const char *instance, PresState state,
           const char *session, guint64 seq, const char *data, gint64 ttl_ms,
           PresUpsertResult expected)
{
  PresHeartbeat *hb = pres_heartbeat_new ();
  g_autoptr (GError) error = NULL;
  PresUpsertResult result = PRES_UPSERT_STALE;

  hb->state = state;
  hb->session = g_strdup (session);
  hb->seq = seq;
  hb->last_input_seconds = (gint64)seq * 30; /* changes with every beat */
  hb->data = g_strdup (data);
  hb->ttl_ms = ttl_ms;
  g_assert_true (store_wait_upsert (fx->store, participant, instance, hb, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, expected);
}

static void
beat (Fixture *fx, const char *participant, const char *instance, PresState state,
      const char *session, guint64 seq, const char *data)
{
  beat_full (fx, participant, instance, state, session, seq, data, PRES_HEARTBEAT_TTL_ABSENT,
             PRES_UPSERT_APPLIED);
}

#define assert_told(fx, expected)                                                                  \
  G_STMT_START                                                                                     \
  {                                                                                                \
    g_autofree char *told_ = told (fx);                                                            \
    g_assert_cmpstr (told_, ==, expected);                                                         \
  }                                                                                                \
  G_STMT_END

/* A member's life: enter with data, updates only when its state or data
 * change, and a leave with the client's reason and data. */
static void
test_enter_update_leave (void)
{
  Fixture fx;

  fixture_init (&fx, 60000);
  beat (&fx, "lena", "laptop", O, "s1", 1, "{\"doc\":\"q3\"}");
  assert_told (&fx, "enter lena/laptop online {\"doc\":\"q3\"} =online; state lena online; ");
  /* A periodic beat: new seq and last input, nothing a member shows. */
  beat (&fx, "lena", "laptop", O, "s1", 2, "{\"doc\":\"q3\"}");
  assert_told (&fx, "");
  beat (&fx, "lena", "laptop", O, "s1", 3, "{\"doc\":\"q4\"}");
  assert_told (&fx, "update lena/laptop online {\"doc\":\"q4\"} =online; ");
  beat (&fx, "lena", "laptop", B, "s1", 4, "{\"doc\":\"q4\"}");
  assert_told (&fx, "update lena/laptop busy {\"doc\":\"q4\"} =busy; state lena busy; ");
  /* A heartbeat without data clears it. */
  beat (&fx, "lena", "laptop", B, "s1", 5, NULL);
  assert_told (&fx, "update lena/laptop busy =busy; ");
  g_assert_true (store_wait_leave_saying (fx.store, "lena", "laptop", "s1", "session completed",
                                          "{\"result\":\"ok\"}"));
  assert_told (&fx, "leave lena/laptop busy left 'session completed' {\"result\":\"ok\"} =offline; "
                    "state lena offline; ");
  fixture_clear (&fx);
}

/* Without a reason or data of its own, a leave carries the member's last
 * data. */
static void
test_leave_keeps_data (void)
{
  Fixture fx;

  fixture_init (&fx, 60000);
  beat (&fx, "lena", "laptop", O, "s1", 1, "{\"typing\":true}");
  g_free (told (&fx));
  g_assert_true (store_wait_leave (fx.store, "lena", "laptop", "s1"));
  assert_told (&fx, "leave lena/laptop online left {\"typing\":true} =offline; state lena offline; ");
  fixture_clear (&fx);
}

/* "One device left" versus "offline on all devices": each leave is a
 * member event; only the last one moves the participant's state. */
static void
test_one_device_left (void)
{
  Fixture fx;

  fixture_init (&fx, 60000);
  beat (&fx, "lena", "laptop", O, "s1", 1, NULL);
  beat (&fx, "lena", "phone", B, "s2", 1, NULL);
  assert_told (&fx, "enter lena/laptop online =online; state lena online; "
                    "enter lena/phone busy =busy; state lena busy; ");
  g_assert_true (store_wait_leave (fx.store, "lena", "phone", "s2"));
  assert_told (&fx, "leave lena/phone busy left =online; state lena online; ");
  g_assert_true (store_wait_leave (fx.store, "lena", "laptop", "s1"));
  assert_told (&fx, "leave lena/laptop online left =offline; state lena offline; ");
  fixture_clear (&fx);
}

/* A new agent run on the same instance replaces the live one: the old
 * session leaves (replaced), the new one enters.  The replaced run's late
 * heartbeat and late leave change nothing and say nothing. */
static void
test_replaced_then_late_leave (void)
{
  Fixture fx;
  g_autoptr (GPtrArray) members = NULL;
  const char *lena = "lena";

  fixture_init (&fx, 60000);
  beat (&fx, "lena", "laptop", O, "old", 7, "{\"run\":1}");
  g_free (told (&fx));
  beat (&fx, "lena", "laptop", O, "new", 1, "{\"run\":2}");
  assert_told (&fx, "leave lena/laptop online replaced {\"run\":1} =online; "
                    "enter lena/laptop online {\"run\":2} =online; ");
  beat_full (&fx, "lena", "laptop", B, "old", 8, NULL, PRES_HEARTBEAT_TTL_ABSENT,
             PRES_UPSERT_STALE);
  g_assert_false (store_wait_leave (fx.store, "lena", "laptop", "old"));
  assert_told (&fx, "");
  members = store_wait_members (fx.store, &lena, 1);
  g_assert_cmpuint (members->len, ==, 1);
  g_assert_cmpstr (((PresInstanceInfo *)members->pdata[0])->heartbeat->session, ==, "new");
  fixture_clear (&fx);
}

static gboolean
deadline_cb (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
run_for (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, deadline_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

typedef struct
{
  gint64 deadline_us;
  gint64 told_us;
  guint n_leaves;
} Expiry;

static void
expiry_cb (PresStore *store, PresMemberEvent *event, Expiry *expiry)
{
  if (event->action != PRES_MEMBER_LEAVE)
    return;
  g_assert_cmpint (event->reason, ==, PRES_MEMBER_EXPIRED);
  expiry->n_leaves++;
  expiry->told_us = g_get_monotonic_time ();
}

/* A member with its own short grace expires once, at its own deadline
 * (within a sweep), while a member with the default one stays; no read
 * shows it after its deadline. */
static void
test_expired_once (void)
{
  Fixture fx;
  Expiry expiry = { 0 };
  const char *lena = "lena";
  gint64 start_us, acked_us;
  guint waited_ms = 0;

  /* The Redis store sweeps only a TTL after it connected (what passed
   * before is an outage's, not the members'): a short one, waited for. */
  fixture_init (&fx, 5000);
  if (store_choice_is_redis ())
    run_for (5100);
  g_signal_connect (fx.store, "member-event", G_CALLBACK (expiry_cb), &expiry);
  start_us = g_get_monotonic_time ();
  beat_full (&fx, "lena", "typing", O, "s", 1, "{\"typing\":true}", 2000, PRES_UPSERT_APPLIED);
  acked_us = g_get_monotonic_time ();
  /* The store stamps the beat somewhere between the call and its answer:
   * the deadline is no earlier than the one, no later than the other. */
  expiry.deadline_us = start_us + 2000 * 1000;
  beat (&fx, "lena", "laptop", O, "s", 1, NULL);
  g_free (told (&fx));
  while (expiry.n_leaves == 0 && waited_ms < 10000)
    {
      g_autoptr (GPtrArray) members = store_wait_members (fx.store, &lena, 1);

      /* Just past its latest possible deadline, as test-store.c's own-TTL
       * case: on a loaded machine the beat's round trip alone can take
       * longer than any fixed margin. */
      if (g_get_monotonic_time () >= acked_us + (2000 + 30) * 1000)
        g_assert_cmpuint (members->len, ==, 1);
      run_for (50);
      waited_ms += 50;
    }
  g_assert_cmpuint (expiry.n_leaves, ==, 1);
  g_assert_cmpint (expiry.told_us, >=, expiry.deadline_us);
  /* Within a sweep (TTL/8, at most 500 ms) and the time to tell it. */
  g_assert_cmpint (expiry.told_us - (acked_us + 2000 * 1000), <, 1500 * 1000);
  store_wait_events (fx.store);
  assert_told (&fx, "leave lena/typing online expired {\"typing\":true} =online; ");
  run_for (1000);
  store_wait_events (fx.store);
  g_assert_cmpuint (expiry.n_leaves, ==, 1);
  assert_told (&fx, "");
  fixture_clear (&fx);
}

/* A replay gives what happened to the ids asked after the cursor, in
 * order, and nothing of others; a cursor it cannot resume from says so. */
static void
test_replay (void)
{
  Fixture fx;
  g_autofree char *start = NULL, *end = NULL;
  g_autoptr (GPtrArray) changed = NULL, events = NULL;
  g_autoptr (GString) replayed = g_string_new (NULL);
  const char *ids[] = { "lena", "nobody" };

  fixture_init (&fx, 60000);
  beat (&fx, "lena", "laptop", O, "s1", 1, NULL);
  store_wait_events (fx.store);
  start = pres_store_get_cursor (fx.store);
  beat (&fx, "omar", "desk", O, "s1", 1, NULL);
  beat (&fx, "lena", "laptop", B, "s1", 2, "{\"n\":2}");
  beat (&fx, "lena", "phone", O, "s2", 1, NULL);
  g_assert_true (store_wait_leave_saying (fx.store, "lena", "phone", "s2", "closed", NULL));
  store_wait_events (fx.store);
  end = pres_store_get_cursor (fx.store);

  g_assert_true (store_wait_replay (fx.store, start, ids, G_N_ELEMENTS (ids), &changed, &events));
  g_assert_cmpuint (changed->len, ==, 1);
  g_assert_cmpstr (changed->pdata[0], ==, "lena");
  for (guint i = 0; i < events->len; i++)
    describe_event (replayed, events->pdata[i]);
  g_assert_cmpstr (replayed->str, ==,
                   "update lena/laptop busy {\"n\":2} =busy; enter lena/phone online =busy; "
                   "leave lena/phone online left 'closed' =busy; ");
  /* The events after start are not covered by it, and are by end. */
  for (guint i = 0; i < events->len; i++)
    {
      g_assert_false (pres_store_cursor_covers (fx.store, start, events->pdata[i]));
      g_assert_true (pres_store_cursor_covers (fx.store, end, events->pdata[i]));
      g_assert_false (pres_store_cursor_covers (fx.store, "garbage", events->pdata[i]));
    }
  g_clear_pointer (&changed, g_ptr_array_unref);
  g_clear_pointer (&events, g_ptr_array_unref);

  /* Up to date: nothing since. */
  g_assert_true (store_wait_replay (fx.store, end, ids, G_N_ELEMENTS (ids), &changed, &events));
  g_assert_cmpuint (changed->len, ==, 0);
  g_assert_cmpuint (events->len, ==, 0);
  g_clear_pointer (&changed, g_ptr_array_unref);
  g_clear_pointer (&events, g_ptr_array_unref);

  g_assert_false (store_wait_replay (fx.store, "garbage", ids, 1, &changed, &events));
  g_assert_cmpuint (events->len, ==, 0);
  g_clear_pointer (&changed, g_ptr_array_unref);
  g_clear_pointer (&events, g_ptr_array_unref);
  g_assert_false (store_wait_replay (fx.store, "", ids, 1, &changed, &events));
  fixture_clear (&fx);
}

/* appear_offline is a state like another to the store: the events say it,
 * with the participant's raw state, and the stream decides who sees them. */
static void
test_appear_offline_told_raw (void)
{
  Fixture fx;

  fixture_init (&fx, 60000);
  beat (&fx, "lena", "laptop", O, "s1", 1, NULL);
  g_free (told (&fx));
  beat (&fx, "lena", "laptop", X, "s1", 2, NULL);
  assert_told (&fx, "update lena/laptop appear_offline =appear_offline; "
                    "state lena appear_offline; ");
  fixture_clear (&fx);
}

int
main (int argc, char *argv[])
{
  store_choice_init (&argc, &argv);
  store_choice_add ("/store/events/enter-update-leave", test_enter_update_leave);
  store_choice_add ("/store/events/leave-keeps-data", test_leave_keeps_data);
  store_choice_add ("/store/events/one-device-left", test_one_device_left);
  store_choice_add ("/store/events/replaced-then-late-leave", test_replaced_then_late_leave);
  store_choice_add ("/store/events/expired-once", test_expired_once);
  store_choice_add ("/store/events/replay", test_replay);
  store_choice_add ("/store/events/appear-offline-told-raw", test_appear_offline_told_raw);
  return store_choice_run ();
}
