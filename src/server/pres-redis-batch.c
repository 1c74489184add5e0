#define G_LOG_DOMAIN "pres-redis"

#include "pres-redis-batch.h"

struct _PresRedisBatch
{
  PresRedisConnection *conn;
  PresRedisBatchReplyFunc reply;
  PresRedisBatchDoneFunc done;
  gpointer user_data;
  guint sent;
  guint answered;
  gboolean closed;
  GError *error;
};

static void
batch_finish_if_complete (PresRedisBatch *self)
{
  if (!self->closed || self->answered < self->sent)
    return;
  self->done (self->error, self->user_data);
  g_clear_error (&self->error);
  g_free (self);
}

static void
command_cb (PresRedisConnection *conn,
            redisReply          *reply,
            const GError        *error,
            gpointer             user_data)
{
  PresRedisBatch *self = user_data;
  /* One connection answers in order. */
  guint index = self->answered++;

  if (error != NULL && self->error == NULL)
    self->error = g_error_copy (error);
  else if (self->error == NULL)
    self->reply (reply, index, self->user_data);
  batch_finish_if_complete (self);
}

PresRedisBatch *
pres_redis_batch_new (PresRedisConnection     *conn,
                      PresRedisBatchReplyFunc  reply,
                      PresRedisBatchDoneFunc   done,
                      gpointer                 user_data)
{
  PresRedisBatch *self = g_new0 (PresRedisBatch, 1);

  self->conn = conn;
  self->reply = reply;
  self->done = done;
  self->user_data = user_data;
  return self;
}

void
pres_redis_batch_add (PresRedisBatch  *self,
                      int              argc,
                      const char     **argv)
{
  g_return_if_fail (!self->closed);
  self->sent++;
  pres_redis_connection_command (self->conn, 0, command_cb, self, argc, argv, NULL);
}

void
pres_redis_batch_close (PresRedisBatch *self)
{
  self->closed = TRUE;
  batch_finish_if_complete (self);
}
