#define G_LOG_DOMAIN "pres-redis"

#include <string.h>

#include "pres-redis-entry.h"
#include "pres-redis-events.h"
#include "pres-redis-keys.h"

#define BLOCK_MS 1000
#define BATCH "1000"
/* Reads at most this often: during a burst of changes each XREAD (sixteen
 * streams, ~30 µs of Redis CPU) brings the burst's last 10 ms of entries
 * rather than one or two.  A change after a quiet spell comes at once. */
#define READ_PACE_MS 10

struct _PresRedisEvents
{
  PresRedisConnection *conn;
  PresRedisEventFunc func;
  PresRedisGrantFunc grant_func;
  PresRedisMemberFunc member_func;
  gpointer user_data;
  char *keys[PRES_REDIS_N_BUCKETS];
  char *last_ids[PRES_REDIS_N_BUCKETS]; /* NULL until primed */
  guint n_primed;
  gboolean reading;
  gint64 read_sent_us;
  guint pace_id;
  gboolean closing;
  gulong connected_id;
  GSList *waiters;
};

typedef struct
{
  PresRedisStreamId ids[PRES_REDIS_N_BUCKETS];
  PresRedisSyncFunc func;
  gpointer user_data;
} Waiter;

static void read_next (PresRedisEvents *self);

static gboolean
waiter_done (PresRedisEvents *self,
             Waiter          *waiter)
{
  if (!pres_redis_events_is_primed (self))
    return FALSE;
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    {
      PresRedisStreamId read;

      if (pres_redis_stream_id_parse (self->last_ids[b], &read)
          && pres_redis_stream_id_compare (&read, &waiter->ids[b]) < 0)
        return FALSE;
    }
  return TRUE;
}

static void
wake_waiters (PresRedisEvents *self)
{
  GSList *ready = NULL;

  for (GSList *l = self->waiters; l != NULL;)
    {
      GSList *next = l->next;

      if (self->closing || waiter_done (self, l->data))
        {
          self->waiters = g_slist_remove_link (self->waiters, l);
          ready = g_slist_concat (l, ready);
        }
      l = next;
    }
  for (GSList *l = ready; l != NULL; l = l->next)
    {
      Waiter *waiter = l->data;

      waiter->func (waiter->user_data);
    }
  g_slist_free_full (ready, g_free);
}

void
pres_redis_events_wait (PresRedisEvents   *self,
                        const char *const *ids,
                        PresRedisSyncFunc  func,
                        gpointer           user_data)
{
  Waiter *waiter = g_new0 (Waiter, 1);

  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    if (!pres_redis_stream_id_parse (ids[b], &waiter->ids[b]))
      waiter->ids[b] = (PresRedisStreamId) { 0 };
  waiter->func = func;
  waiter->user_data = user_data;
  self->waiters = g_slist_prepend (self->waiters, waiter);
  wake_waiters (self);
}

/* A member event goes out before the state change it causes: the
 * functions append it first. */
static void
handle_entry (PresRedisEvents *self,
              guint            bucket,
              redisReply      *reply)
{
  g_auto (PresRedisEntry) entry = { 0 };

  if (!pres_redis_entry_parse (reply, &entry))
    {
      g_warning ("event stream: malformed entry %s skipped", reply->element[0]->str);
      return;
    }
  switch (entry.kind)
    {
      case PRES_REDIS_ENTRY_STATE:
        self->func (entry.participant_id, entry.old_state, entry.new_state, self->user_data);
        break;
      case PRES_REDIS_ENTRY_MEMBER:
        entry.member->shard = bucket;
        if (self->member_func != NULL)
          self->member_func (entry.member, self->user_data);
        break;
      case PRES_REDIS_ENTRY_GRANT:
        if (self->grant_func != NULL)
          self->grant_func (entry.participant_id, entry.granted_id, entry.until_ms,
                            self->user_data);
        break;
    }
}

static void
read_cb (PresRedisConnection *conn,
         redisReply          *reply,
         const GError        *error,
         gpointer             user_data)
{
  PresRedisEvents *self = user_data;

  self->reading = FALSE;
  if (self->closing)
    return;
  if (error != NULL)
    {
      /* The "connected" handler reads again from the ids kept. */
      g_debug ("event stream: %s", error->message);
      return;
    }
  if (reply->type == REDIS_REPLY_ERROR)
    {
      g_warning ("event stream: %s", reply->str);
      pres_redis_connection_reset (conn, reply->str);
      return;
    }
  if (reply->type == REDIS_REPLY_ARRAY)
    for (size_t s = 0; s < reply->elements; s++)
      {
        redisReply *stream = reply->element[s];
        guint bucket;

        if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2
            || stream->element[1]->type != REDIS_REPLY_ARRAY)
          continue;
        for (bucket = 0; bucket < PRES_REDIS_N_BUCKETS; bucket++)
          if (g_strcmp0 (stream->element[0]->str, self->keys[bucket]) == 0)
            break;
        if (bucket == PRES_REDIS_N_BUCKETS)
          continue;
        for (size_t e = 0; e < stream->element[1]->elements; e++)
          {
            redisReply *entry = stream->element[1]->element[e];

            if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 1
                || entry->element[0]->str == NULL)
              continue;
            /* Advanced before the handler runs: what it does cannot make
             * the same entry come twice. */
            g_free (self->last_ids[bucket]);
            self->last_ids[bucket] = g_strdup (entry->element[0]->str);
            handle_entry (self, bucket, entry);
            if (self->closing)
              return;
          }
      }
  wake_waiters (self);
  read_next (self);
}

