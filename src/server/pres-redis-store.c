#define G_LOG_DOMAIN "pres-redis"

#include <gio/gio.h>
#include <string.h>

#include "pres-redis-batch.h"
#include "pres-redis-store-private.h"

/* Beyond an outage's length, for agents to beat again: the Retry-After of
 * the HTTP API's 503 and a jittered retry. */
#define OUTAGE_GRACE_US (10 * G_USEC_PER_SEC)

static void pres_redis_store_iface_init (PresStoreInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PresRedisStore,
                         pres_redis_store,
                         G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (PRES_TYPE_STORE, pres_redis_store_iface_init))

GError *
pres_redis_store_unavailable (const GError *cause)
{
  return g_error_new (PRES_STORE_ERROR, PRES_STORE_ERROR_UNAVAILABLE, "store unavailable: %s",
                      cause->message);
}

/* args: NULL-terminated, after the participant's four keys. */
static void
function_call (PresRedisStore       *self,
               PresRedisLuaFunction  function,
               const char           *participant_id,
               const char *const    *args,
               PresRedisLuaDone      done,
               gpointer              data)
{
  g_autofree char *device_key = pres_redis_device_key (participant_id);
  char **bucket_keys = self->bucket_keys[pres_redis_bucket (participant_id)];
  const char *keys[] = { device_key, bucket_keys[0], bucket_keys[1], bucket_keys[2], NULL };

  pres_redis_lua_call (self->lua, function, keys, args, done, data);
}

static const char *
always_arg (PresRedisStore *self,
            const char     *participant_id)
{
  return g_hash_table_contains (self->always_online, participant_id) ? "1" : "0";
}

/* Redis' clock, read once a second and carried forward on our monotonic
 * clock: heartbeats pass it, which spares each of them a TIME inside its
 * function (an eighth of its cost).  It is off by at most half a round
 * trip, and nodes agree with each other as closely. */

typedef struct
{
  PresRedisStore *self;
  gint64 sent_us; /* monotonic */
} ClockSample;

static void
clock_cb (PresRedisConnection *conn,
          redisReply          *reply,
          const GError        *error,
          gpointer             user_data)
{
  g_autofree ClockSample *sample = user_data;
  PresRedisStore *self = sample->self;

  if (error != NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
      || reply->element[0]->str == NULL || reply->element[1]->str == NULL)
    return;
  /* Redis read its clock after sent_us: taking that as the moment makes
   * the reading never earlier than Redis' own, so a member stamped with it
   * never expires before its TTL (at worst a round trip later). */
  self->clock_offset_us = g_ascii_strtoll (reply->element[0]->str, NULL, 10) * G_USEC_PER_SEC
                          + g_ascii_strtoll (reply->element[1]->str, NULL, 10)
                          - sample->sent_us;
  self->clock_known = TRUE;
}

/* Redis' time in ms as a string, rounded up (a stamp is never earlier
 * than the moment), or "" when not read since the connect (the function
 * then asks Redis). */
static char *
redis_now (PresRedisStore *self)
{
  if (!self->clock_known)
    return g_strdup ("");
  return g_strdup_printf ("%" G_GINT64_FORMAT,
                          (g_get_monotonic_time () + self->clock_offset_us + 999) / 1000);
}

/* upsert */

typedef struct
{
  PresStoreUpsertFunc callback;
  gpointer user_data;
} UpsertCall;

static void
upsert_done (gpointer        owner,
             redisReply     *reply,
             const GError   *error,
             gpointer        data)
{
  PresRedisStore *self = owner;
  g_autofree UpsertCall *call = data;
  g_autoptr (GError) local = NULL;
  PresState state = PRES_STATE_OFFLINE;
  char outcome = '\0';

  /* The outcome's letter, then the raw state's (see presence.lua). */
  if (error != NULL)
    local = pres_redis_store_unavailable (error);
  else if (reply->type != REDIS_REPLY_STRING || reply->len != 2
           || !pres_redis_state_from_char (reply->str[1], &state))
    local = g_error_new (PRES_STORE_ERROR, PRES_STORE_ERROR_UNAVAILABLE,
                         "store unavailable: unexpected reply from Redis");
  else
    outcome = reply->str[0];
  if (local != NULL)
    {
      call->callback (PRES_UPSERT_STALE, PRES_STATE_OFFLINE, local, call->user_data);
      return;
    }
  switch (outcome)
    {
      case 'n':
        self->cached_instances++;
        /* fall through */
      case 'a':
        call->callback (PRES_UPSERT_APPLIED, state, NULL, call->user_data);
        return;
      case 't':
        local = g_error_new (PRES_STORE_ERROR, PRES_STORE_ERROR_TOO_MANY_INSTANCES,
                             "instance_id: at most %d instances per participant are allowed",
                             PRES_STORE_MAX_INSTANCES_PER_PARTICIPANT);
        break;
      case 'f':
        local = g_error_new (PRES_STORE_ERROR, PRES_STORE_ERROR_FULL,
                             "server: at most %u instances are allowed, try again later",
                             self->max_instances);
        break;
      case 's':
        break;
      default:
        local = g_error_new (PRES_STORE_ERROR, PRES_STORE_ERROR_UNAVAILABLE,
                             "store unavailable: unexpected reply from Redis");
        break;
    }
  call->callback (PRES_UPSERT_STALE, state, local, call->user_data);
}

