#define G_LOG_DOMAIN "pres-redis"

#include <string.h>

#include "pres-redis-batch.h"
#include "pres-redis-entry.h"
#include "pres-redis-store-private.h"

/* Cursors and replays.  A cursor is the store epoch and, per bucket, the id
 * of the last event-stream entry this node's reader emitted:
 * "<epoch>.<id of bucket 0>.….<id of bucket 15>".  Stream ids are Redis'
 * own, the same on every node, so a cursor taken on one node resumes on
 * any other of the same Redis.
 *
 * A replay reads, in one round trip, the epoch and, for each bucket that
 * holds an id asked, the stream's entries after the cursor's id up to the
 * id the reader had emitted when the call was made (what comes later
 * reaches the caller through the signals), beside XINFO STREAM: an entry
 * trimmed after the cursor's id (MAXLEN) is a gap, and the cursor does not
 * resume. */

#define CURSOR_SEP '.'

char *
pres_redis_store_get_cursor (PresStore *store)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  const char *epoch = pres_redis_connection_get_epoch (self->conn);
  char *ids[PRES_REDIS_N_BUCKETS];
  GString *out;

  /* Not ready yet: a cursor that resumes nothing. */
  if (epoch == NULL || !pres_redis_events_get_position (self->events, ids))
    return g_strdup ("");
  out = g_string_new (epoch);
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    {
      g_string_append_c (out, CURSOR_SEP);
      g_string_append (out, ids[b]);
      g_free (ids[b]);
    }
  return g_string_free (out, FALSE);
}

gboolean
pres_redis_store_cursor_covers (PresStore             *store,
                                const char            *cursor,
                                const PresMemberEvent *event)
{
  g_auto (GStrv) parts = g_strsplit (cursor, (char[]){ CURSOR_SEP, '\0' }, -1);
  PresRedisStreamId at, id = { event->order[0], event->order[1] };

  return g_strv_length (parts) == PRES_REDIS_N_BUCKETS + 1 && event->shard < PRES_REDIS_N_BUCKETS
         && g_strcmp0 (parts[0], pres_redis_connection_get_epoch (PRES_REDIS_STORE (store)->conn)) == 0
         && pres_redis_stream_id_parse (parts[event->shard + 1], &at)
         && pres_redis_stream_id_compare (&id, &at) <= 0;
}

typedef struct
{
  PresRedisStreamId id;
  guint bucket;
  PresMemberEvent *event;
} Replayed;

typedef struct
{
  PresRedisStore *self;
  PresStoreReplayFunc callback;
  gpointer user_data;
  char *epoch;
  char *after[PRES_REDIS_N_BUCKETS]; /* the cursor's ids */
  char *until[PRES_REDIS_N_BUCKETS]; /* the reader's when called: the end */
  guint buckets[PRES_REDIS_N_BUCKETS]; /* those read, in the batch's order */
  guint n_buckets;
  GHashTable *asked;
  GHashTable *changed; /* of the ids asked: those with a state change */
  GPtrArray *changed_ids;
  GArray *events; /* of Replayed */
  gboolean stale;  /* another epoch, or a gap */
  gboolean failed; /* a reply that is none of Redis' */
} ReplayCall;

static void
replay_call_free (ReplayCall *call)
{
  g_free (call->epoch);
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    {
      g_free (call->after[b]);
      g_free (call->until[b]);
    }
  g_hash_table_unref (call->asked);
  g_hash_table_unref (call->changed);
  g_ptr_array_unref (call->changed_ids);
  for (guint i = 0; i < call->events->len; i++)
    pres_member_event_unref (g_array_index (call->events, Replayed, i).event);
  g_array_unref (call->events);
  g_free (call);
}

/* "<epoch>.<id>…" into call->epoch and call->after; FALSE when malformed. */
static gboolean
cursor_parse (const char *cursor,
              ReplayCall *call)
{
  g_auto (GStrv) parts = g_strsplit (cursor, (char[]){ CURSOR_SEP, '\0' }, -1);
  PresRedisStreamId id;

  if (g_strv_length (parts) != PRES_REDIS_N_BUCKETS + 1 || parts[0][0] == '\0')
    return FALSE;
  /* The last id possible has no exclusive start after it. */
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    if (!pres_redis_stream_id_parse (parts[b + 1], &id)
        || (id.ms == G_MAXUINT64 && id.seq == G_MAXUINT64))
      return FALSE;
  call->epoch = g_strdup (parts[0]);
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    call->after[b] = g_strdup (parts[b + 1]);
  return TRUE;
}

/* A value of XINFO STREAM's reply, a flat list of names and values (RESP2). */
static const redisReply *
info_field (const redisReply *info,
            const char       *name)
{
  for (size_t k = 0; k + 1 < info->elements; k += 2)
    if (info->element[k]->str != NULL && g_str_equal (info->element[k]->str, name))
      return info->element[k + 1];
  return NULL;
}

