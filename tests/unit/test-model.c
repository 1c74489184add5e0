#include "pres-error.h"
#include "pres-fake-clock.h"
#include "pres-model.h"

/* 2026-01-05 12:00:00 UTC, a Monday. */
#define T0_US (G_GINT64_CONSTANT (1767614400) * G_USEC_PER_SEC)

typedef struct
{
  PresState  state;
  PresState  previous;
  PresReason reason;
} Change;

typedef struct
{
  PresFakeClock *clock;
  PresModel     *model;
  GArray        *changes;
} Fixture;

static void
on_state_changed (PresModel  *model,
                  PresState   state,
                  PresState   previous,
                  PresReason  reason,
                  Fixture    *fixture)
{
  Change change = { state, previous, reason };

  g_array_append_val (fixture->changes, change);
}

static void
fixture_set_up (Fixture      *fixture,
                gconstpointer data)
{
  fixture->clock = pres_fake_clock_new (T0_US);
  fixture->model = pres_model_new (PRES_CLOCK (fixture->clock));
  fixture->changes = g_array_new (FALSE, FALSE, sizeof (Change));
  g_signal_connect (fixture->model, "state-changed", G_CALLBACK (on_state_changed), fixture);
  if (data == NULL)
    {
      pres_model_start (fixture->model);
      g_array_set_size (fixture->changes, 0);
    }
}

static void
fixture_tear_down (Fixture      *fixture,
                   gconstpointer data)
{
  g_clear_object (&fixture->model);
  g_clear_object (&fixture->clock);
  g_array_unref (fixture->changes);
}

/* Asserts the state and that exactly one change with this reason happened. */
static void
assert_one_change (Fixture   *fixture,
                   PresState  state,
                   PresState  previous,
                   PresReason reason)
{
  Change *change;

  g_assert_cmpuint (fixture->changes->len, ==, 1);
  change = &g_array_index (fixture->changes, Change, 0);
  g_assert_cmpstr (pres_state_to_string (change->state), ==, pres_state_to_string (state));
  g_assert_cmpstr (pres_state_to_string (change->previous), ==, pres_state_to_string (previous));
  g_assert_cmpstr (pres_reason_to_string (change->reason), ==, pres_reason_to_string (reason));
  g_assert_cmpint (pres_model_get_state (fixture->model), ==, state);
  g_array_set_size (fixture->changes, 0);
}

static void
assert_no_change (Fixture  *fixture,
                  PresState state)
{
  g_assert_cmpuint (fixture->changes->len, ==, 0);
  g_assert_cmpint (pres_model_get_state (fixture->model), ==, state);
}

static void
set_busy (Fixture *fixture,
          guint    seconds)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, seconds, &error));
  g_assert_no_error (error);
}

static void
test_startup (Fixture      *fixture,
              gconstpointer data)
{
  g_assert_cmpint (pres_model_get_state (fixture->model), ==, PRES_STATE_OFFLINE);
  pres_model_start (fixture->model);
  assert_one_change (fixture, PRES_STATE_ONLINE, PRES_STATE_OFFLINE, PRES_REASON_STARTUP);
  g_assert_cmpint (pres_model_get_auto_state (fixture->model), ==, PRES_STATE_ONLINE);
}

static void
test_idle_and_active (Fixture      *fixture,
                      gconstpointer data)
{
  pres_model_set_idle (fixture->model, TRUE);
  assert_one_change (fixture, PRES_STATE_IDLE, PRES_STATE_ONLINE, PRES_REASON_IDLE);
  pres_model_set_idle (fixture->model, TRUE);
  assert_no_change (fixture, PRES_STATE_IDLE);
  pres_model_set_idle (fixture->model, FALSE);
  assert_one_change (fixture, PRES_STATE_ONLINE, PRES_STATE_IDLE, PRES_REASON_ACTIVE);
}

