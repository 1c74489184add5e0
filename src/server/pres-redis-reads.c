#define G_LOG_DOMAIN "pres-redis"

#include <gio/gio.h>

#include "pres-redis-batch.h"
#include "pres-redis-store-private.h"

/* value: "<state>SEP<last seen ms>SEP<seq>SEP<retired>SEP<session>SEP<details>" (SEP:
 * PRES_REDIS_SEP). */
static PresInstanceInfo *
device_unpack (const char *participant_id,
               const char *instance_id,
               const char *value)
{
  g_auto (GStrv) parts = g_strsplit (value, (char[]){ PRES_REDIS_SEP, '\0' }, -1);
  char **targets[7];
  g_autoptr (PresInstanceInfo) info = g_new0 (PresInstanceInfo, 1);
  PresHeartbeat *hb;

  if (g_strv_length (parts) != 5 + 8)
    return NULL;
  hb = info->heartbeat = pres_heartbeat_new ();
  if (!pres_redis_state_from_char (parts[0][0], &hb->state)
      || !g_ascii_string_to_signed (parts[1], 10, 0, G_MAXINT64, &info->last_seen_ms, NULL)
      || !g_ascii_string_to_unsigned (parts[2], 10, 0, G_MAXUINT64, &hb->seq, NULL))
    return NULL;
  hb->session = g_strdup (parts[4]);
  if (parts[5][0] != '\0'
      && !g_ascii_string_to_signed (parts[5], 10, 0, G_MAXINT32, &hb->last_input_seconds, NULL))
    return NULL;
  targets[0] = &hb->status_text;
  targets[1] = &hb->host;
  targets[2] = &hb->version;
  targets[3] = &hb->device_family;
  targets[4] = &hb->model_identifier;
  targets[5] = &hb->mode;
  targets[6] = &hb->reason;
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    if (parts[6 + i][0] == '+')
      *targets[i] = g_strdup (parts[6 + i] + 1);
  info->participant_id = g_strdup (participant_id);
  info->instance_id = g_strdup (instance_id);
  return g_steal_pointer (&info);
}

/* Redis' TIME reply in ms. */
static gint64
time_reply_ms (redisReply *reply)
{
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
      || reply->element[0]->str == NULL || reply->element[1]->str == NULL)
    return 0;
  return g_ascii_strtoll (reply->element[0]->str, NULL, 10) * 1000
         + g_ascii_strtoll (reply->element[1]->str, NULL, 10) / 1000;
}

/* Reads: TIME, then one HGET of the aggregate per id, in one round trip.
 * An aggregate whose latest device deadline has passed reads offline even
 * before the sweeper gets to it. */

typedef struct
{
  PresRedisStore *self;
  PresStoreStatesFunc callback;
  gpointer user_data;
  gint64 now_ms;
  PresState *states;
} StatesCall;

static void
states_reply (redisReply *reply,
              guint       index,
              gpointer    user_data)
{
  StatesCall *call = user_data;
  PresState state = PRES_STATE_OFFLINE;

  if (index == 0)
    {
      call->now_ms = time_reply_ms (reply);
      return;
    }
  /* "<state>\31<latest last seen>\31…" (presence.lua) */
  if (reply->type == REDIS_REPLY_STRING && reply->len >= 3 && reply->str[1] == PRES_REDIS_SEP)
    {
      gint64 latest = g_ascii_strtoll (reply->str + 2, NULL, 10);

      if (!pres_redis_state_from_char (reply->str[0], &state)
          || (latest != 0 && latest + call->self->ttl_us / 1000 <= call->now_ms))
        state = PRES_STATE_OFFLINE;
    }
  call->states[index - 1] = state;
}

static void
states_done (const GError *error,
             gpointer      user_data)
{
  StatesCall *call = user_data;
  g_autoptr (GError) local = error != NULL ? pres_redis_store_unavailable (error) : NULL;

  call->callback (local == NULL ? call->states : NULL, local, call->user_data);
  g_free (call->states);
  g_free (call);
}

void
pres_redis_store_get_states (PresStore           *store,
                             const char *const   *participant_ids,
                             guint                n_ids,
                             PresStoreStatesFunc  callback,
                             gpointer             user_data)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  StatesCall *call;
  PresRedisBatch *batch;

  if (n_ids == 0)
    {
      callback ((PresState[]) { PRES_STATE_OFFLINE }, NULL, user_data);
      return;
    }
  call = g_new0 (StatesCall, 1);
  call->self = self;
  call->callback = callback;
  call->user_data = user_data;
  call->states = g_new0 (PresState, n_ids);
  batch = pres_redis_batch_new (self->conn, states_reply, states_done, call);
  pres_redis_batch_add (batch, 1, (const char *[]) { "TIME" });
  for (guint i = 0; i < n_ids; i++)
    {
      g_autofree char *key = pres_redis_device_key (participant_ids[i]);

      pres_redis_batch_add (batch, 3, (const char *[]) { "HGET", key, "_" });
    }
  pres_redis_batch_close (batch);
}