/* Were entries after the cursor's id trimmed (MAXLEN)?  Trimming removes
 * the oldest first, and the cursor's id is that of an entry the reader
 * emitted: while that entry is still there (the first kept is not after
 * it) nothing after it is gone.  Without an entry before the cursor (it
 * was taken on an empty stream: 0-0), anything ever trimmed came after it.
 * XDEL would say so in max-deleted-entry-id, but trimming does not.  What
 * cannot be told (a stream that is not there, a reply that does not say)
 * counts as a gap: the caller sends a snapshot. */
static gboolean
stream_has_gap (const redisReply *info,
                const char       *after_text)
{
  const redisReply *length, *first, *last, *added;
  PresRedisStreamId after, kept;
  gboolean from_start;

  if (!pres_redis_stream_id_parse (after_text, &after))
    return TRUE;
  from_start = after.ms == 0 && after.seq == 0;
  if (info->type != REDIS_REPLY_ARRAY)
    return !from_start;
  length = info_field (info, "length");
  added = info_field (info, "entries-added");
  first = info_field (info, "first-entry");
  last = info_field (info, "last-generated-id");
  if (length == NULL || length->type != REDIS_REPLY_INTEGER)
    return TRUE;
  if (from_start)
    return added == NULL || added->type != REDIS_REPLY_INTEGER || added->integer > length->integer;
  if (length->integer == 0)
    return last == NULL || !pres_redis_stream_id_parse (last->str, &kept)
           || pres_redis_stream_id_compare (&after, &kept) < 0;
  return first == NULL || first->type != REDIS_REPLY_ARRAY || first->elements < 1
         || !pres_redis_stream_id_parse (first->element[0]->str, &kept)
         || pres_redis_stream_id_compare (&kept, &after) > 0;
}

static void
entries_add (ReplayCall       *call,
             guint             bucket,
             const redisReply *reply)
{
  if (reply->type != REDIS_REPLY_ARRAY)
    {
      call->failed = TRUE;
      return;
    }
  for (size_t e = 0; e < reply->elements; e++)
    {
      g_auto (PresRedisEntry) entry = { 0 };
      Replayed replayed = { .bucket = bucket };
      const redisReply *raw = reply->element[e];

      if (!pres_redis_entry_parse (raw, &entry)
          || !pres_redis_stream_id_parse (raw->element[0]->str, &replayed.id)
          || !g_hash_table_contains (call->asked, entry.participant_id))
        continue;
      if (entry.kind == PRES_REDIS_ENTRY_STATE
          && !g_hash_table_contains (call->changed, entry.participant_id))
        {
          char *id = g_strdup (entry.participant_id);

          g_hash_table_add (call->changed, id);
          g_ptr_array_add (call->changed_ids, id);
        }
      else if (entry.kind == PRES_REDIS_ENTRY_MEMBER)
        {
          entry.member->shard = bucket;
          replayed.event = g_steal_pointer (&entry.member);
          g_array_append_val (call->events, replayed);
        }
    }
}

static void
replay_reply (redisReply *reply,
              guint       index,
              gpointer    user_data)
{
  ReplayCall *call = user_data;
  guint bucket;

  if (index == 0)
    {
      if (reply->type != REDIS_REPLY_STRING || !g_str_equal (reply->str, call->epoch))
        call->stale = TRUE;
      return;
    }
  bucket = call->buckets[(index - 1) / 2];
  if ((index - 1) % 2 == 0)
    call->stale = call->stale || stream_has_gap (reply, call->after[bucket]);
  else
    entries_add (call, bucket, reply);
}

static int
replayed_compare (gconstpointer a,
                  gconstpointer b)
{
  const Replayed *x = a, *y = b;
  int by_id = pres_redis_stream_id_compare (&x->id, &y->id);

  if (by_id != 0)
    return by_id;
  return x->bucket < y->bucket ? -1 : x->bucket > y->bucket;
}

static void
replay_done (const GError *error,
             gpointer      user_data)
{
  ReplayCall *call = user_data;
  g_autoptr (GError) local = NULL;
  g_autoptr (GPtrArray) events = NULL;
  g_autoptr (GPtrArray) none = g_ptr_array_new ();

  if (error != NULL)
    local = pres_redis_store_unavailable (error);
  else if (call->failed)
    local = g_error_new (PRES_STORE_ERROR, PRES_STORE_ERROR_UNAVAILABLE,
                         "store unavailable: unexpected reply from Redis");
  if (local != NULL)
    call->callback (FALSE, NULL, NULL, local, call->user_data);
  else if (call->stale)
    call->callback (FALSE, none, none, NULL, call->user_data);
  else
    {
      /* Oldest first across buckets: ids are Redis' clock. */
      g_array_sort (call->events, replayed_compare);
      events = g_ptr_array_new_full (call->events->len, (GDestroyNotify) pres_member_event_unref);
      for (guint i = 0; i < call->events->len; i++)
        g_ptr_array_add (events,
                         g_steal_pointer (&g_array_index (call->events, Replayed, i).event));
      call->callback (TRUE, call->changed_ids, events, NULL, call->user_data);
    }
  replay_call_free (call);
}