static void
pres_redis_store_upsert (PresStore           *store,
                         const char          *participant_id,
                         const char          *instance_id,
                         PresHeartbeat       *heartbeat,
                         PresStoreUpsertFunc  callback,
                         gpointer             user_data)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  g_autoptr (PresHeartbeat) hb = heartbeat;
  g_autofree char *details = pres_redis_details_pack (hb);
  g_autofree char *seq = g_strdup_printf ("%" G_GUINT64_FORMAT, hb->seq);
  g_autofree char *now = redis_now (self);
  g_autofree char *ttl = hb->ttl_ms != PRES_HEARTBEAT_TTL_ABSENT
                           ? g_strdup_printf ("%" G_GINT64_FORMAT, hb->ttl_ms)
                           : NULL;
  UpsertCall *call = g_new (UpsertCall, 1);
  const char state[] = { pres_redis_state_to_char (hb->state), '\0' };
  const char *args[] = {
    participant_id,
    instance_id,
    state,
    hb->session,
    seq,
    details,
    ttl != NULL ? ttl : self->ttl_ms,
    always_arg (self, participant_id),
    self->cached_instances < self->max_instances ? "1" : "0",
    G_STRINGIFY (PRES_STORE_MAX_INSTANCES_PER_PARTICIPANT),
    PRES_REDIS_STREAM_MAXLEN,
    now,
    NULL,
  };

  call->callback = callback;
  call->user_data = user_data;
  function_call (self, PRES_REDIS_LUA_HEARTBEAT, participant_id, args, upsert_done, call);
}

/* leave */

typedef struct
{
  PresStoreLeaveFunc callback;
  gpointer user_data;
} LeaveCall;

static void
leave_done (gpointer        owner,
            redisReply     *reply,
            const GError   *error,
            gpointer        data)
{
  PresRedisStore *self = owner;
  g_autofree LeaveCall *call = data;
  g_autoptr (GError) local = NULL;
  gboolean removed;

  if (error != NULL)
    local = pres_redis_store_unavailable (error);
  else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
           || reply->element[0]->type != REDIS_REPLY_INTEGER)
    local = g_error_new (PRES_STORE_ERROR, PRES_STORE_ERROR_UNAVAILABLE,
                         "store unavailable: unexpected reply from Redis");
  if (local != NULL)
    {
      call->callback (FALSE, local, call->user_data);
      return;
    }
  removed = reply->element[0]->integer == 1;
  if (removed && self->cached_instances > 0)
    self->cached_instances--;
  call->callback (removed, NULL, call->user_data);
}

static void
pres_redis_store_leave (PresStore          *store,
                        const char         *participant_id,
                        const char         *instance_id,
                        const char         *session,
                        const char         *client_reason,
                        const char         *data,
                        PresStoreLeaveFunc  callback,
                        gpointer            user_data)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  LeaveCall *call = g_new (LeaveCall, 1);
  /* "+" marks a text given, so that an empty one is not lost. */
  g_autofree char *reason_arg = g_strconcat (client_reason != NULL ? "+" : "", client_reason, NULL);
  g_autofree char *data_arg = g_strconcat (data != NULL ? "+" : "", data, NULL);
  const char *args[] = { participant_id,
                         instance_id,
                         session,
                         self->ttl_ms,
                         always_arg (self, participant_id),
                         PRES_REDIS_STREAM_MAXLEN,
                         reason_arg,
                         data_arg,
                         NULL };

  call->callback = callback;
  call->user_data = user_data;
  function_call (self, PRES_REDIS_LUA_LEAVE, participant_id, args, leave_done, call);
}