static void
test_lock (Fixture      *fixture,
           gconstpointer data)
{
  pres_model_set_locked (fixture->model, TRUE);
  assert_one_change (fixture, PRES_STATE_IDLE, PRES_STATE_ONLINE, PRES_REASON_LOCK);
  pres_model_set_locked (fixture->model, FALSE);
  assert_one_change (fixture, PRES_STATE_ONLINE, PRES_STATE_IDLE, PRES_REASON_UNLOCK);

  /* Unlocked but still idle: idle stays. */
  pres_model_set_idle (fixture->model, TRUE);
  pres_model_set_locked (fixture->model, TRUE);
  pres_model_set_locked (fixture->model, FALSE);
  g_assert_cmpint (pres_model_get_state (fixture->model), ==, PRES_STATE_IDLE);
}

static void
test_lock_without_away_on_lock (Fixture      *fixture,
                                gconstpointer data)
{
  pres_model_set_away_on_lock (fixture->model, FALSE);
  pres_model_set_locked (fixture->model, TRUE);
  assert_no_change (fixture, PRES_STATE_ONLINE);
  g_assert_true (pres_model_get_locked (fixture->model));

  pres_model_set_away_on_lock (fixture->model, TRUE);
  assert_one_change (fixture, PRES_STATE_IDLE, PRES_STATE_ONLINE, PRES_REASON_LOCK);
}

static void
test_session_inactive (Fixture      *fixture,
                       gconstpointer data)
{
  pres_model_set_session_active (fixture->model, FALSE);
  assert_one_change (fixture, PRES_STATE_IDLE, PRES_STATE_ONLINE, PRES_REASON_IDLE);
  pres_model_set_session_active (fixture->model, TRUE);
  assert_one_change (fixture, PRES_STATE_ONLINE, PRES_STATE_IDLE, PRES_REASON_ACTIVE);
}

static void
test_dnd (Fixture      *fixture,
          gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  /* Do Not Disturb is busy, over idle too. */
  pres_model_set_dnd (fixture->model, TRUE);
  assert_one_change (fixture, PRES_STATE_BUSY, PRES_STATE_ONLINE, PRES_REASON_AUTO);
  pres_model_set_idle (fixture->model, TRUE);
  assert_no_change (fixture, PRES_STATE_BUSY);

  /* Never over a manual state, and never keeping a sleeping machine busy. */
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_APPEAR_OFFLINE, 0, &error));
  assert_one_change (fixture, PRES_STATE_APPEAR_OFFLINE, PRES_STATE_BUSY, PRES_REASON_MANUAL);
  pres_model_set_dnd (fixture->model, FALSE);
  assert_no_change (fixture, PRES_STATE_APPEAR_OFFLINE);
  pres_model_set_dnd (fixture->model, TRUE);
  assert_no_change (fixture, PRES_STATE_APPEAR_OFFLINE);
  pres_model_set_auto (fixture->model);
  assert_one_change (fixture, PRES_STATE_BUSY, PRES_STATE_APPEAR_OFFLINE, PRES_REASON_AUTO);
  pres_model_set_asleep (fixture->model, TRUE);
  assert_one_change (fixture, PRES_STATE_OFFLINE, PRES_STATE_BUSY, PRES_REASON_SLEEP);
  pres_model_set_asleep (fixture->model, FALSE);
  assert_one_change (fixture, PRES_STATE_BUSY, PRES_STATE_OFFLINE, PRES_REASON_RESUME);

  pres_model_set_dnd (fixture->model, FALSE);
  assert_one_change (fixture, PRES_STATE_IDLE, PRES_STATE_BUSY, PRES_REASON_AUTO);
  /* The manual choice stays untouched throughout. */
  g_assert_cmpint (pres_model_get_manual (fixture->model), ==, PRES_MANUAL_NONE);
}

static void
test_sleep_beats_manual (Fixture      *fixture,
                         gconstpointer data)
{
  set_busy (fixture, 0);
  assert_one_change (fixture, PRES_STATE_BUSY, PRES_STATE_ONLINE, PRES_REASON_MANUAL);

  pres_model_set_asleep (fixture->model, TRUE);
  assert_one_change (fixture, PRES_STATE_OFFLINE, PRES_STATE_BUSY, PRES_REASON_SLEEP);
  g_assert_cmpint (pres_model_get_auto_state (fixture->model), ==, PRES_STATE_OFFLINE);

  pres_model_set_asleep (fixture->model, FALSE);
  assert_one_change (fixture, PRES_STATE_BUSY, PRES_STATE_OFFLINE, PRES_REASON_RESUME);
  /* A second resume signal (logind may send two) changes nothing. */
  pres_model_set_asleep (fixture->model, FALSE);
  assert_no_change (fixture, PRES_STATE_BUSY);
}

