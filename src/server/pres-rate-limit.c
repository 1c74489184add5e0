#define G_LOG_DOMAIN "pres-server"

#include <math.h>
#include <string.h>

#include "pres-rate-limit.h"

typedef struct
{
  GList link; /* in by_use */
  double tokens;
  gint64 updated_us;
  char key[];
} Bucket;

struct _PresRateLimit
{
  double rate;
  double burst;
  gint64 refill_us; /* from empty to full */
  guint max_keys;
  GHashTable *buckets; /* key (owned by the bucket) → Bucket */
  GQueue by_use;       /* of Bucket, least recently used first */
};

PresRateLimit *
pres_rate_limit_new (double rate,
                     guint  burst,
                     guint  max_keys)
{
  PresRateLimit *self = g_new0 (PresRateLimit, 1);

  self->rate = rate;
  self->burst = MAX (burst, 1);
  self->refill_us = (gint64) ceil (self->burst / rate * G_USEC_PER_SEC);
  self->max_keys = MAX (max_keys, 1);
  self->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_queue_init (&self->by_use);
  return self;
}

void
pres_rate_limit_free (PresRateLimit *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->buckets);
  g_free (self);
}

static void
refill (PresRateLimit *self,
        Bucket        *bucket,
        gint64         now_us)
{
  double elapsed_s = (now_us - bucket->updated_us) / (double) G_USEC_PER_SEC;

  bucket->tokens = MIN (self->burst, bucket->tokens + elapsed_s * self->rate);
  bucket->updated_us = now_us;
}

/* A full bucket is the same as no bucket.  Buckets untouched for a whole
 * refill are full, and they are at the front of by_use: forgetting them as
 * requests come keeps the table to the callers of the last few seconds
 * (agents beat every 30 s), at O(1) per request. */
static void
forget_full (PresRateLimit *self,
             gint64         now_us)
{
  GList *front;

  while ((front = g_queue_peek_head_link (&self->by_use)) != NULL &&
         now_us - ((Bucket *) front->data)->updated_us >= self->refill_us)
    {
      g_queue_unlink (&self->by_use, front);
      g_hash_table_remove (self->buckets, ((Bucket *) front->data)->key);
    }
}

/* Dev mode accepts any token, so callers are unbounded: when more than
 * max_keys are all busy at once, their buckets are dropped together. */
static void
forget_all (PresRateLimit *self)
{
  g_warning ("rate limiter: %u callers are all busy; forgetting their buckets",
             g_hash_table_size (self->buckets));
  g_queue_init (&self->by_use);
  g_hash_table_remove_all (self->buckets);
}

gboolean
pres_rate_limit_take (PresRateLimit *self,
                      const char    *key,
                      gint64         now_us,
                      guint         *retry_after_s)
{
  Bucket *bucket;

  forget_full (self, now_us);
  bucket = g_hash_table_lookup (self->buckets, key);
  if (bucket == NULL)
    {
      gsize len = strlen (key);

      if (g_hash_table_size (self->buckets) >= self->max_keys)
        forget_all (self);
      bucket = g_malloc0 (sizeof (Bucket) + len + 1);
      memcpy (bucket->key, key, len + 1);
      bucket->link.data = bucket;
      bucket->tokens = self->burst;
      bucket->updated_us = now_us;
      g_hash_table_insert (self->buckets, bucket->key, bucket);
    }
  else
    {
      refill (self, bucket, now_us);
      g_queue_unlink (&self->by_use, &bucket->link);
    }
  g_queue_push_tail_link (&self->by_use, &bucket->link);

  if (bucket->tokens >= 1.0)
    {
      bucket->tokens -= 1.0;
      return TRUE;
    }
  *retry_after_s = MAX (1, (guint) ceil ((1.0 - bucket->tokens) / self->rate));
  return FALSE;
}

guint
pres_rate_limit_get_n_keys (PresRateLimit *self)
{
  return g_hash_table_size (self->buckets);
}
