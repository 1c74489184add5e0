#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PRES_BACKOFF_BASE_MS 1000
#define PRES_BACKOFF_MAX_MS 3000

/*
 * The retry schedule after a failure: the nominal delay doubles from 1 s up
 * to 3 s, and each delay is drawn from [0.8, 1.2] × nominal (at least 1 s),
 * so agents that failed together do not retry together.
 *
 * The cap is what a user waits after the server is back: with retries
 * every 2.4–3.6 s the agent is connected again within 3.6 s of the server's
 * return, 3 s at the 95th percentile, however long the outage. A refused
 * connection costs the server nothing while it is down; once it is back,
 * the jitter spreads a crowd of agents over those 3.6 s. Errors that a
 * retry cannot mend (a refused token) keep their own, slow schedule.
 */
typedef struct _PresBackoff PresBackoff;

PresBackoff *pres_backoff_new (GRand *rand);
void pres_backoff_free (PresBackoff *self);

/* The delay before the next attempt; each call counts one more failure. */
guint pres_backoff_next (PresBackoff *self);
void pres_backoff_reset (PresBackoff *self);
guint pres_backoff_get_failures (PresBackoff *self);

/* The bounds pres_backoff_next() keeps to after FAILURES earlier failures. */
void pres_backoff_bounds (guint failures, guint *min_ms, guint *max_ms);

/* INTERVAL_MS ± 10 %, for periodic heartbeats. */
guint pres_backoff_jitter_interval (GRand *rand, guint interval_ms);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresBackoff, pres_backoff_free)

G_END_DECLS