/* Sends the call's reads, up to where the reader was when called. */
static void
replay_send (ReplayCall *call)
{
  PresRedisStore *self = call->self;
  PresRedisBatch *batch = pres_redis_batch_new (self->conn, replay_reply, replay_done, call);

  pres_redis_batch_add (batch, 2, (const char *[]) { "GET", PRES_REDIS_EPOCH_KEY });
  for (guint i = 0; i < call->n_buckets; i++)
    {
      guint b = call->buckets[i];
      g_autofree char *start = g_strconcat ("(", call->after[b], NULL);
      const char *key = self->bucket_keys[b][1];

      pres_redis_batch_add (batch, 3, (const char *[]) { "XINFO", "STREAM", key });
      pres_redis_batch_add (batch, 4, (const char *[]) { "XRANGE", key, start, call->until[b] });
    }
  pres_redis_batch_close (batch);
}

/* What the replay gives ends where this node's reader was when called; the
 * signals go on from there.  A cursor from a node that had read further
 * ends later: the replay waits until this reader has read up to it, so
 * that no event the cursor covers comes after the answer (the stream drops
 * those that came during the wait).  Bounded, for a cursor whose entry was
 * trimmed before this node read it (the replay then finds the gap). */
#define CATCH_UP_MS 2000

typedef struct
{
  ReplayCall *call; /* until sent */
  guint timeout_id;
} CatchUp;

static void
catch_up_send (CatchUp *catch_up)
{
  ReplayCall *call = g_steal_pointer (&catch_up->call);

  if (call != NULL)
    replay_send (call);
}

static gboolean
catch_up_timeout_cb (gpointer user_data)
{
  CatchUp *catch_up = user_data;

  catch_up->timeout_id = 0;
  catch_up_send (catch_up);
  return G_SOURCE_REMOVE;
}

static void
caught_up_cb (gpointer user_data)
{
  CatchUp *catch_up = user_data;

  g_clear_handle_id (&catch_up->timeout_id, g_source_remove);
  catch_up_send (catch_up);
  g_free (catch_up);
}

void
pres_redis_store_replay (PresStore           *store,
                         const char          *cursor,
                         const char *const   *participant_ids,
                         guint                n_ids,
                         PresStoreReplayFunc  callback,
                         gpointer             user_data)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  ReplayCall *call = g_new0 (ReplayCall, 1);
  gboolean read[PRES_REDIS_N_BUCKETS] = { FALSE };
  const char *reach[PRES_REDIS_N_BUCKETS];
  CatchUp *catch_up;

  call->self = self;
  call->callback = callback;
  call->user_data = user_data;
  call->asked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  call->changed = g_hash_table_new (g_str_hash, g_str_equal);
  call->changed_ids = g_ptr_array_new_with_free_func (g_free);
  call->events = g_array_new (FALSE, FALSE, sizeof (Replayed));
  if (cursor == NULL || !cursor_parse (cursor, call))
    {
      g_autoptr (GPtrArray) none = g_ptr_array_new ();

      callback (FALSE, none, none, NULL, user_data);
      replay_call_free (call);
      return;
    }
  if (!pres_redis_events_get_position (self->events, call->until))
    {
      g_autoptr (GError) error = g_error_new (PRES_STORE_ERROR, PRES_STORE_ERROR_UNAVAILABLE,
                                              "store unavailable: not connected yet");

      callback (FALSE, NULL, NULL, error, user_data);
      replay_call_free (call);
      return;
    }
  for (guint i = 0; i < n_ids; i++)
    {
      g_hash_table_add (call->asked, g_strdup (participant_ids[i]));
      read[pres_redis_bucket (participant_ids[i])] = TRUE;
    }
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    {
      if (read[b])
        call->buckets[call->n_buckets++] = b;
      reach[b] = read[b] ? call->after[b] : "0-0";
    }
  catch_up = g_new0 (CatchUp, 1);
  catch_up->call = call;
  catch_up->timeout_id = g_timeout_add (CATCH_UP_MS, catch_up_timeout_cb, catch_up);
  pres_redis_events_wait (self->events, reach, caught_up_cb, catch_up);
}