static void
test_shutdown (Fixture      *fixture,
               gconstpointer data)
{
  pres_model_set_shutting_down (fixture->model, TRUE);
  assert_one_change (fixture, PRES_STATE_OFFLINE, PRES_STATE_ONLINE, PRES_REASON_SHUTDOWN);
}

static void
test_manual_is_sticky (Fixture      *fixture,
                       gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_APPEAR_OFFLINE, 0, &error));
  assert_one_change (fixture, PRES_STATE_APPEAR_OFFLINE, PRES_STATE_ONLINE, PRES_REASON_MANUAL);

  /* Idle, lock and their ends never clear a manual state. */
  pres_model_set_idle (fixture->model, TRUE);
  pres_model_set_locked (fixture->model, TRUE);
  pres_model_set_session_active (fixture->model, FALSE);
  pres_model_set_locked (fixture->model, FALSE);
  pres_model_set_idle (fixture->model, FALSE);
  pres_model_set_session_active (fixture->model, TRUE);
  assert_no_change (fixture, PRES_STATE_APPEAR_OFFLINE);
  g_assert_cmpint (pres_model_get_auto_state (fixture->model), ==, PRES_STATE_ONLINE);

  set_busy (fixture, 0);
  assert_one_change (fixture, PRES_STATE_BUSY, PRES_STATE_APPEAR_OFFLINE, PRES_REASON_MANUAL);

  pres_model_set_idle (fixture->model, TRUE);
  assert_no_change (fixture, PRES_STATE_BUSY);
  pres_model_set_auto (fixture->model);
  assert_one_change (fixture, PRES_STATE_IDLE, PRES_STATE_BUSY, PRES_REASON_AUTO);
  g_assert_cmpint (pres_model_get_manual (fixture->model), ==, PRES_MANUAL_NONE);
  g_assert_cmpint (pres_model_get_manual_until (fixture->model), ==, 0);
}

static void
test_expiry (Fixture      *fixture,
             gconstpointer data)
{
  set_busy (fixture, 60);
  assert_one_change (fixture, PRES_STATE_BUSY, PRES_STATE_ONLINE, PRES_REASON_MANUAL);
  g_assert_cmpint (pres_model_get_manual_until (fixture->model), ==, T0_US / G_USEC_PER_SEC + 60);

  pres_fake_clock_advance (fixture->clock, 59 * 1000);
  assert_no_change (fixture, PRES_STATE_BUSY);
  pres_fake_clock_advance (fixture->clock, 1000);
  assert_one_change (fixture, PRES_STATE_ONLINE, PRES_STATE_BUSY, PRES_REASON_EXPIRED);
  g_assert_cmpint (pres_model_get_manual (fixture->model), ==, PRES_MANUAL_NONE);
  g_assert_cmpint (pres_model_get_manual_until (fixture->model), ==, 0);
  g_assert_cmpuint (pres_fake_clock_n_timers (fixture->clock), ==, 0);
}

static void
test_expiry_long (Fixture      *fixture,
                  gconstpointer data)
{
  /* Longer than one timer can wait: re-armed day by day. */
  set_busy (fixture, 3 * 24 * 3600 + 5);
  g_array_set_size (fixture->changes, 0);
  pres_fake_clock_advance (fixture->clock, 3 * 24 * 3600 * 1000u);
  assert_no_change (fixture, PRES_STATE_BUSY);
  pres_fake_clock_advance (fixture->clock, 5000);
  assert_one_change (fixture, PRES_STATE_ONLINE, PRES_STATE_BUSY, PRES_REASON_EXPIRED);
}

