#define G_LOG_DOMAIN "pres-server"

#include <math.h>
#include <string.h>

#include "pres-rate-limit.h"

typedef struct
{
  double tokens;
  gint64 updated_us;
  char key[];
} Bucket;

struct _PresRateLimit
{
  double rate;
  double burst;
  guint max_keys;
  GHashTable *buckets; /* key (owned by the bucket) → Bucket */
};

PresRateLimit *
pres_rate_limit_new (double rate,
                     guint  burst,
                     guint  max_keys)
{
  PresRateLimit *self = g_new0 (PresRateLimit, 1);

  self->rate = rate;
  self->burst = MAX (burst, 1);
  self->max_keys = MAX (max_keys, 1);
  self->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
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

static gboolean
bucket_is_full (gpointer key,
                gpointer value,
                gpointer user_data)
{
  PresRateLimit *self = ((gpointer *) user_data)[0];
  gint64 now_us = *(gint64 *) ((gpointer *) user_data)[1];

  refill (self, value, now_us);
  return ((Bucket *) value)->tokens >= self->burst;
}

/* A full bucket is the same as no bucket, so those are forgotten when the
 * table reaches its cap (dev mode accepts any token, so keys are unbounded).
 * This scan runs only at the cap, not per request. */
static void
prune (PresRateLimit *self,
       gint64         now_us)
{
  gpointer data[] = { self, &now_us };

  g_hash_table_foreach_remove (self->buckets, bucket_is_full, data);
  if (g_hash_table_size (self->buckets) >= self->max_keys)
    {
      g_warning ("rate limiter: %u callers are all busy; forgetting their buckets",
                 g_hash_table_size (self->buckets));
      g_hash_table_remove_all (self->buckets);
    }
}

gboolean
pres_rate_limit_take (PresRateLimit *self,
                      const char    *key,
                      gint64         now_us,
                      guint         *retry_after_s)
{
  Bucket *bucket = g_hash_table_lookup (self->buckets, key);

  if (bucket == NULL)
    {
      gsize len = strlen (key);

      if (g_hash_table_size (self->buckets) >= self->max_keys)
        prune (self, now_us);
      bucket = g_malloc (sizeof (Bucket) + len + 1);
      memcpy (bucket->key, key, len + 1);
      bucket->tokens = self->burst;
      bucket->updated_us = now_us;
      g_hash_table_insert (self->buckets, bucket->key, bucket);
    }
  else
    refill (self, bucket, now_us);

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