static gboolean
pace_cb (gpointer user_data)
{
  PresRedisEvents *self = user_data;

  self->pace_id = 0;
  read_next (self);
  return G_SOURCE_REMOVE;
}

static void
read_next (PresRedisEvents *self)
{
  const char *argv[6 + 2 * PRES_REDIS_N_BUCKETS]
    = { "XREAD", "COUNT", BATCH, "BLOCK", G_STRINGIFY (BLOCK_MS), "STREAMS" };
  gint64 wait_us = self->read_sent_us + READ_PACE_MS * 1000 - g_get_monotonic_time ();

  if (self->reading || self->pace_id != 0 || self->closing || !pres_redis_events_is_primed (self)
      || !pres_redis_connection_is_connected (self->conn))
    return;
  if (wait_us > 0)
    {
      self->pace_id = g_timeout_add ((wait_us + 999) / 1000, pace_cb, self);
      return;
    }
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    {
      argv[6 + b] = self->keys[b];
      argv[6 + PRES_REDIS_N_BUCKETS + b] = self->last_ids[b];
    }
  self->reading = TRUE;
  self->read_sent_us = g_get_monotonic_time ();
  pres_redis_connection_command (self->conn, BLOCK_MS, read_cb, self, G_N_ELEMENTS (argv), argv,
                                 NULL);
}

const char *
pres_redis_events_newest_id (const redisReply *reply)
{
  const redisReply *entry;

  if (reply->type != REDIS_REPLY_ARRAY)
    return NULL;
  if (reply->elements == 0)
    return "0-0";
  entry = reply->element[0];
  if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 1
      || entry->element[0]->type != REDIS_REPLY_STRING)
    return NULL;
  return entry->element[0]->str;
}

typedef struct
{
  PresRedisEvents *self;
  guint bucket;
} Prime;

static void
prime_cb (PresRedisConnection *conn,
          redisReply          *reply,
          const GError        *error,
          gpointer             user_data)
{
  g_autofree Prime *prime = user_data;
  PresRedisEvents *self = prime->self;

  const char *newest;

  if (error != NULL || self->closing || self->last_ids[prime->bucket] != NULL)
    return;
  newest = pres_redis_events_newest_id (reply);
  if (newest == NULL)
    {
      g_warning ("event stream: %s",
                 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
      return;
    }
  self->last_ids[prime->bucket] = g_strdup (newest);
  if (++self->n_primed == PRES_REDIS_N_BUCKETS)
    {
      g_debug ("event stream: reading from the streams' ends");
      wake_waiters (self);
      read_next (self);
    }
}

static void
connected_cb (PresRedisConnection *conn,
              PresRedisEvents     *self)
{
  if (pres_redis_events_is_primed (self))
    {
      read_next (self);
      return;
    }
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    {
      Prime *prime;

      if (self->last_ids[b] != NULL)
        continue;
      prime = g_new (Prime, 1);
      prime->self = self;
      prime->bucket = b;
      pres_redis_connection_command (
        conn, 0, prime_cb, prime, 6,
        (const char *[]) { "XREVRANGE", self->keys[b], "+", "-", "COUNT", "1" }, NULL);
    }
}

gboolean
pres_redis_events_is_primed (PresRedisEvents *self)
{
  return self->n_primed == PRES_REDIS_N_BUCKETS;
}

PresRedisEvents *
pres_redis_events_new (PresRedisConnection *conn,
                       PresRedisEventFunc   func,
                       gpointer             user_data)
{
  PresRedisEvents *self = g_new0 (PresRedisEvents, 1);

  self->conn = g_object_ref (conn);
  self->func = func;
  self->user_data = user_data;
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    self->keys[b] = pres_redis_key (b, "ev");
  self->connected_id = g_signal_connect (conn, "connected", G_CALLBACK (connected_cb), self);
  pres_redis_connection_start (conn);
  return self;
}

void
pres_redis_events_set_grant_func (PresRedisEvents   *self,
                                  PresRedisGrantFunc func)
{
  self->grant_func = func;
}

void
pres_redis_events_set_member_func (PresRedisEvents    *self,
                                   PresRedisMemberFunc func)
{
  self->member_func = func;
}

gboolean
pres_redis_events_get_position (PresRedisEvents *self,
                                char           **ids)
{
  if (!pres_redis_events_is_primed (self))
    return FALSE;
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    ids[b] = g_strdup (self->last_ids[b]);
  return TRUE;
}

void
pres_redis_events_free (PresRedisEvents *self)
{
  if (self == NULL)
    return;
  /* Disposing the connection fails the pending read: it must find us. */
  self->closing = TRUE;
  g_clear_handle_id (&self->pace_id, g_source_remove);
  g_clear_signal_handler (&self->connected_id, self->conn);
  g_object_run_dispose (G_OBJECT (self->conn));
  g_clear_object (&self->conn);
  wake_waiters (self);
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    {
      g_free (self->keys[b]);
      g_free (self->last_ids[b]);
    }
  g_free (self);
}