/* list_instances: one participant's device hash, or for all of them the
 * participants with a live device (the deadline indexes) and then theirs. */

typedef struct
{
  PresRedisStore *self;
  PresStoreInstancesFunc callback;
  gpointer user_data;
  GPtrArray *infos;
  GPtrArray *participants; /* in the order of the HGETALLs */
  gint64 now_ms;
} ListCall;

static void
list_call_finish (ListCall     *call,
                  const GError *error)
{
  g_autoptr (GError) local = error != NULL ? pres_redis_store_unavailable (error) : NULL;

  call->callback (local == NULL ? call->infos : NULL, local, call->user_data);
  g_ptr_array_unref (call->infos);
  g_ptr_array_unref (call->participants);
  g_free (call);
}

static void
list_devices_reply (redisReply *reply,
                    guint       index,
                    gpointer    user_data)
{
  ListCall *call = user_data;
  const char *pid = call->participants->pdata[index];
  gint64 ttl_ms = call->self->ttl_us / 1000;

  if (reply->type != REDIS_REPLY_ARRAY)
    return;
  for (size_t i = 0; i + 1 < reply->elements; i += 2)
    {
      PresInstanceInfo *info;

      if (reply->element[i]->str == NULL || reply->element[i + 1]->str == NULL
          || g_str_equal (reply->element[i]->str, "_"))
        continue;
      info = device_unpack (pid, reply->element[i]->str, reply->element[i + 1]->str);
      /* Dead but not swept yet: gone already for readers. */
      if (info != NULL && info->last_seen_ms + ttl_ms > call->now_ms)
        g_ptr_array_add (call->infos, info);
      else
        pres_instance_info_free (info);
    }
}

static void
list_devices_done (const GError *error,
                   gpointer      user_data)
{
  list_call_finish (user_data, error);
}

/* TIME, then each bucket's deadline index when listing everyone. */
static void
list_index_reply (redisReply *reply,
                  guint       index,
                  gpointer    user_data)
{
  ListCall *call = user_data;

  if (index == 0)
    call->now_ms = time_reply_ms (reply);
  else if (reply->type == REDIS_REPLY_ARRAY)
    for (size_t i = 0; i < reply->elements; i++)
      {
        /* Members are strings; anything else (a Redis that is not ours) is
         * no participant. */
        if (reply->element[i]->str != NULL)
          g_ptr_array_add (call->participants, g_strdup (reply->element[i]->str));
      }
}

static void
list_index_done (const GError *error,
                 gpointer      user_data)
{
  ListCall *call = user_data;
  PresRedisBatch *batch;

  if (error != NULL)
    {
      list_call_finish (call, error);
      return;
    }
  batch = pres_redis_batch_new (call->self->conn, list_devices_reply, list_devices_done, call);
  for (guint i = 0; i < call->participants->len; i++)
    {
      g_autofree char *key = pres_redis_device_key (call->participants->pdata[i]);

      pres_redis_batch_add (batch, 2, (const char *[]) { "HGETALL", key });
    }
  pres_redis_batch_close (batch);
}

void
pres_redis_store_list_instances (PresStore              *store,
                                 const char             *participant_id,
                                 PresStoreInstancesFunc  callback,
                                 gpointer                user_data)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  ListCall *call = g_new0 (ListCall, 1);
  PresRedisBatch *batch;

  call->self = self;
  call->callback = callback;
  call->user_data = user_data;
  call->infos = g_ptr_array_new_with_free_func ((GDestroyNotify)pres_instance_info_free);
  call->participants = g_ptr_array_new_with_free_func (g_free);
  if (participant_id != NULL)
    g_ptr_array_add (call->participants, g_strdup (participant_id));
  batch = pres_redis_batch_new (self->conn, list_index_reply, list_index_done, call);
  pres_redis_batch_add (batch, 1, (const char *[]) { "TIME" });
  if (participant_id == NULL)
    for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
      pres_redis_batch_add (batch, 4,
                            (const char *[]) { "ZRANGE", self->bucket_keys[b][0], "0", "-1" });
  pres_redis_batch_close (batch);
}
