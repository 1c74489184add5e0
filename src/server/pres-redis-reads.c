#define G_LOG_DOMAIN "pres-redis"

#include <gio/gio.h>
#include <string.h>

#include "pres-redis-batch.h"
#include "pres-redis-store-private.h"

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
 * Every live device's deadline is at or after the indexed one, so while
 * that has not passed the aggregate is exact.  Where it has, a device may
 * have expired before the sweeper got there: those few participants are
 * settled first, as the sweeper would, and their devices then read and the
 * union taken over the live ones, so a read never shows a member past its
 * deadline.  Settling first puts the expiry into the event log before any
 * reader is told of it: a subscriber that resumes from its cursor knows
 * only what the log said, and would otherwise hear a state it never saw
 * end come back. */

typedef struct
{
  PresRedisStore *self;
  PresStoreStatesFunc callback;
  gpointer user_data;
  gint64 now_ms;
  PresState *states;
  char **ids;      /* copied: the answer comes after the call returned */
  GArray *recheck; /* of guint: indexes into states and ids */
  guint settling;  /* settle replies still to come */
  GError *settle_error;
} StatesCall;

static void
states_call_finish (StatesCall   *call,
                    const GError *error)
{
  g_autoptr (GError) local = error != NULL ? pres_redis_store_unavailable (error) : NULL;

  call->callback (local == NULL ? call->states : NULL, local, call->user_data);
  g_array_unref (call->recheck);
  g_clear_error (&call->settle_error);
  g_strfreev (call->ids);
  g_free (call->states);
  g_free (call);
}

static void
states_reply (redisReply *reply,
              guint       index,
              gpointer    user_data)
{
  StatesCall *call = user_data;
  PresState state = PRES_STATE_OFFLINE;
  const char *indexed;
  guint i = index - 1;

  if (index == 0)
    {
      call->now_ms = time_reply_ms (reply);
      return;
    }
  /* "<state>\31<latest last seen>\31<indexed deadline>" (presence.lua); the
   * deadline is 0 without live devices (an always-online participant): then
   * nothing can expire. */
  if (reply->type == REDIS_REPLY_STRING && reply->len >= 3 && reply->str[1] == PRES_REDIS_SEP
      && pres_redis_state_from_char (reply->str[0], &state)
      && (indexed = strchr (reply->str + 2, PRES_REDIS_SEP)) != NULL)
    {
      gint64 deadline = g_ascii_strtoll (indexed + 1, NULL, 10);

      if (deadline != 0 && deadline <= call->now_ms)
        g_array_append_val (call->recheck, i);
    }
  call->states[i] = state;
}

static void
recheck_reply (redisReply *reply,
               guint       index,
               gpointer    user_data)
{
  StatesCall *call = user_data;
  guint i = g_array_index (call->recheck, guint, index);
  const char *pid = call->ids[i];
  PresState live[PRES_STORE_MAX_INSTANCES_PER_PARTICIPANT];
  guint n_live = 0;

  if (reply->type != REDIS_REPLY_ARRAY)
    return;
  for (size_t k = 0; k + 1 < reply->elements; k += 2)
    {
      const char *name = reply->element[k]->str, *value = reply->element[k + 1]->str;
      g_autoptr (PresInstanceInfo) info = NULL;

      if (name == NULL || value == NULL || g_str_equal (name, "_"))
        continue;
      info = pres_redis_device_unpack (pid, name, value);
      if (info != NULL && info->expires_at_ms > call->now_ms && n_live < G_N_ELEMENTS (live))
        live[n_live++] = info->heartbeat->state;
    }
  call->states[i] =
    pres_store_union (live, n_live, g_hash_table_contains (call->self->always_online, pid));
}

static void
recheck_done (const GError *error,
              gpointer      user_data)
{
  states_call_finish (user_data, error);
}

static void
read_rechecked_devices (StatesCall *call)
{
  PresRedisBatch *batch;

  batch = pres_redis_batch_new (call->self->conn, recheck_reply, recheck_done, call);
  for (guint i = 0; i < call->recheck->len; i++)
    {
      g_autofree char *key =
        pres_redis_device_key (call->ids[g_array_index (call->recheck, guint, i)]);

      pres_redis_batch_add (batch, 2, (const char *[]) { "HGETALL", key });
    }
  pres_redis_batch_close (batch);
}

static void
recheck_settled (gpointer      owner,
                 redisReply   *reply,
                 const GError *error,
                 gpointer      data)
{
  StatesCall *call = data;

  if (error != NULL && call->settle_error == NULL)
    call->settle_error = g_error_copy (error);
  if (--call->settling > 0)
    return;
  if (call->settle_error != NULL)
    states_call_finish (call, call->settle_error);
  else
    read_rechecked_devices (call);
}

static void
states_done (const GError *error,
             gpointer      user_data)
{
  StatesCall *call = user_data;

  if (error != NULL || call->recheck->len == 0)
    {
      states_call_finish (call, error);
      return;
    }
  call->settling = call->recheck->len;
  for (guint i = 0; i < call->recheck->len; i++)
    pres_redis_store_settle (call->self, call->ids[g_array_index (call->recheck, guint, i)],
                             TRUE, 0, recheck_settled, call);
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
  call->recheck = g_array_new (FALSE, FALSE, sizeof (guint));
  call->ids = g_new (char *, n_ids + 1);
  for (guint i = 0; i < n_ids; i++)
    call->ids[i] = g_strdup (participant_ids[i]);
  call->ids[n_ids] = NULL;
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

  if (reply->type != REDIS_REPLY_ARRAY)
    return;
  for (size_t i = 0; i + 1 < reply->elements; i += 2)
    {
      PresInstanceInfo *info;

      if (reply->element[i]->str == NULL || reply->element[i + 1]->str == NULL
          || g_str_equal (reply->element[i]->str, "_"))
        continue;
      info = pres_redis_device_unpack (pid, reply->element[i]->str, reply->element[i + 1]->str);
      /* Dead but not swept yet: gone already for readers. */
      if (info != NULL && info->expires_at_ms > call->now_ms)
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

static ListCall *
list_call_new (PresRedisStore         *self,
               PresStoreInstancesFunc  callback,
               gpointer                user_data)
{
  ListCall *call = g_new0 (ListCall, 1);

  call->self = self;
  call->callback = callback;
  call->user_data = user_data;
  call->infos = g_ptr_array_new_with_free_func ((GDestroyNotify)pres_instance_info_free);
  call->participants = g_ptr_array_new_with_free_func (g_free);
  return call;
}

void
pres_redis_store_list_instances (PresStore              *store,
                                 const char             *participant_id,
                                 PresStoreInstancesFunc  callback,
                                 gpointer                user_data)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  ListCall *call = list_call_new (self, callback, user_data);
  PresRedisBatch *batch;

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

/* The members of the participants asked: TIME, then their device hashes. */
void
pres_redis_store_list_members (PresStore              *store,
                               const char *const      *participant_ids,
                               guint                   n_ids,
                               PresStoreInstancesFunc  callback,
                               gpointer                user_data)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  ListCall *call = list_call_new (self, callback, user_data);
  PresRedisBatch *batch;

  for (guint i = 0; i < n_ids; i++)
    g_ptr_array_add (call->participants, g_strdup (participant_ids[i]));
  batch = pres_redis_batch_new (self->conn, list_index_reply, list_index_done, call);
  pres_redis_batch_add (batch, 1, (const char *[]) { "TIME" });
  pres_redis_batch_close (batch);
}
