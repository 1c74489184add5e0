#pragma once

#include "pres-member-event.h"
#include "pres-redis-connection.h"

G_BEGIN_DECLS

/* Reads the per-bucket event streams with XREAD BLOCK on a connection of
 * its own (a blocking read would stall the commands' pipeline).  It keeps
 * the last id read per bucket: after a reconnect it resumes from there, so
 * no change is lost or read twice while the stream retains it.  The first
 * connect starts at the streams' ends. */

typedef void (*PresRedisEventFunc) (const char *participant_id,
                                    PresState old_state,
                                    PresState new_state,
                                    gpointer user_data);

typedef void (*PresRedisSyncFunc) (gpointer user_data);

/* A conversation's entry: viewer_id now sees participant_id until until_ms. */
typedef void (*PresRedisGrantFunc) (const char *viewer_id,
                                    const char *participant_id,
                                    gint64 until_ms,
                                    gpointer user_data);

/* A member event, borrowed. */
typedef void (*PresRedisMemberFunc) (PresMemberEvent *event, gpointer user_data);

typedef struct _PresRedisEvents PresRedisEvents;

/* Takes a reference on conn and starts it. */
PresRedisEvents *
pres_redis_events_new (PresRedisConnection *conn, PresRedisEventFunc func, gpointer user_data);
void pres_redis_events_free (PresRedisEvents *self);
/* Entries of conversations go to func, with the same user_data. */
void pres_redis_events_set_grant_func (PresRedisEvents *self, PresRedisGrantFunc func);
/* Entries of member events go to func, with the same user_data. */
void pres_redis_events_set_member_func (PresRedisEvents *self, PresRedisMemberFunc func);
/* TRUE once the stream positions are known: from then on no change is missed. */
gboolean pres_redis_events_is_primed (PresRedisEvents *self);

/* The id of the last entry emitted, per bucket, copied into ids (g_free()
 * each); FALSE before the positions are known. */
gboolean pres_redis_events_get_position (PresRedisEvents *self, char **ids);

/* The newest entry's id in a reply to "XREVRANGE key + - COUNT 1", "0-0"
 * for a stream that is not there yet, NULL for anything else.  Borrowed. */
const char *pres_redis_events_newest_id (const redisReply *reply);

/* Calls func once the streams were read up to ids (one per bucket, as
 * "ms-seq"), or with the reader closing. */
void pres_redis_events_wait (PresRedisEvents *self,
                             const char *const *ids,
                             PresRedisSyncFunc func,
                             gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresRedisEvents, pres_redis_events_free)

G_END_DECLS
