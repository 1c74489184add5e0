#include "config.h"

#include <stdlib.h>

#include "store-choice.h"
#include "store-wait.h"

/* One table of cases, two stores (store-choice.h). */

#define A (-1) /* no such instance */
#define O PRES_STATE_ONLINE
#define I PRES_STATE_IDLE
#define B PRES_STATE_BUSY
#define X PRES_STATE_APPEAR_OFFLINE
#define F PRES_STATE_OFFLINE

typedef struct
{
  PresStore *store;
  guint n_changes;
  PresState last_old;
  PresState last_new;
  char *last_id;
} Fixture;

static void
changed_cb (PresStore  *store,
            const char *participant_id,
            int         old_state,
            int         new_state,
            Fixture    *fx)
{
  fx->n_changes++;
  fx->last_old = old_state;
  fx->last_new = new_state;
  g_free (fx->last_id);
  fx->last_id = g_strdup (participant_id);
}

static void
fixture_init (Fixture *fx,
              guint    ttl_ms,
              guint    max_instances)
{
  fx->store = store_choice_new (ttl_ms, max_instances);
  g_signal_connect (fx->store, "state-changed", G_CALLBACK (changed_cb), fx);
}

static void
fixture_clear (Fixture *fx)
{
  g_clear_object (&fx->store);
  g_clear_pointer (&fx->last_id, g_free);
}

static PresUpsertResult
beat (Fixture    *fx,
      const char *participant,
      const char *instance,
      PresState   state,
      const char *session,
      guint64     seq)
{
  PresHeartbeat *hb = pres_heartbeat_new ();
  g_autoptr (GError) error = NULL;
  PresUpsertResult result = PRES_UPSERT_STALE;

  hb->state = state;
  hb->session = g_strdup (session);
  hb->seq = seq;
  g_assert_true (store_wait_upsert (fx->store, participant, instance, hb, &result, &error));
  g_assert_no_error (error);
  return result;
}

/* Written out by hand, not computed, so that the test checks the rules of
 * protocol.md rather than the code's own union function. */
static const struct
{
  int a, b;
  PresState self, others;
} union_table[] = {
  { A, A, F, F }, { A, O, O, O }, { A, I, I, I }, { A, B, B, B }, { A, X, X, F },
  { O, A, O, O }, { O, O, O, O }, { O, I, O, O }, { O, B, B, B }, { O, X, X, F },
  { I, A, I, I }, { I, O, O, O }, { I, I, I, I }, { I, B, B, B }, { I, X, X, F },
  { B, A, B, B }, { B, O, B, B }, { B, I, B, B }, { B, B, B, B }, { B, X, X, F },
  { X, A, X, F }, { X, O, X, F }, { X, I, X, F }, { X, B, X, F }, { X, X, X, F },
};

static void
test_union (void)
{
  g_assert_cmpuint (G_N_ELEMENTS (union_table), ==, 25);
  for (gsize i = 0; i < G_N_ELEMENTS (union_table); i++)
    {
      Fixture fx = { 0 };
      PresState raw;

      fixture_init (&fx, 60000, 100);
      if (union_table[i].a != A)
        beat (&fx, "lena", "laptop", union_table[i].a, "s1", 1);
      if (union_table[i].b != A)
        beat (&fx, "lena", "phone", union_table[i].b, "s2", 1);
      raw = store_wait_state (fx.store, "lena");
      g_test_message ("row %" G_GSIZE_FORMAT ": %d + %d → %s", i, union_table[i].a,
                      union_table[i].b, pres_state_to_string (raw));
      g_assert_cmpint (pres_store_state_for_viewer (raw, "lena", "lena"), ==, union_table[i].self);
      g_assert_cmpint (pres_store_state_for_viewer (raw, "lena", "bob"), ==,
                       union_table[i].others);
      g_assert_cmpint (pres_store_state_for_viewer (raw, "lena", NULL), ==, union_table[i].others);
      fixture_clear (&fx);
    }
}

