#pragma once

#include "pres-redis-lua.h"
#include "pres-redis-store.h"

G_BEGIN_DECLS

/* What the sweeper asks of the store. */

/* Runs the settle script for participant_id (only_if_due: only when its
 * deadline has passed on Redis' clock). */
void pres_redis_store_settle (PresRedisStore *self,
                              const char *participant_id,
                              gboolean only_if_due,
                              PresRedisLuaDone done,
                              gpointer data);
/* Reads the store epoch again (a flush while connected) and the counters
 * behind the server-wide cap. */
void pres_redis_store_refresh (PresRedisStore *self);

G_END_DECLS