/* Counts: the buckets' counters, summed. */

typedef struct
{
  PresRedisStore *self;
  PresStoreCountsFunc callback; /* NULL: refreshes the cap's view only */
  gpointer user_data;
  gint64 instances;
  gint64 participants;
} CountsCall;

static void
counts_reply (redisReply *reply,
              guint       index,
              gpointer    user_data)
{
  CountsCall *call = user_data;

  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
    return;
  if (reply->element[0]->str != NULL)
    call->instances += g_ascii_strtoll (reply->element[0]->str, NULL, 10);
  if (reply->element[1]->str != NULL)
    call->participants += g_ascii_strtoll (reply->element[1]->str, NULL, 10);
}

static void
counts_done (const GError *error,
             gpointer      user_data)
{
  g_autofree CountsCall *call = user_data;
  g_autoptr (GError) local = error != NULL ? pres_redis_store_unavailable (error) : NULL;
  PresStoreCounts counts = { .instances = CLAMP (call->instances, 0, G_MAXUINT),
                             .participants = CLAMP (call->participants, 0, G_MAXUINT) };

  if (local == NULL)
    call->self->cached_instances = counts.instances;
  if (call->callback != NULL)
    call->callback (local == NULL ? &counts : NULL, local, call->user_data);
}

static void
pres_redis_store_get_counts (PresStore           *store,
                             PresStoreCountsFunc  callback,
                             gpointer             user_data)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);
  CountsCall *call = g_new0 (CountsCall, 1);
  PresRedisBatch *batch = pres_redis_batch_new (self->conn, counts_reply, counts_done, call);

  call->self = self;
  call->callback = callback;
  call->user_data = user_data;
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    pres_redis_batch_add (batch, 4,
                          (const char *[]) { "HMGET", self->bucket_keys[b][2], "i", "p" });
  pres_redis_batch_close (batch);
}

void
pres_redis_store_refresh (PresRedisStore *self)
{
  ClockSample *sample = g_new (ClockSample, 1);

  pres_redis_connection_check_epoch (self->conn);
  sample->self = self;
  sample->sent_us = g_get_monotonic_time ();
  pres_redis_connection_command (self->conn, 0, clock_cb, sample, 1, (const char *[]) { "TIME" },
                                 NULL);
  pres_redis_store_get_counts (PRES_STORE (self), NULL, NULL);
}

/* always-online, and the sweeper's settling */

void
pres_redis_store_settle (PresRedisStore   *self,
                         const char       *participant_id,
                         gboolean          only_if_due,
                         gint64            cut_ms,
                         PresRedisLuaDone  done,
                         gpointer          data)
{
  g_autofree char *cut = cut_ms != 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, cut_ms) : NULL;
  const char *args[] = { participant_id,
                         self->ttl_ms,
                         always_arg (self, participant_id),
                         PRES_REDIS_STREAM_MAXLEN,
                         only_if_due ? "1" : "0",
                         cut != NULL ? cut : "",
                         NULL };

  function_call (self, PRES_REDIS_LUA_SETTLE, participant_id, args, done, data);
}

static void
settle_done (gpointer      owner,
             redisReply   *reply,
             const GError *error,
             gpointer      data)
{
}

static void
settle (PresRedisStore *self,
        const char     *participant_id)
{
  pres_redis_store_settle (self, participant_id, FALSE, 0, settle_done, NULL);
}

static void
pres_redis_store_set_always_online (PresStore  *store,
                                    const char *participant_id)
{
  PresRedisStore *self = PRES_REDIS_STORE (store);

  g_hash_table_add (self->always_online, g_strdup (participant_id));
  /* Applied now if connected, and again at every connect (after a flush
   * the aggregate is gone). */
  if (pres_redis_connection_is_connected (self->conn))
    settle (self, participant_id);
}

/* Connection events. */

