#define G_LOG_DOMAIN "pres-redis"

#include <gio/gio.h>

#include "pres-redis-keys.h"
#include "pres-redis-store-private.h"
#include "pres-redis-sweeper.h"

#define SWEEP_PAGE 500
#define SWEEP_PAGE_S G_STRINGIFY (SWEEP_PAGE)

struct _PresRedisSweeper
{
  PresRedisStore *store;
  PresRedisConnection *conn;
  char *deadline_keys[PRES_REDIS_N_BUCKETS];
  GSource *source;
  guint period_ms;
  /* After a (re)connect, deadlines from hold_from_ms on are not swept
   * until hold_until_us (see the store's connected_cb). */
  gint64 hold_until_us;
  gint64 hold_from_ms;
  guint running;
  guint ticks;
};

typedef struct
{
  PresRedisSweeper *sweeper;
  guint bucket;
  gint64 cut_ms; /* 0, or the hold's: see pres_redis_store_settle() */
  guint remaining; /* settle replies still to come */
  gboolean full_page;
  gboolean settled_any;
} SweepPage;

static void sweep_bucket (PresRedisSweeper *self, guint bucket);

static void
settle_done (gpointer      owner,
             redisReply   *reply,
             const GError *error,
             gpointer      data)
{
  SweepPage *page = data;

  if (reply != NULL && reply->type != REDIS_REPLY_NIL)
    page->settled_any = TRUE;
  if (--page->remaining > 0)
    return;
  /* A full page: more may be due at once (a mass expiry).  One where none
   * was due on Redis' clock (ours runs ahead) waits for the next period. */
  if (page->full_page && page->settled_any)
    sweep_bucket (page->sweeper, page->bucket);
  else
    page->sweeper->running--;
  g_free (page);
}

static void
index_cb (PresRedisConnection *conn,
          redisReply          *reply,
          const GError        *error,
          gpointer             user_data)
{
  SweepPage *page = user_data;
  PresRedisSweeper *self = page->sweeper;

  if (error != NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0)
    {
      self->running--;
      g_free (page);
      return;
    }
  page->full_page = reply->elements == SWEEP_PAGE;
  /* Members are strings; anything else is no participant to settle. */
  for (size_t i = 0; i < reply->elements; i++)
    page->remaining += reply->element[i]->str != NULL;
  if (page->remaining == 0)
    {
      self->running--;
      g_free (page);
      return;
    }
  for (size_t i = 0; i < reply->elements; i++)
    if (reply->element[i]->str != NULL)
      pres_redis_store_settle (self->store, reply->element[i]->str, TRUE, page->cut_ms,
                               settle_done, page);
}

static void
sweep_bucket (PresRedisSweeper *self,
              guint             bucket)
{
  SweepPage *page = g_new0 (SweepPage, 1);
  /* Our clock picks candidates; the function decides on Redis' clock. */
  gint64 now_ms = g_get_real_time () / 1000;
  g_autofree char *now = NULL;

  page->sweeper = self;
  page->bucket = bucket;
  if (g_get_monotonic_time () < self->hold_until_us)
    {
      page->cut_ms = self->hold_from_ms - 1;
      now_ms = MIN (now_ms, page->cut_ms);
    }
  now = g_strdup_printf ("%" G_GINT64_FORMAT, now_ms);
  pres_redis_connection_command (self->conn, 0, index_cb, page, 7,
                                 (const char *[]) { "ZRANGEBYSCORE", self->deadline_keys[bucket],
                                                   "-inf", now, "LIMIT", "0", SWEEP_PAGE_S },
                                 NULL);
}

static gboolean
sweep_cb (gpointer user_data)
{
  PresRedisSweeper *self = user_data;

  if (!pres_redis_store_is_ready (self->store))
    return G_SOURCE_CONTINUE;
  if (self->ticks++ % MAX (1, 1000 / self->period_ms) == 0)
    pres_redis_store_refresh (self->store);
  if (self->running > 0)
    return G_SOURCE_CONTINUE;
  self->running = PRES_REDIS_N_BUCKETS;
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    sweep_bucket (self, b);
  return G_SOURCE_CONTINUE;
}

void
pres_redis_sweeper_hold (PresRedisSweeper *self,
                         gint64            from_ms,
                         gint64            until_us)
{
  self->hold_from_ms = from_ms;
  self->hold_until_us = until_us;
}

PresRedisSweeper *
pres_redis_sweeper_new (PresRedisStore      *store,
                        PresRedisConnection *conn,
                        guint                period_ms)
{
  PresRedisSweeper *self = g_new0 (PresRedisSweeper, 1);

  self->store = store;
  self->conn = conn;
  self->period_ms = period_ms;
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    self->deadline_keys[b] = pres_redis_key (b, "dl");
  self->source = g_timeout_source_new (period_ms);
  g_source_set_callback (self->source, sweep_cb, self, NULL);
  g_source_set_name (self->source, "[pres-redis] sweeper");
  g_source_attach (self->source, NULL);
  return self;
}

void
pres_redis_sweeper_free (PresRedisSweeper *self)
{
  g_source_destroy (self->source);
  g_source_unref (self->source);
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    g_free (self->deadline_keys[b]);
  g_free (self);
}