static void
test_leave_older_session_ignored (void)
{
  Fixture fx = { 0 };

  fixture_init (&fx, 60000, 100);
  beat (&fx, "lena", "laptop", O, "old", 7);
  beat (&fx, "lena", "laptop", B, "new", 1);
  g_assert_false (store_wait_leave (fx.store, "lena", "laptop", "old"));
  g_assert_cmpint (store_wait_state (fx.store, "lena"), ==, B);
  g_assert_cmpuint (store_wait_counts (fx.store).instances, ==, 1);

  g_assert_true (store_wait_leave (fx.store, "lena", "laptop", "new"));
  g_assert_cmpint (store_wait_state (fx.store, "lena"), ==, F);
  g_assert_cmpuint (store_wait_counts (fx.store).instances, ==, 0);
  g_assert_cmpuint (store_wait_counts (fx.store).participants, ==, 0);
  g_assert_cmpint (fx.last_new, ==, F);
  /* Leaving twice, or an unknown instance, changes nothing. */
  g_assert_false (store_wait_leave (fx.store, "lena", "laptop", "new"));
  g_assert_false (store_wait_leave (fx.store, "nobody", "x", "s"));
  fixture_clear (&fx);
}

static void
test_older_seq_ignored (void)
{
  Fixture fx = { 0 };

  fixture_init (&fx, 60000, 100);
  g_assert_cmpint (beat (&fx, "lena", "laptop", B, "s", 5), ==, PRES_UPSERT_APPLIED);
  g_assert_cmpint (beat (&fx, "lena", "laptop", O, "s", 4), ==, PRES_UPSERT_STALE);
  g_assert_cmpint (store_wait_state (fx.store, "lena"), ==, B);
  g_assert_cmpint (beat (&fx, "lena", "laptop", O, "s", 5), ==, PRES_UPSERT_STALE);
  g_assert_cmpint (store_wait_state (fx.store, "lena"), ==, B);
  g_assert_cmpuint (fx.n_changes, ==, 1);
  g_assert_cmpint (beat (&fx, "lena", "laptop", I, "s", 6), ==, PRES_UPSERT_APPLIED);
  g_assert_cmpint (store_wait_state (fx.store, "lena"), ==, I);
  g_assert_cmpuint (fx.n_changes, ==, 2);
  fixture_clear (&fx);
}

static void
test_replaced_session_ignored (void)
{
  Fixture fx = { 0 };

  fixture_init (&fx, 60000, 100);
  beat (&fx, "lena", "laptop", O, "first-run", 100);
  /* A new agent run starts over at seq 1 and still wins... */
  g_assert_cmpint (beat (&fx, "lena", "laptop", B, "second-run", 1), ==, PRES_UPSERT_APPLIED);
  /* ...and a late heartbeat of the old run cannot take the instance back. */
  g_assert_cmpint (beat (&fx, "lena", "laptop", I, "first-run", 101), ==, PRES_UPSERT_STALE);
  g_assert_cmpint (store_wait_state (fx.store, "lena"), ==, B);
  fixture_clear (&fx);
}

static void
test_change_signalled_once (void)
{
  Fixture fx = { 0 };

  fixture_init (&fx, 60000, 100);
  beat (&fx, "lena", "laptop", O, "s", 1);
  g_assert_cmpuint (fx.n_changes, ==, 1);
  g_assert_cmpstr (fx.last_id, ==, "lena");
  g_assert_cmpint (fx.last_old, ==, F);
  g_assert_cmpint (fx.last_new, ==, O);
  beat (&fx, "lena", "laptop", O, "s", 2);
  beat (&fx, "lena", "phone", I, "t", 1);
  g_assert_cmpuint (fx.n_changes, ==, 1);
  beat (&fx, "lena", "phone", B, "t", 2);
  g_assert_cmpuint (fx.n_changes, ==, 2);
  g_assert_cmpint (fx.last_new, ==, B);
  fixture_clear (&fx);
}