static void
connected_cb (PresRedisConnection *conn,
              PresRedisStore      *self)
{
  GHashTableIter iter;
  gpointer pid;
  gint64 now_ms, grace_us, hold_from_ms;

  pres_redis_lua_load (self->lua);
  /* Deadlines that passed while we (or Redis) were away are the outage's,
   * not the agents': those agents had heartbeats refused with a
   * Retry-After, and get that long plus the outage's length (at most a
   * TTL) to beat again before they are swept.  Deadlines from before the
   * outage are swept as usual.  After a start nothing is known of what
   * happened before, so every deadline waits a TTL.  Other nodes that kept
   * their connection sweep meanwhile. */
  now_ms = g_get_real_time () / 1000;
  if (self->outage_start_ms == 0)
    {
      hold_from_ms = 0;
      grace_us = self->ttl_us;
    }
  else
    {
      hold_from_ms = self->outage_start_ms;
      grace_us = MIN (self->ttl_us, (now_ms - self->outage_start_ms) * 1000 + OUTAGE_GRACE_US);
    }
  pres_redis_sweeper_hold (self->sweeper, hold_from_ms, g_get_monotonic_time () + grace_us);
  self->outage_start_ms = 0;
  g_hash_table_iter_init (&iter, self->always_online);
  while (g_hash_table_iter_next (&iter, &pid, NULL))
    settle (self, pid);
}

static void
disconnected_cb (PresRedisConnection *conn,
                 const char          *why,
                 PresRedisStore      *self)
{
  if (self->outage_start_ms == 0)
    self->outage_start_ms = g_get_real_time () / 1000;
  self->clock_known = FALSE; /* perhaps another Redis next */
}

static gboolean
reset_cb (gpointer user_data)
{
  PresRedisStore *self = user_data;

  self->reset_id = 0;
  pres_store_emit_reset (PRES_STORE (self));
  return G_SOURCE_REMOVE;
}

static void
epoch_cb (PresRedisConnection *conn,
          const char          *epoch,
          gboolean             changed,
          PresRedisStore      *self)
{
  GHashTableIter iter;
  gpointer pid;

  if (!changed)
    return;
  /* Everything is gone: the agents' next heartbeats restore it, without an
   * offline for anyone (nothing is left to expire).  Always-online
   * participants are restored now. */
  self->cached_instances = 0;
  g_hash_table_iter_init (&iter, self->always_online);
  while (g_hash_table_iter_next (&iter, &pid, NULL))
    settle (self, pid);
  /* Those whose agent died meanwhile would stay online to subscribers:
   * once the live ones have beaten again, readers read again. */
  g_clear_handle_id (&self->reset_id, g_source_remove);
  self->reset_id = g_timeout_add (self->ttl_us / 1000, reset_cb, self);
}

static void
event_cb (const char *participant_id,
          PresState   old_state,
          PresState   new_state,
          gpointer    user_data)
{
  pres_store_emit_state_changed (user_data, participant_id, old_state, new_state, "event stream");
}

static void
member_cb (PresMemberEvent *event,
           gpointer         user_data)
{
  pres_store_emit_member_event (user_data, event);
}

static void
grant_cb (const char *viewer_id,
          const char *participant_id,
          gint64      until_ms,
          gpointer    user_data)
{
  pres_store_emit_granted (user_data, viewer_id, participant_id, until_ms);
}

typedef struct
{
  PresRedisStore *self;
  PresRedisSyncFunc func;
  gpointer user_data;
  char *ids[PRES_REDIS_N_BUCKETS];
  gboolean failed;
} SyncCall;

static void
sync_reply (redisReply *reply,
            guint       bucket,
            gpointer    user_data)
{
  SyncCall *call = user_data;
  const char *newest = pres_redis_events_newest_id (reply);

  if (newest == NULL)
    call->failed = TRUE;
  else
    call->ids[bucket] = g_strdup (newest);
}

static void
sync_done (const GError *error,
           gpointer      user_data)
{
  SyncCall *call = user_data;

  if (error != NULL || call->failed || call->self->events == NULL)
    call->func (call->user_data);
  else
    pres_redis_events_wait (call->self->events, (const char *const *)call->ids, call->func,
                            call->user_data);
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    g_free (call->ids[b]);
  g_free (call);
}

void
pres_redis_store_sync (PresRedisStore  *self,
                       void           (*func) (gpointer user_data),
                       gpointer         user_data)
{
  SyncCall *call = g_new0 (SyncCall, 1);
  PresRedisBatch *batch = pres_redis_batch_new (self->conn, sync_reply, sync_done, call);

  call->self = self;
  call->func = func;
  call->user_data = user_data;
  /* The streams' ends now; then wait for the reader to get there. */
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    pres_redis_batch_add (
      batch, 6,
      (const char *[]) { "XREVRANGE", self->bucket_keys[b][1], "+", "-", "COUNT", "1" });
  pres_redis_batch_close (batch);
}

