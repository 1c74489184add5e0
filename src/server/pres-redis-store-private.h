#pragma once

#include "pres-redis-connection.h"
#include "pres-redis-device.h"
#include "pres-redis-events.h"
#include "pres-redis-keys.h"
#include "pres-redis-lua.h"
#include "pres-redis-store.h"
#include "pres-redis-sweeper.h"

G_BEGIN_DECLS

/* The Redis store across its files: pres-redis-store.c (writes, counts,
 * connection events), pres-redis-reads.c, pres-redis-conversations.c,
 * pres-redis-replay.c (cursors) and the sweeper's callbacks. */

struct _PresRedisStore
{
  GObject parent_instance;

  PresRedisConnection *conn;
  PresRedisEvents *events;
  char *ttl_ms;
  gint64 ttl_us;
  guint max_instances;
  guint cached_instances; /* the cap's view: counters plus our own adds */
  gint64 clock_offset_us; /* Redis' time minus our monotonic time */
  gboolean clock_known;
  GHashTable *always_online;
  PresRedisLua *lua;
  char *bucket_keys[PRES_REDIS_N_BUCKETS][4]; /* dl, ev, n, NULL */

  PresRedisSweeper *sweeper;
  gint64 outage_start_ms; /* wall clock; 0 while connected */
  guint reset_id;         /* a TTL after the store was found emptied */
};

GError *pres_redis_store_unavailable (const GError *cause);

/* PresStore's reads (pres-redis-reads.c). */
void pres_redis_store_get_states (PresStore *store,
                                  const char *const *participant_ids,
                                  guint n_ids,
                                  PresStoreStatesFunc callback,
                                  gpointer user_data);
void pres_redis_store_list_instances (PresStore *store,
                                      const char *participant_id,
                                      PresStoreInstancesFunc callback,
                                      gpointer user_data);
void pres_redis_store_list_members (PresStore *store,
                                    const char *const *participant_ids,
                                    guint n_ids,
                                    PresStoreInstancesFunc callback,
                                    gpointer user_data);

/* PresStore's conversations (pres-redis-conversations.c). */
void pres_redis_store_record_conversation (PresStore *store,
                                          const char *a,
                                          const char *b,
                                          gint64 at_ms,
                                          gint64 expires_at_ms,
                                          PresStoreConversationFunc callback,
                                          gpointer user_data);
void pres_redis_store_get_grants (PresStore *store,
                                  const char *viewer_id,
                                  const char *const *participant_ids,
                                  guint n_ids,
                                  PresStoreGrantsFunc callback,
                                  gpointer user_data);

/* PresStore's cursors and replays (pres-redis-replay.c). */
char *pres_redis_store_get_cursor (PresStore *store);
gboolean pres_redis_store_cursor_covers (PresStore *store,
                                         const char *cursor,
                                         const PresMemberEvent *event);
void pres_redis_store_replay (PresStore *store,
                              const char *cursor,
                              const char *const *participant_ids,
                              guint n_ids,
                              PresStoreReplayFunc callback,
                              gpointer user_data);

/* What the sweeper asks of the store. */

/* Runs the settle function for participant_id (only_if_due: only when its
 * indexed deadline has passed on Redis' clock).  cut_ms, unless 0: no
 * deadline after it counts as passed. */
void pres_redis_store_settle (PresRedisStore *self,
                              const char *participant_id,
                              gboolean only_if_due,
                              gint64 cut_ms,
                              PresRedisLuaDone done,
                              gpointer data);
/* Reads the store epoch again (a flush while connected) and the counters
 * behind the server-wide cap. */
void pres_redis_store_refresh (PresRedisStore *self);

G_END_DECLS