static void
test_caps (void)
{
  Fixture fx = { 0 };
  g_autoptr (GError) error = NULL;
  PresHeartbeat *hb;
  PresUpsertResult result;

  fixture_init (&fx, 60000, 20);
  for (int i = 0; i < PRES_STORE_MAX_INSTANCES_PER_PARTICIPANT; i++)
    {
      g_autofree char *id = g_strdup_printf ("dev-%d", i);

      beat (&fx, "lena", id, O, "s", 1);
    }
  hb = pres_heartbeat_new ();
  hb->session = g_strdup ("s");
  g_assert_false (store_wait_upsert (fx.store, "lena", "one-too-many", hb, &result, &error));
  g_assert_error (error, PRES_STORE_ERROR, PRES_STORE_ERROR_TOO_MANY_INSTANCES);
  g_clear_error (&error);
  g_assert_cmpuint (store_wait_counts (fx.store).instances, ==, 16);
  /* An existing instance still beats. */
  beat (&fx, "lena", "dev-3", B, "s", 2);

  for (int i = 0; i < 4; i++)
    {
      g_autofree char *id = g_strdup_printf ("dev-%d", i);

      beat (&fx, "bob", id, O, "s", 1);
    }
  hb = pres_heartbeat_new ();
  hb->session = g_strdup ("s");
  g_assert_false (store_wait_upsert (fx.store, "carol", "x", hb, &result, &error));
  g_assert_error (error, PRES_STORE_ERROR, PRES_STORE_ERROR_FULL);
  g_assert_cmpuint (store_wait_counts (fx.store).instances, ==, 20);
  g_assert_cmpuint (store_wait_counts (fx.store).participants, ==, 2);
  g_assert_cmpint (store_wait_state (fx.store, "carol"), ==, F);
  fixture_clear (&fx);
}

static void
test_always_online (void)
{
  Fixture fx = { 0 };

  fixture_init (&fx, 60000, 100);
  pres_store_set_always_online (fx.store, "bot");
  g_assert_cmpint (store_wait_state (fx.store, "bot"), ==, O);
  beat (&fx, "bot", "worker", I, "s", 1);
  g_assert_cmpint (store_wait_state (fx.store, "bot"), ==, O);
  beat (&fx, "bot", "worker", B, "s", 2);
  g_assert_cmpint (store_wait_state (fx.store, "bot"), ==, B);
  g_assert_true (store_wait_leave (fx.store, "bot", "worker", "s"));
  g_assert_cmpint (store_wait_state (fx.store, "bot"), ==, O);
  fixture_clear (&fx);
}

static void
test_list_instances (void)
{
  Fixture fx = { 0 };
  g_autoptr (GPtrArray) own = NULL;
  g_autoptr (GPtrArray) all = NULL;
  PresInstanceInfo *info;

  fixture_init (&fx, 60000, 100);
  beat (&fx, "lena", "laptop", B, "s", 3);
  beat (&fx, "bob", "desk", O, "t", 1);
  own = store_wait_list (fx.store, "lena");
  all = store_wait_list (fx.store, NULL);
  g_assert_cmpuint (own->len, ==, 1);
  g_assert_cmpuint (all->len, ==, 2);
  info = own->pdata[0];
  g_assert_cmpstr (info->participant_id, ==, "lena");
  g_assert_cmpstr (info->instance_id, ==, "laptop");
  g_assert_cmpint (info->heartbeat->state, ==, B);
  g_assert_cmpuint (info->heartbeat->seq, ==, 3);
  fixture_clear (&fx);
}

