#pragma once

#include "pres-redis-connection.h"

G_BEGIN_DECLS

/* Pipelined commands answered as one read: each reply goes to `reply` with
 * the index of its command (in the order added; none after an error), the
 * first error is kept, and `done` runs once, when every reply is in and
 * the batch is closed.  The batch frees itself after `done`. */

typedef struct _PresRedisBatch PresRedisBatch;

typedef void (*PresRedisBatchReplyFunc) (redisReply *reply, guint index, gpointer user_data);
/* error: the first command that did not complete, NULL when all did. */
typedef void (*PresRedisBatchDoneFunc) (const GError *error, gpointer user_data);

/* conn is borrowed. */
PresRedisBatch *pres_redis_batch_new (PresRedisConnection *conn,
                                      PresRedisBatchReplyFunc reply,
                                      PresRedisBatchDoneFunc done,
                                      gpointer user_data);
void pres_redis_batch_add (PresRedisBatch *self, int argc, const char **argv);
/* No more commands: `done` runs when the replies are in, or now if they are. */
void pres_redis_batch_close (PresRedisBatch *self);

G_END_DECLS