static void
test_expiry_across_suspend (Fixture      *fixture,
                            gconstpointer data)
{
  set_busy (fixture, 60);
  g_array_set_size (fixture->changes, 0);

  pres_model_set_asleep (fixture->model, TRUE);
  assert_one_change (fixture, PRES_STATE_OFFLINE, PRES_STATE_BUSY, PRES_REASON_SLEEP);
  /* Two hours asleep: the monotonic timer does not run meanwhile. */
  pres_fake_clock_suspend (fixture->clock, 2 * 3600 * 1000);
  pres_model_set_asleep (fixture->model, FALSE);

  /* Straight to online: no busy flash between resume and expiry. */
  assert_one_change (fixture, PRES_STATE_ONLINE, PRES_STATE_OFFLINE, PRES_REASON_RESUME);
  g_assert_cmpint (pres_model_get_manual (fixture->model), ==, PRES_MANUAL_NONE);
}

static void
test_expiry_wall_clock_forward (Fixture      *fixture,
                                gconstpointer data)
{
  set_busy (fixture, 3600);
  g_array_set_size (fixture->changes, 0);

  pres_fake_clock_jump_wall (fixture->clock, G_GINT64_CONSTANT (7200) * G_USEC_PER_SEC);
  assert_one_change (fixture, PRES_STATE_ONLINE, PRES_STATE_BUSY, PRES_REASON_EXPIRED);
}

static void
test_expiry_wall_clock_backward (Fixture      *fixture,
                                 gconstpointer data)
{
  set_busy (fixture, 60);
  g_array_set_size (fixture->changes, 0);

  /* The expiry is an instant on the wall clock: set back an hour, it is
   * an hour further away. */
  pres_fake_clock_jump_wall (fixture->clock, -G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC);
  pres_fake_clock_advance (fixture->clock, 60 * 1000);
  assert_no_change (fixture, PRES_STATE_BUSY);
  pres_fake_clock_advance (fixture->clock, 3600 * 1000);
  assert_one_change (fixture, PRES_STATE_ONLINE, PRES_STATE_BUSY, PRES_REASON_EXPIRED);
}

static void
test_invalid_manual (Fixture      *fixture,
                     gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  set_busy (fixture, 600);
  g_array_set_size (fixture->changes, 0);

  g_assert_false (pres_model_set_manual (fixture->model, PRES_MANUAL_APPEAR_OFFLINE,
                                         PRES_MAX_MANUAL_SECONDS + 1, &error));
  g_assert_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS);
  g_assert_nonnull (strstr (error->message, "seconds"));
  g_clear_error (&error);

  g_assert_false (pres_model_set_manual (fixture->model, PRES_MANUAL_NONE, 10, &error));
  g_assert_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS);

  assert_no_change (fixture, PRES_STATE_BUSY);
  g_assert_cmpint (pres_model_get_manual_until (fixture->model), ==, T0_US / G_USEC_PER_SEC + 600);

  /* The longest allowed is allowed. */
  g_clear_error (&error);
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, PRES_MAX_MANUAL_SECONDS,
                                        &error));
}

static void
test_status_text (Fixture      *fixture,
                  gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *max = NULL;
  g_autofree char *over = NULL;
  GString *umlauts = g_string_new (NULL);

  g_assert_true (pres_model_set_status_text (fixture->model, "In a meeting", &error));
  g_assert_cmpstr (pres_model_get_status_text (fixture->model), ==, "In a meeting");

  /* 140 characters, not bytes. */
  for (int i = 0; i < 140; i++)
    g_string_append (umlauts, "ü");
  g_assert_true (pres_model_set_status_text (fixture->model, umlauts->str, &error));
  g_string_append (umlauts, "x");
  g_assert_false (pres_model_set_status_text (fixture->model, umlauts->str, &error));
  g_assert_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_string_free (umlauts, TRUE);

  g_assert_true (pres_model_set_status_text (fixture->model, "ok", &error));
  g_assert_false (pres_model_set_status_text (fixture->model, "two\nlines", &error));
  g_assert_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS);
  g_clear_error (&error);
  g_assert_false (pres_model_set_status_text (fixture->model, "bad \xff utf8", &error));
  g_assert_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS);
  g_assert_cmpstr (pres_model_get_status_text (fixture->model), ==, "ok");

  g_clear_error (&error);
  g_assert_true (pres_model_set_status_text (fixture->model, "", &error));
  g_assert_cmpstr (pres_model_get_status_text (fixture->model), ==, "");
  assert_no_change (fixture, PRES_STATE_ONLINE);
}