static void
test_stored_fields (void)
{
  Fixture fx = { 0 };
  g_autoptr (GPtrArray) infos = NULL;
  g_autoptr (GError) error = NULL;
  PresHeartbeat *hb = pres_heartbeat_new ();
  const PresHeartbeat *back;
  PresUpsertResult result;

  fixture_init (&fx, 60000, 100);
  hb->state = PRES_STATE_IDLE;
  hb->session = g_strdup ("4f1c");
  hb->seq = G_MAXINT64;
  hb->last_input_seconds = 3600;
  hb->status_text = g_strdup ("Lunch — back at 2");
  hb->device_family = g_strdup ("Linux");
  hb->reason = g_strdup ("periodic");
  g_assert_true (store_wait_upsert (fx.store, "lena", "laptop", hb, &result, &error));
  g_assert_no_error (error);

  infos = store_wait_list (fx.store, "lena");
  g_assert_cmpuint (infos->len, ==, 1);
  back = ((PresInstanceInfo *) infos->pdata[0])->heartbeat;
  g_assert_cmpint (back->state, ==, PRES_STATE_IDLE);
  g_assert_cmpstr (back->session, ==, "4f1c");
  g_assert_cmpuint (back->seq, ==, G_MAXINT64);
  g_assert_cmpint (back->last_input_seconds, ==, 3600);
  g_assert_cmpstr (back->status_text, ==, "Lunch — back at 2");
  g_assert_cmpstr (back->device_family, ==, "Linux");
  g_assert_cmpstr (back->reason, ==, "periodic");
  g_assert_null (back->host);
  g_assert_null (back->version);
  g_assert_null (back->model_identifier);
  g_assert_null (back->mode);
  fixture_clear (&fx);
}

typedef struct
{
  Fixture fx;
  guint n_offline;
  guint want;
  guint ttl_ms;
  gint64 *beat_us; /* when participant "p<i>" last beat, if tracked */
  gint64 loop_start_us;
  gint64 min_late_ms, max_late_ms;
} ExpiryWait;

static void
offline_cb (PresStore  *store,
            const char *participant_id,
            int         old_state,
            int         new_state,
            ExpiryWait *wait)
{
  gint64 now = g_get_monotonic_time (), deadline, late_ms;

  if (new_state != PRES_STATE_OFFLINE)
    return;
  wait->n_offline++;
  if (wait->beat_us == NULL)
    return;
  deadline = wait->beat_us[atoi (participant_id + 1)] + wait->ttl_ms * 1000;
  g_assert_cmpint (now, >=, deadline);
  /* How long after its deadline this participant was found offline; while
   * the test was still adding participants the sweeper could not run (a
   * slow run, e.g. under valgrind), so that time does not count. */
  late_ms = (now - MAX (deadline, wait->loop_start_us)) / 1000;
  wait->min_late_ms = MIN (wait->min_late_ms, late_ms);
  wait->max_late_ms = MAX (wait->max_late_ms, late_ms);
}

static gboolean
deadline_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main loop until `want` participants went offline or the
 * deadline passes; returns the elapsed time in ms. */
static gint64
wait_offline (ExpiryWait *wait,
              guint       deadline_ms)
{
  gboolean timed_out = FALSE;
  gint64 start = g_get_monotonic_time ();
  guint id = g_timeout_add (deadline_ms, deadline_cb, &timed_out);

  while (wait->n_offline < wait->want && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return (g_get_monotonic_time () - start) / 1000;
}

static void
test_expiry_within_ttl (void)
{
  const guint ttl_ms = 300, n = 250;
  g_autofree gint64 *beat_us = g_new0 (gint64, n);
  ExpiryWait wait = {
    .want = n, .ttl_ms = ttl_ms, .beat_us = beat_us,
    .min_late_ms = G_MAXINT64, .max_late_ms = G_MININT64,
  };

  fixture_init (&wait.fx, ttl_ms, 100000);
  g_signal_connect (wait.fx.store, "state-changed", G_CALLBACK (offline_cb), &wait);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *id = g_strdup_printf ("p%u", i);

      beat_us[i] = g_get_monotonic_time ();
      beat (&wait.fx, id, "dev", O, "s", 1);
    }
  /* The bound is on each participant's own deadline, below; this wait only
   * stops a broken sweeper from hanging the test. */
  wait.loop_start_us = g_get_monotonic_time ();
  wait_offline (&wait, ttl_ms + 10000);
  g_test_message ("%u participants offline, %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                  " ms after their TTL",
                  wait.n_offline, wait.min_late_ms, wait.max_late_ms);
  g_assert_cmpuint (wait.n_offline, ==, n);
  g_assert_cmpint (wait.max_late_ms, <=, 1000);
  g_assert_cmpuint (store_wait_counts (wait.fx.store).instances, ==, 0);
  fixture_clear (&wait.fx);
}

