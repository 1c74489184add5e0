#define G_LOG_DOMAIN "pres-redis"

#include <gio/gio.h>

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

/* Reads: TIME, then one HGET of the aggregate per id, in one round trip.
 * An aggregate whose latest device deadline has passed reads offline even
 * before the sweeper gets to it. */

typedef struct
{
  PresRedisStore *self;
  PresStoreStatesFunc callback;
  gpointer user_data;
  guint n;
  guint answered; /* replies in, TIME's included */
  gint64 now_ms;
  PresState *states;
  GError *error;
} StatesCall;

static void
states_cb (PresRedisConnection *conn,
           redisReply          *reply,
           const GError        *error,
           gpointer             user_data)
{
  StatesCall *call = user_data;
  guint index = call->answered++;

  if (error != NULL && call->error == NULL)
    call->error = pres_redis_store_unavailable (error);
  else if (call->error == NULL && index == 0)
    {
      if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2)
        call->now_ms = g_ascii_strtoll (reply->element[0]->str, NULL, 10) * 1000
                       + g_ascii_strtoll (reply->element[1]->str, NULL, 10) / 1000;
    }
  else if (call->error == NULL)
    {
      PresState state = PRES_STATE_OFFLINE;

      /* "<state>\31<latest last seen>\31…" (presence.lua) */
      if (reply->type == REDIS_REPLY_STRING && reply->len >= 3 && reply->str[1] == PRES_REDIS_SEP)
        {
          gint64 latest = g_ascii_strtoll (reply->str + 2, NULL, 10);

          if (!pres_redis_state_from_char (reply->str[0], &state)
              || (latest != 0 && latest + (gint64)(call->self->ttl_us / 1000) <= call->now_ms))
            state = PRES_STATE_OFFLINE;
        }
      call->states[index - 1] = state;
    }
  if (call->answered < call->n + 1)
    return;
  call->callback (call->error == NULL ? call->states : NULL, call->error, call->user_data);
  g_clear_error (&call->error);
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

  if (n_ids == 0)
    {
      callback ((PresState[]) { PRES_STATE_OFFLINE }, NULL, user_data);
      return;
    }
  call = g_new0 (StatesCall, 1);
  call->self = self;
  call->callback = callback;
  call->user_data = user_data;
  call->n = n_ids;
  call->states = g_new0 (PresState, n_ids);
  pres_redis_connection_command (self->conn, 0, states_cb, call, 1, (const char *[]) { "TIME" },
                                 NULL);
  for (guint i = 0; i < n_ids; i++)
    {
      g_autofree char *key = pres_redis_device_key (participant_ids[i]);

      pres_redis_connection_command (self->conn, 0, states_cb, call, 3,
                                     (const char *[]) { "HGET", key, "_" }, NULL);
    }
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
  guint expected;
  guint answered;
  gint64 now_ms;
  GError *error;
} ListCall;

static void
list_call_finish (ListCall *call)
{
  call->callback (call->error == NULL ? call->infos : NULL, call->error, call->user_data);
  g_clear_error (&call->error);
  g_ptr_array_unref (call->infos);
  g_ptr_array_unref (call->participants);
  g_free (call);
}

static void
list_devices_cb (PresRedisConnection *conn,
                 redisReply          *reply,
                 const GError        *error,
                 gpointer             user_data)
{
  ListCall *call = user_data;
  guint index = call->answered++;

  if (error != NULL && call->error == NULL)
    call->error = pres_redis_store_unavailable (error);
  else if (call->error == NULL && reply->type == REDIS_REPLY_ARRAY)
    {
      const char *pid = call->participants->pdata[index];
      gint64 ttl_ms = call->self->ttl_us / 1000;

      for (size_t i = 0; i + 1 < reply->elements; i += 2)
        {
          PresInstanceInfo *info;

          if (g_str_equal (reply->element[i]->str, "_"))
            continue;
          info = device_unpack (pid, reply->element[i]->str, reply->element[i + 1]->str);
          /* Dead but not swept yet: gone already for readers. */
          if (info != NULL && info->last_seen_ms + ttl_ms > call->now_ms)
            g_ptr_array_add (call->infos, info);
          else
            pres_instance_info_free (info);
        }
    }
  if (call->answered == call->expected)
    list_call_finish (call);
}

static void
list_fetch_devices (ListCall *call)
{
  call->answered = 0;
  call->expected = call->participants->len;
  if (call->expected == 0)
    {
      list_call_finish (call);
      return;
    }
  for (guint i = 0; i < call->participants->len; i++)
    {
      g_autofree char *key = pres_redis_device_key (call->participants->pdata[i]);

      pres_redis_connection_command (call->self->conn, 0, list_devices_cb, call, 2,
                                     (const char *[]) { "HGETALL", key }, NULL);
    }
}

/* TIME, then each bucket's deadline index when listing everyone. */
static void
list_index_cb (PresRedisConnection *conn,
               redisReply          *reply,
               const GError        *error,
               gpointer             user_data)
{
  ListCall *call = user_data;
  guint index = call->answered++;

  if (error != NULL && call->error == NULL)
    call->error = pres_redis_store_unavailable (error);
  else if (call->error == NULL && index == 0 && reply->type == REDIS_REPLY_ARRAY
           && reply->elements == 2)
    call->now_ms = g_ascii_strtoll (reply->element[0]->str, NULL, 10) * 1000
                   + g_ascii_strtoll (reply->element[1]->str, NULL, 10) / 1000;
  else if (call->error == NULL && index > 0 && reply->type == REDIS_REPLY_ARRAY)
    for (size_t i = 0; i < reply->elements; i++)
      g_ptr_array_add (call->participants, g_strdup (reply->element[i]->str));
  if (call->answered < call->expected)
    return;
  if (call->error != NULL)
    list_call_finish (call);
  else
    list_fetch_devices (call);
}

void
pres_redis_store_list_instances (PresStore              *store,
                                 const char             *participant_id,
                                 PresStoreInstancesFunc  callback,
                                 gpointer                user_data)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  ListCall *call = g_new0 (ListCall, 1);

  call->self = self;
  call->callback = callback;
  call->user_data = user_data;
  call->infos = g_ptr_array_new_with_free_func ((GDestroyNotify)pres_instance_info_free);
  call->participants = g_ptr_array_new_with_free_func (g_free);
  if (participant_id != NULL)
    g_ptr_array_add (call->participants, g_strdup (participant_id));
  call->expected = 1 + (participant_id == NULL ? PRES_REDIS_N_BUCKETS : 0);
  pres_redis_connection_command (self->conn, 0, list_index_cb, call, 1, (const char *[]) { "TIME" },
                                 NULL);
  if (participant_id == NULL)
    for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
      pres_redis_connection_command (
        self->conn, 0, list_index_cb, call, 4,
        (const char *[]) { "ZRANGE", self->bucket_keys[b][0], "0", "-1" }, NULL);
}

