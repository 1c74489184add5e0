#pragma once

#include "pres-redis-connection.h"
#include "pres-redis-store.h"

G_BEGIN_DECLS

/* The Redis store's sweeper: every node runs one.  Each period it settles
 * the participants whose indexed deadline has passed (the settle function
 * re-checks it against Redis' clock, so only one sweep appends an event),
 * and about once a second has the store refresh its epoch and counters. */

typedef struct _PresRedisSweeper PresRedisSweeper;

/* store and conn are borrowed; free the sweeper after disposing conn, whose
 * pending commands still reach it. */
PresRedisSweeper *
pres_redis_sweeper_new (PresRedisStore *store, PresRedisConnection *conn, guint period_ms);
void pres_redis_sweeper_free (PresRedisSweeper *self);
/* Deadlines from from_ms on are not swept until until_us (monotonic). */
void pres_redis_sweeper_hold (PresRedisSweeper *self, gint64 from_ms, gint64 until_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresRedisSweeper, pres_redis_sweeper_free)

G_END_DECLS