static void
test_heartbeat_extends_ttl (void)
{
  const guint ttl_ms = 400;
  ExpiryWait wait = { .want = 1 };
  gint64 elapsed_ms;

  fixture_init (&wait.fx, ttl_ms, 100);
  g_signal_connect (wait.fx.store, "state-changed", G_CALLBACK (offline_cb), &wait);
  beat (&wait.fx, "lena", "laptop", O, "s", 1);
  /* Refreshed before the TTL runs out, it must stay live past the first
   * deadline: the wait ends at the deadline with nothing offline. */
  wait_offline (&wait, ttl_ms / 2);
  beat (&wait.fx, "lena", "laptop", O, "s", 2);
  wait_offline (&wait, ttl_ms * 3 / 4);
  g_assert_cmpuint (wait.n_offline, ==, 0);
  g_assert_cmpint (store_wait_state (wait.fx.store, "lena"), ==, O);
  elapsed_ms = wait_offline (&wait, ttl_ms + 1000);
  g_assert_cmpuint (wait.n_offline, ==, 1);
  g_assert_cmpint (elapsed_ms, <=, ttl_ms + 1000);
  fixture_clear (&wait.fx);
}

/* Steady beats every quarter TTL (most take a store's cheapest path): the
 * participant stays online while either device beats; the device that
 * stops is gone within its TTL and a bit; when the last one stops, offline
 * comes once, not before its deadline. */
static void
test_steady_beats (void)
{
  const guint ttl_ms = 400, period_ms = ttl_ms / 4;
  g_autofree gint64 *beat_us = g_new0 (gint64, 1);
  ExpiryWait wait = { .want = 1, .ttl_ms = ttl_ms, .beat_us = beat_us,
                      .min_late_ms = G_MAXINT64, .max_late_ms = G_MININT64 };
  gint64 phone_last_us = 0;
  guint alone = 0;

  fixture_init (&wait.fx, ttl_ms, 100);
  g_signal_connect (wait.fx.store, "state-changed", G_CALLBACK (offline_cb), &wait);
  /* Both devices for six periods, then the laptop alone until the phone
   * is gone and two TTLs more. */
  for (guint64 seq = 1; alone < 8; seq++)
    {
      beat_us[0] = g_get_monotonic_time ();
      beat (&wait.fx, "p0", "laptop", O, "s", seq);
      if (seq <= 6)
        {
          beat (&wait.fx, "p0", "phone", B, "t", seq);
          phone_last_us = g_get_monotonic_time ();
        }
      wait_offline (&wait, period_ms);
      g_assert_cmpuint (wait.n_offline, ==, 0);
      if (alone > 0 || (seq > 6 && store_wait_counts (wait.fx.store).instances == 1))
        alone++;
      else if (seq > 6)
        g_assert_cmpint (g_get_monotonic_time (), <=, phone_last_us + (ttl_ms + 1000) * 1000);
    }
  g_assert_cmpint (store_wait_state (wait.fx.store, "p0"), ==, O);
  wait.loop_start_us = g_get_monotonic_time ();
  wait_offline (&wait, ttl_ms + 1000);
  g_assert_cmpuint (wait.n_offline, ==, 1);
  g_assert_cmpint (wait.max_late_ms, <=, 1000);
  g_assert_cmpuint (store_wait_counts (wait.fx.store).instances, ==, 0);
  fixture_clear (&wait.fx);
}