gboolean
pres_redis_store_is_ready (PresRedisStore *self)
{
  return pres_redis_connection_is_connected (self->conn)
         && pres_redis_connection_get_epoch (self->conn) != NULL
         && pres_redis_events_is_primed (self->events);
}

static void
pres_redis_store_iface_init (PresStoreInterface *iface)
{
  iface->upsert = pres_redis_store_upsert;
  iface->leave = pres_redis_store_leave;
  iface->get_states = pres_redis_store_get_states;
  iface->list_instances = pres_redis_store_list_instances;
  iface->list_members = pres_redis_store_list_members;
  iface->get_counts = pres_redis_store_get_counts;
  iface->set_always_online = pres_redis_store_set_always_online;
  iface->record_conversation = pres_redis_store_record_conversation;
  iface->get_grants = pres_redis_store_get_grants;
  iface->get_cursor = pres_redis_store_get_cursor;
  iface->cursor_covers = pres_redis_store_cursor_covers;
  iface->replay = pres_redis_store_replay;
}

static void
pres_redis_store_dispose (GObject *object)
{
  PresRedisStore *self = PRES_REDIS_STORE (object);

  g_clear_handle_id (&self->reset_id, g_source_remove);
  g_clear_pointer (&self->events, pres_redis_events_free);
  /* Fails what is pending: every call is answered, UNAVAILABLE. */
  if (self->conn != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->conn, self);
      g_object_run_dispose (G_OBJECT (self->conn));
      g_clear_object (&self->conn);
    }
  /* After the connection: its failed commands still reach the sweeper. */
  g_clear_pointer (&self->sweeper, pres_redis_sweeper_free);
  G_OBJECT_CLASS (pres_redis_store_parent_class)->dispose (object);
}

static void
pres_redis_store_finalize (GObject *object)
{
  PresRedisStore *self = PRES_REDIS_STORE (object);

  g_free (self->ttl_ms);
  g_clear_pointer (&self->always_online, g_hash_table_unref);
  /* After the connection: its failed commands still reach it. */
  g_clear_pointer (&self->lua, pres_redis_lua_free);
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    for (guint k = 0; k < 3; k++)
      g_free (self->bucket_keys[b][k]);
  G_OBJECT_CLASS (pres_redis_store_parent_class)->finalize (object);
}

static void
pres_redis_store_class_init (PresRedisStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pres_redis_store_dispose;
  object_class->finalize = pres_redis_store_finalize;
}

static void
pres_redis_store_init (PresRedisStore *self)
{
  self->always_online = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

PresStore *
pres_redis_store_new (const char  *address,
                      guint        ttl_ms,
                      guint        max_instances,
                      GError     **error)
{
  g_autoptr (PresRedisStore) self = g_object_new (PRES_TYPE_REDIS_STORE, NULL);
  g_autoptr (PresRedisConnection) reader = NULL;

  self->conn = pres_redis_connection_new (address, "commands", error);
  if (self->conn == NULL)
    return NULL;
  reader = pres_redis_connection_new (address, "event stream", error);
  if (reader == NULL)
    return NULL;
  self->ttl_ms = g_strdup_printf ("%u", ttl_ms);
  self->ttl_us = (gint64)ttl_ms * 1000;
  self->max_instances = max_instances;
  self->lua = pres_redis_lua_new (self->conn, self);
  for (guint b = 0; b < PRES_REDIS_N_BUCKETS; b++)
    {
      self->bucket_keys[b][0] = pres_redis_key (b, "dl");
      self->bucket_keys[b][1] = pres_redis_key (b, "ev");
      self->bucket_keys[b][2] = pres_redis_key (b, "n");
    }

  pres_redis_connection_set_epoch_key (self->conn, PRES_REDIS_EPOCH_KEY);
  g_signal_connect (self->conn, "connected", G_CALLBACK (connected_cb), self);
  g_signal_connect (self->conn, "epoch", G_CALLBACK (epoch_cb), self);
  g_signal_connect (self->conn, "disconnected", G_CALLBACK (disconnected_cb), self);
  pres_redis_connection_start (self->conn);
  self->events = pres_redis_events_new (reader, event_cb, self);
  pres_redis_events_set_grant_func (self->events, grant_cb);
  pres_redis_events_set_member_func (self->events, member_cb);

  /* As the memory store's: the period bounds the detection delay. */
  self->sweeper = pres_redis_sweeper_new (self, self->conn, CLAMP (ttl_ms / 8, 10, 500));
  return PRES_STORE (g_steal_pointer (&self));
}