static void
test_restore (Fixture      *fixture,
              gconstpointer data)
{
  pres_model_restore (fixture->model, PRES_MANUAL_BUSY, T0_US / G_USEC_PER_SEC + 120, "Focus");
  pres_model_start (fixture->model);
  assert_one_change (fixture, PRES_STATE_BUSY, PRES_STATE_OFFLINE, PRES_REASON_STARTUP);
  g_assert_cmpstr (pres_model_get_status_text (fixture->model), ==, "Focus");

  pres_fake_clock_advance (fixture->clock, 120 * 1000);
  assert_one_change (fixture, PRES_STATE_ONLINE, PRES_STATE_BUSY, PRES_REASON_EXPIRED);
}

static void
test_restore_expired (Fixture      *fixture,
                      gconstpointer data)
{
  pres_model_restore (fixture->model, PRES_MANUAL_APPEAR_OFFLINE, T0_US / G_USEC_PER_SEC - 1, NULL);
  g_assert_cmpint (pres_model_get_manual (fixture->model), ==, PRES_MANUAL_NONE);
  pres_model_start (fixture->model);
  assert_one_change (fixture, PRES_STATE_ONLINE, PRES_STATE_OFFLINE, PRES_REASON_STARTUP);
  g_assert_cmpuint (pres_fake_clock_n_timers (fixture->clock), ==, 0);
}

static void
test_restore_until_auto (Fixture      *fixture,
                         gconstpointer data)
{
  pres_model_restore (fixture->model, PRES_MANUAL_APPEAR_OFFLINE, 0, NULL);
  pres_model_start (fixture->model);
  assert_one_change (fixture, PRES_STATE_APPEAR_OFFLINE, PRES_STATE_OFFLINE, PRES_REASON_STARTUP);
  pres_fake_clock_advance (fixture->clock, 365 * 24 * 3600 * 1000u);
  assert_no_change (fixture, PRES_STATE_APPEAR_OFFLINE);
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              guint      *count)
{
  (*count)++;
}

static void
test_notify (Fixture      *fixture,
             gconstpointer data)
{
  guint state_notifies = 0;

  g_signal_connect (fixture->model, "notify::state", G_CALLBACK (count_notify), &state_notifies);
  set_busy (fixture, 0);
  set_busy (fixture, 0);
  pres_model_set_idle (fixture->model, TRUE);
  pres_model_set_auto (fixture->model);
  g_assert_cmpuint (state_notifies, ==, 2);
  g_assert_cmpuint (fixture->changes->len, ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, started) \
  g_test_add ("/model/" path, Fixture, (started) ? NULL : GINT_TO_POINTER (1), fixture_set_up, \
              func, fixture_tear_down)
  ADD ("startup", test_startup, FALSE);
  ADD ("idle-and-active", test_idle_and_active, TRUE);
  ADD ("lock", test_lock, TRUE);
  ADD ("lock-without-away-on-lock", test_lock_without_away_on_lock, TRUE);
  ADD ("session-inactive", test_session_inactive, TRUE);
  ADD ("dnd", test_dnd, TRUE);
  ADD ("sleep-beats-manual", test_sleep_beats_manual, TRUE);
  ADD ("shutdown", test_shutdown, TRUE);
  ADD ("manual-is-sticky", test_manual_is_sticky, TRUE);
  ADD ("expiry", test_expiry, TRUE);
  ADD ("expiry-long", test_expiry_long, TRUE);
  ADD ("expiry-across-suspend", test_expiry_across_suspend, TRUE);
  ADD ("expiry-wall-clock-forward", test_expiry_wall_clock_forward, TRUE);
  ADD ("expiry-wall-clock-backward", test_expiry_wall_clock_backward, TRUE);
  ADD ("invalid-manual", test_invalid_manual, TRUE);
  ADD ("status-text", test_status_text, TRUE);
  ADD ("restore", test_restore, FALSE);
  ADD ("restore-expired", test_restore_expired, FALSE);
  ADD ("restore-until-auto", test_restore_until_auto, FALSE);
  ADD ("notify", test_notify, TRUE);
#undef ADD

  return g_test_run ();
}