/* A heartbeat with a member's own TTL and data, as the API passes it. */
static void
beat_member (Fixture    *fx,
             const char *participant,
             const char *instance,
             PresState   state,
             guint64     seq,
             gint64      ttl_ms,
             const char *data)
{
  PresHeartbeat *hb = pres_heartbeat_new ();
  g_autoptr (GError) error = NULL;
  PresUpsertResult result = PRES_UPSERT_STALE;

  hb->state = state;
  hb->session = g_strdup ("s");
  hb->seq = seq;
  hb->ttl_ms = ttl_ms;
  hb->data = g_strdup (data);
  g_assert_true (store_wait_upsert (fx->store, participant, instance, hb, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, PRES_UPSERT_APPLIED);
}

static const PresInstanceInfo *
find_member (GPtrArray  *infos,
             const char *instance)
{
  for (guint i = 0; i < infos->len; i++)
    if (g_str_equal (((PresInstanceInfo *) infos->pdata[i])->instance_id, instance))
      return infos->pdata[i];
  return NULL;
}

static void
test_member_data (void)
{
  Fixture fx = { 0 };
  g_autoptr (GPtrArray) infos = NULL;
  const PresInstanceInfo *laptop, *phone;
  gint64 before_ms = g_get_real_time () / 1000;

  fixture_init (&fx, 60000, 100);
  beat_member (&fx, "lena", "laptop", O, 1, PRES_HEARTBEAT_TTL_ABSENT,
               "{\"cursor\":{\"x\":3,\"y\":4},\"doc\":\"Plan — Q3\"}");
  beat_member (&fx, "lena", "phone", I, 1, 5000, NULL);
  infos = store_wait_list (fx.store, "lena");
  g_assert_cmpuint (infos->len, ==, 2);
  laptop = find_member (infos, "laptop");
  phone = find_member (infos, "phone");
  g_assert_nonnull (laptop);
  g_assert_nonnull (phone);
  g_assert_cmpstr (laptop->heartbeat->data, ==,
                   "{\"cursor\":{\"x\":3,\"y\":4},\"doc\":\"Plan — Q3\"}");
  g_assert_null (phone->heartbeat->data);
  /* Each member's deadline: its last heartbeat plus its own TTL, or the
   * store's.  Wall clocks of two hosts (Redis' and ours) agree to a second. */
  g_assert_cmpint (laptop->expires_at_ms - laptop->last_seen_ms, ==, 60000);
  g_assert_cmpint (phone->expires_at_ms - phone->last_seen_ms, ==, 5000);
  g_assert_cmpint (ABS (phone->expires_at_ms - (before_ms + 5000)), <=, 1000);
  g_clear_pointer (&infos, g_ptr_array_unref);

  /* New data replaces the old; a heartbeat without data clears it. */
  beat_member (&fx, "lena", "laptop", O, 2, PRES_HEARTBEAT_TTL_ABSENT, "{\"typing\":true}");
  infos = store_wait_list (fx.store, "lena");
  g_assert_cmpstr (find_member (infos, "laptop")->heartbeat->data, ==, "{\"typing\":true}");
  g_clear_pointer (&infos, g_ptr_array_unref);
  beat_member (&fx, "lena", "laptop", O, 3, PRES_HEARTBEAT_TTL_ABSENT, NULL);
  infos = store_wait_list (fx.store, "lena");
  g_assert_null (find_member (infos, "laptop")->heartbeat->data);
  fixture_clear (&fx);
}

/* Members of the participants asked, participant by participant in the
 * order asked; unknown ones have none. */
static void
test_member_list (void)
{
  Fixture fx = { 0 };
  const char *ids[] = { "bob", "nobody", "lena" };
  g_autoptr (GPtrArray) infos = NULL;

  fixture_init (&fx, 60000, 100);
  beat_member (&fx, "lena", "laptop", O, 1, PRES_HEARTBEAT_TTL_ABSENT, "{\"a\":1}");
  beat_member (&fx, "lena", "phone", X, 1, PRES_HEARTBEAT_TTL_ABSENT, NULL);
  beat_member (&fx, "bob", "desk", B, 1, PRES_HEARTBEAT_TTL_ABSENT, NULL);
  beat_member (&fx, "carol", "pc", O, 1, PRES_HEARTBEAT_TTL_ABSENT, NULL);
  infos = store_wait_members (fx.store, ids, G_N_ELEMENTS (ids));
  g_assert_cmpuint (infos->len, ==, 3);
  g_assert_cmpstr (((PresInstanceInfo *) infos->pdata[0])->participant_id, ==, "bob");
  g_assert_cmpstr (((PresInstanceInfo *) infos->pdata[1])->participant_id, ==, "lena");
  g_assert_cmpstr (((PresInstanceInfo *) infos->pdata[2])->participant_id, ==, "lena");
  g_assert_cmpstr (find_member (infos, "laptop")->heartbeat->data, ==, "{\"a\":1}");
  /* The store gives raw states: hiding appear_offline is the reader's. */
  g_assert_cmpint (find_member (infos, "phone")->heartbeat->state, ==, X);
  fixture_clear (&fx);
}

/* Iterates the main loop until monotonic time `until_us`. */
static void
run_until (gint64 until_us)
{
  gboolean done = FALSE;
  gint64 wait_ms = MAX (0, (until_us - g_get_monotonic_time () + 999) / 1000);
  guint id = g_timeout_add (wait_ms, deadline_cb, &done);

  while (!done)
    g_main_context_iteration (NULL, TRUE);
  (void) id;
}

/* A member with a TTL of its own goes at its own deadline, exactly once,
 * while the store's TTL is much longer; and from its deadline on no read
 * shows it, whether the sweeper got there yet or not (its period here is
 * 250 ms, a good part of the member's whole TTL). */
static void
test_member_own_ttl (void)
{
  const gint64 member_ttl_ms = 400;
  g_autofree gint64 *beat_us = g_new0 (gint64, 1);
  ExpiryWait wait = { .want = 1, .ttl_ms = member_ttl_ms, .beat_us = beat_us,
                      .min_late_ms = G_MAXINT64, .max_late_ms = G_MININT64 };
  g_autoptr (GPtrArray) infos = NULL;
  guint changes_before;
  gint64 acked_us;

  fixture_init (&wait.fx, 2000, 100);
  /* The Redis store sweeps only a TTL after it connected (what passed
   * before is an outage's, not the members'). */
  if (store_choice_is_redis ())
    run_until (g_get_monotonic_time () + 2100 * 1000);
  g_signal_connect (wait.fx.store, "state-changed", G_CALLBACK (offline_cb), &wait);
  beat_member (&wait.fx, "p0", "laptop", O, 1, PRES_HEARTBEAT_TTL_ABSENT, NULL);
  beat_us[0] = g_get_monotonic_time ();
  beat_member (&wait.fx, "p0", "phone", B, 1, member_ttl_ms, "{\"typing\":true}");
  acked_us = g_get_monotonic_time ();
  g_assert_cmpint (store_wait_state (wait.fx.store, "p0"), ==, B);

  /* Just past the phone's latest possible deadline (the store stamps the
   * beat between the call and its answer, a long while apart on a loaded
   * machine): it is gone for readers. */
  run_until (acked_us + (member_ttl_ms + 30) * 1000);
  g_assert_cmpint (store_wait_state (wait.fx.store, "p0"), ==, O);
  infos = store_wait_list (wait.fx.store, "p0");
  g_assert_cmpuint (infos->len, ==, 1);
  g_assert_nonnull (find_member (infos, "laptop"));
  g_clear_pointer (&infos, g_ptr_array_unref);

  /* The sweeper's one change: busy → online, within a sweep. */
  wait.loop_start_us = g_get_monotonic_time ();
  while (wait.fx.last_new != O && g_get_monotonic_time () < beat_us[0] + 5 * G_USEC_PER_SEC)
    run_until (g_get_monotonic_time () + 20000);
  g_assert_cmpint (wait.fx.last_new, ==, O);
  g_assert_cmpint (g_get_monotonic_time (), <=, beat_us[0] + (member_ttl_ms + 1000) * 1000);
  g_assert_cmpuint (store_wait_counts (wait.fx.store).instances, ==, 1);
  changes_before = wait.fx.n_changes;
  run_until (g_get_monotonic_time () + 600000);
  g_assert_cmpuint (wait.fx.n_changes, ==, changes_before);

  /* Alone and with a short TTL, the participant goes offline at it. */
  beat_us[0] = g_get_monotonic_time ();
  beat_member (&wait.fx, "p0", "laptop", O, 2, member_ttl_ms, NULL);
  acked_us = g_get_monotonic_time ();
  run_until (acked_us + (member_ttl_ms + 30) * 1000);
  g_assert_cmpint (store_wait_state (wait.fx.store, "p0"), ==, F);
  infos = store_wait_list (wait.fx.store, "p0");
  g_assert_cmpuint (infos->len, ==, 0);
  wait_offline (&wait, 5000);
  g_assert_cmpuint (wait.n_offline, ==, 1);
  g_assert_cmpint (wait.max_late_ms, <=, 1000);
  fixture_clear (&wait.fx);
}

/* A longer TTL of its own outlives the store's. */
static void
test_member_long_ttl (void)
{
  const guint ttl_ms = 300;
  ExpiryWait wait = { .want = 1 };
  gint64 start_us;

  fixture_init (&wait.fx, ttl_ms, 100);
  g_signal_connect (wait.fx.store, "state-changed", G_CALLBACK (offline_cb), &wait);
  start_us = g_get_monotonic_time ();
  beat_member (&wait.fx, "agent", "run-1", O, 1, 1500, NULL);
  wait_offline (&wait, ttl_ms * 3);
  g_assert_cmpuint (wait.n_offline, ==, 0);
  g_assert_cmpint (store_wait_state (wait.fx.store, "agent"), ==, O);
  wait_offline (&wait, 5000);
  g_assert_cmpuint (wait.n_offline, ==, 1);
  g_assert_cmpint (g_get_monotonic_time (), >=, start_us + 1500 * 1000);
  fixture_clear (&wait.fx);
}

int
main (int   argc,
      char *argv[])
{
  store_choice_init (&argc, &argv);

  store_choice_add ("/store/union", test_union);
  store_choice_add ("/store/stale/leave-older-session", test_leave_older_session_ignored);
  store_choice_add ("/store/stale/older-seq", test_older_seq_ignored);
  store_choice_add ("/store/stale/replaced-session", test_replaced_session_ignored);
  store_choice_add ("/store/change-signalled-once", test_change_signalled_once);
  store_choice_add ("/store/caps", test_caps);
  store_choice_add ("/store/always-online", test_always_online);
  store_choice_add ("/store/list-instances", test_list_instances);
  store_choice_add ("/store/stored-fields", test_stored_fields);
  store_choice_add ("/store/expiry/within-ttl", test_expiry_within_ttl);
  store_choice_add ("/store/expiry/heartbeat-extends", test_heartbeat_extends_ttl);
  store_choice_add ("/store/expiry/steady-beats", test_steady_beats);
  store_choice_add ("/store/members/data", test_member_data);
  store_choice_add ("/store/members/list", test_member_list);
  store_choice_add ("/store/members/own-ttl", test_member_own_ttl);
  store_choice_add ("/store/members/long-ttl", test_member_long_ttl);

  return store_choice_run ();
}
