#define G_LOG_DOMAIN "pres-redis"

#include <string.h>

#include "pres-redis-store-private.h"

/* The appear_offline exception on Redis: each side of a conversation is a
 * key of its own in that side's bucket, expiring with the exception (PXAT),
 * so every node sees it and it goes without a sweep.  Recording writes both
 * sides (two slots in a Redis Cluster, so two calls); a read of one viewer
 * is one MGET in the viewer's slot. */

typedef struct
{
  PresStoreConversationFunc callback;
  gpointer user_data;
  guint waiting;
  gint64 at_ms;
  gint64 expires_at_ms;
  GError *error;
} RecordCall;

static gboolean
reply_integer (redisReply *reply, gint64 *value)
{
  return reply->type == REDIS_REPLY_STRING
         && g_ascii_string_to_signed (reply->str, 10, 0, G_MAXINT64, value, NULL);
}

/* Both sides answer the same unless a newer conversation raced this one on
 * one side only; the later deadline is what the pair then grants. */
static void
record_side_done (gpointer owner, redisReply *reply, const GError *error, gpointer data)
{
  RecordCall *call = data;
  gint64 at_ms, expires_at_ms;

  if (call->error == NULL)
    {
      if (error != NULL)
        call->error = pres_redis_store_unavailable (error);
      else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
               || !reply_integer (reply->element[0], &at_ms)
               || !reply_integer (reply->element[1], &expires_at_ms))
        call->error = g_error_new (PRES_STORE_ERROR, PRES_STORE_ERROR_UNAVAILABLE,
                                   "store unavailable: unexpected reply from Redis");
      else if (expires_at_ms > call->expires_at_ms)
        {
          call->at_ms = at_ms;
          call->expires_at_ms = expires_at_ms;
        }
    }
  if (--call->waiting > 0)
    return;
  call->callback (call->at_ms, call->expires_at_ms, call->error, call->user_data);
  g_clear_error (&call->error);
  g_free (call);
}

void
pres_redis_store_record_conversation (PresStore *store,
                                      const char *a,
                                      const char *b,
                                      gint64 at_ms,
                                      gint64 expires_at_ms,
                                      PresStoreConversationFunc callback,
                                      gpointer user_data)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  RecordCall *call = g_new0 (RecordCall, 1);
  char at[G_ASCII_DTOSTR_BUF_SIZE], expires_at[G_ASCII_DTOSTR_BUF_SIZE];
  const char *sides[2][2] = { { a, b }, { b, a } };

  call->callback = callback;
  call->user_data = user_data;
  call->waiting = G_N_ELEMENTS (sides);
  g_snprintf (at, sizeof at, "%" G_GINT64_FORMAT, at_ms);
  g_snprintf (expires_at, sizeof expires_at, "%" G_GINT64_FORMAT, expires_at_ms);
  for (guint i = 0; i < G_N_ELEMENTS (sides); i++)
    {
      g_autofree char *key = pres_redis_conversation_key (sides[i][0], sides[i][1]);
      g_autofree char *events = pres_redis_key (pres_redis_bucket (sides[i][0]), "ev");

      pres_redis_lua_call (self->lua, PRES_REDIS_LUA_CONVERSATION,
                           (const char *const[]){ key, events, NULL },
                           (const char *const[]){ at, expires_at, sides[i][0], sides[i][1],
                                                  PRES_REDIS_STREAM_MAXLEN, NULL },
                           record_side_done, call);
    }
}

typedef struct
{
  PresStoreGrantsFunc callback;
  gpointer user_data;
  guint n_ids;
  gint64 *until_ms;
} GrantsCall;

static void
grants_reply (PresRedisConnection *conn, redisReply *reply, const GError *error, gpointer user_data)
{
  g_autofree GrantsCall *call = user_data;
  g_autofree gint64 *until_ms = call->until_ms;
  g_autoptr (GError) local = NULL;

  if (error != NULL)
    local = pres_redis_store_unavailable (error);
  else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != call->n_ids)
    local = g_error_new (PRES_STORE_ERROR, PRES_STORE_ERROR_UNAVAILABLE,
                         "store unavailable: unexpected reply from Redis");
  if (local != NULL)
    {
      call->callback (NULL, local, call->user_data);
      return;
    }
  /* Redis never answers with a key past its PXAT, swept or not. */
  for (guint i = 0; i < call->n_ids; i++)
    {
      redisReply *value = reply->element[i];
      const char *sep = value->type == REDIS_REPLY_STRING ? strchr (value->str, PRES_REDIS_SEP)
                                                          : NULL;

      if (until_ms[i] != 0 && sep != NULL
          && g_ascii_string_to_signed (sep + 1, 10, 1, G_MAXINT64, &until_ms[i], NULL))
        continue;
      until_ms[i] = 0;
    }
  call->callback (until_ms, NULL, call->user_data);
}

void
pres_redis_store_get_grants (PresStore *store,
                             const char *viewer_id,
                             const char *const *participant_ids,
                             guint n_ids,
                             PresStoreGrantsFunc callback,
                             gpointer user_data)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  GrantsCall *call;
  g_autoptr (GPtrArray) argv = NULL;

  if (n_ids == 0)
    {
      callback ((gint64[]){ 0 }, NULL, user_data);
      return;
    }
  call = g_new0 (GrantsCall, 1);
  call->callback = callback;
  call->user_data = user_data;
  call->n_ids = n_ids;
  call->until_ms = g_new0 (gint64, n_ids);
  argv = g_ptr_array_new_full (n_ids + 1, g_free);
  g_ptr_array_add (argv, g_strdup ("MGET"));
  for (guint i = 0; i < n_ids; i++)
    {
      /* Nobody holds a conversation with themselves: 0 stays 0. */
      call->until_ms[i] = g_strcmp0 (viewer_id, participant_ids[i]) != 0;
      g_ptr_array_add (argv, pres_redis_conversation_key (viewer_id, participant_ids[i]));
    }
  pres_redis_connection_command (self->conn, 0, grants_reply, call, argv->len,
                                 (const char **)argv->pdata, NULL);
}
