#include "pres-backoff.h"

/* Many seeds, so the bounds hold for the spread, not for one lucky draw. */
#define N_SEEDS 200

static void
test_schedule (void)
{
  static const guint expected_min[] = { 1000, 1600, 2400, 2400, 2400, 2400, 2400, 2400 };
  static const guint expected_max[] = { 1200, 2400, 3600, 3600, 3600, 3600, 3600, 3600 };

  for (guint seed = 0; seed < N_SEEDS; seed++)
    {
      g_autoptr (PresBackoff) backoff = pres_backoff_new (g_rand_new_with_seed (seed));

      for (guint i = 0; i < G_N_ELEMENTS (expected_min); i++)
        {
          guint delay = pres_backoff_next (backoff);

          g_assert_cmpuint (delay, >=, expected_min[i]);
          g_assert_cmpuint (delay, <=, expected_max[i]);
        }
      g_assert_cmpuint (pres_backoff_get_failures (backoff), ==, G_N_ELEMENTS (expected_min));
    }
}

static void
test_jitter_spreads (void)
{
  g_autoptr (PresBackoff) backoff = pres_backoff_new (g_rand_new_with_seed (7));
  guint lowest = G_MAXUINT, highest = 0;

  /* Agents that fail together must not retry together: the draws at the
   * cap must cover most of the 2.4–3.6 s window. */
  for (guint i = 0; i < 10; i++)
    pres_backoff_next (backoff);
  for (guint i = 0; i < 500; i++)
    {
      guint delay = pres_backoff_next (backoff);

      lowest = MIN (lowest, delay);
      highest = MAX (highest, delay);
    }
  g_assert_cmpuint (lowest, <, 2500);
  g_assert_cmpuint (highest, >, 3500);
}

static void
test_cap (void)
{
  g_autoptr (PresBackoff) backoff = pres_backoff_new (g_rand_new_with_seed (1));

  /* Far past the doubling range (and past any shift overflow): never
   * longer than the cap's jitter allows, which keeps the wait after the
   * server's return under 3.6 s. */
  for (guint i = 0; i < 100; i++)
    g_assert_cmpuint (pres_backoff_next (backoff), <=, 3600);
  g_assert_cmpuint (pres_backoff_next (backoff), >=, 2400);
}

static void
test_reset (void)
{
  g_autoptr (PresBackoff) backoff = pres_backoff_new (g_rand_new_with_seed (3));

  for (guint i = 0; i < 8; i++)
    pres_backoff_next (backoff);
  pres_backoff_reset (backoff);
  g_assert_cmpuint (pres_backoff_get_failures (backoff), ==, 0);
  g_assert_cmpuint (pres_backoff_next (backoff), <=, 1200);
}

static void
test_interval_jitter (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (11);
  guint lowest = G_MAXUINT, highest = 0;

  for (guint i = 0; i < 2000; i++)
    {
      guint interval = pres_backoff_jitter_interval (rand, 30000);

      g_assert_cmpuint (interval, >=, 27000);
      g_assert_cmpuint (interval, <=, 33000);
      lowest = MIN (lowest, interval);
      highest = MAX (highest, interval);
    }
  g_assert_cmpuint (lowest, <, 27500);
  g_assert_cmpuint (highest, >, 32500);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backoff/schedule", test_schedule);
  g_test_add_func ("/backoff/jitter-spreads", test_jitter_spreads);
  g_test_add_func ("/backoff/cap", test_cap);
  g_test_add_func ("/backoff/reset", test_reset);
  g_test_add_func ("/backoff/interval-jitter", test_interval_jitter);
  return g_test_run ();
}
