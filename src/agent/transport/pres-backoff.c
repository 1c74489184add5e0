#define G_LOG_DOMAIN "pres-backoff"

#include "pres-backoff.h"

struct _PresBackoff
{
  GRand *rand;
  guint failures;
};

/* A NULL RAND seeds one from the system; tests pass a seeded one. */
PresBackoff *
pres_backoff_new (GRand *rand)
{
  PresBackoff *self = g_new0 (PresBackoff, 1);

  self->rand = rand ? rand : g_rand_new ();
  return self;
}

void
pres_backoff_free (PresBackoff *self)
{
  if (self == NULL)
    return;
  g_rand_free (self->rand);
  g_free (self);
}

void
pres_backoff_bounds (guint failures, guint *min_ms, guint *max_ms)
{
  guint nominal = PRES_BACKOFF_MAX_MS;

  /* 2^6 × the base already exceeds the cap; stop shifting before it
   * overflows. */
  if (failures < 6)
    nominal = MIN (PRES_BACKOFF_BASE_MS << failures, PRES_BACKOFF_MAX_MS);

  /* Jitter on both sides of the cap too, or a crowd of agents at the cap
   * would bunch at its upper end. */
  *min_ms = MAX (PRES_BACKOFF_BASE_MS, nominal / 5 * 4);
  *max_ms = nominal / 5 * 6;
}

guint
pres_backoff_next (PresBackoff *self)
{
  guint min_ms, max_ms;

  pres_backoff_bounds (self->failures, &min_ms, &max_ms);
  if (self->failures < G_MAXUINT)
    self->failures++;
  return g_rand_int_range (self->rand, min_ms, max_ms + 1);
}

void
pres_backoff_reset (PresBackoff *self)
{
  self->failures = 0;
}

guint
pres_backoff_get_failures (PresBackoff *self)
{
  return self->failures;
}

guint
pres_backoff_jitter_interval (GRand *rand, guint interval_ms)
{
  guint spread = interval_ms / 10;

  return g_rand_int_range (rand, interval_ms - spread, interval_ms + spread + 1);
}
