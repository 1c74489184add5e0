#pragma once

#include <glib.h>

#include "pres-state.h"

G_BEGIN_DECLS

/* The Redis key layout (src/server/redis/presence.lua says what each key
 * holds).  Every key of a participant carries its bucket as the hash tag
 * {b}, so the keys one function call touches share a Redis Cluster slot. */

#define PRES_REDIS_N_BUCKETS 16 /* a power of two, ≥ the shards ever used */
#define PRES_REDIS_EPOCH_KEY "pz:epoch"
#define PRES_REDIS_STREAM_MAXLEN "10000" /* entries kept per bucket, ~ */

/* The field separator of the values the functions write: the wire refuses
 * control characters in strings, so it cannot occur in one. */
#define PRES_REDIS_SEP '\x1f'

/* FNV-1a: stable across nodes and releases, unlike g_str_hash. */
static inline guint
pres_redis_bucket (const char *participant_id)
{
  guint32 h = 2166136261u;

  for (const guchar *p = (const guchar *)participant_id; *p != '\0'; p++)
    h = (h ^ *p) * 16777619u;
  return h & (PRES_REDIS_N_BUCKETS - 1);
}

static inline char *
pres_redis_key (guint bucket, const char *what)
{
  return g_strdup_printf ("pz:{%u}:%s", bucket, what);
}

static inline char *
pres_redis_device_key (const char *participant_id)
{
  return g_strdup_printf ("pz:{%u}:d:%s", pres_redis_bucket (participant_id), participant_id);
}

/* One side of a conversation, in the viewer's bucket: a read of what one
 * viewer may see through touches one slot.  '\x1f' cannot occur in an id. */
static inline char *
pres_redis_conversation_key (const char *viewer_id, const char *other_id)
{
  return g_strdup_printf ("pz:{%u}:c:%s\x1f%s", pres_redis_bucket (viewer_id), viewer_id,
                          other_id);
}

/* States as the functions write them. */
static inline char
pres_redis_state_to_char (PresState state)
{
  static const char chars[] = { [PRES_STATE_OFFLINE] = 'f',
                                [PRES_STATE_ONLINE] = 'o',
                                [PRES_STATE_IDLE] = 'i',
                                [PRES_STATE_BUSY] = 'b',
                                [PRES_STATE_APPEAR_OFFLINE] = 'x' };

  return state < G_N_ELEMENTS (chars) ? chars[state] : 'f';
}

static inline gboolean
pres_redis_state_from_char (char c, PresState *state)
{
  switch (c)
    {
      case 'f':
        *state = PRES_STATE_OFFLINE;
        return TRUE;
      case 'o':
        *state = PRES_STATE_ONLINE;
        return TRUE;
      case 'i':
        *state = PRES_STATE_IDLE;
        return TRUE;
      case 'b':
        *state = PRES_STATE_BUSY;
        return TRUE;
      case 'x':
        *state = PRES_STATE_APPEAR_OFFLINE;
        return TRUE;
      default:
        return FALSE;
    }
}

G_END_DECLS
