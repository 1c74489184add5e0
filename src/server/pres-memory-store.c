#define G_LOG_DOMAIN "pres-server"

#include <string.h>

#include "pres-conversation-table.h"
#include "pres-deadline-index.h"
#include "pres-event-log.h"
#include "pres-memory-store.h"
#include "pres-stored-beat.h"

/* One GLib main loop owns the table, so there is no locking.  Entries are
 * small on purpose (the goal is ≤ 300 B per instance): ids live inline at
 * the end of their struct, a heartbeat is one compact block, and the first
 * instance of a participant needs no separate array. */

typedef struct _Participant Participant;

typedef struct
{
  PresDeadlineNode node; /* first member: the sweeper casts nodes back */
  Participant *participant;
  PresStoredBeat *beat; /* g_free() it */
  gint64 last_seen_us;
  /* The hash of the session this one replaced: its late heartbeats are
   * ignored, so an old agent process cannot take the instance back. */
  guint retired_session_hash;
  char id[];
} Instance;

struct _Participant
{
  PresState state;
  gboolean always_online;
  guint n_instances;
  Instance **instances; /* &one until a second instance comes */
  Instance *one;
  char id[];
};

struct _PresMemoryStore
{
  GObject parent_instance;

  gint64 ttl_us;
  guint max_instances;
  guint n_instances;
  GHashTable *participants; /* id (owned by the value) → Participant */
  PresDeadlineIndex *deadlines;
  GSource *sweeper;
  PresConversationTable *conversations;
  PresEventLog *log;
};

/* Stream subscribers resume from the last this many events. */
#define EVENT_LOG_CAPACITY 16384

/* The member events of one change, told once the participant's new state
 * is known, before that state's own change. */
typedef struct
{
  PresMemberEvent *events[2];
  guint n_events;
} MemberEvents;

static void pres_memory_store_iface_init (PresStoreInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PresMemoryStore, pres_memory_store, G_TYPE_OBJECT,
                         G_IMPLEMENT_INTERFACE (PRES_TYPE_STORE, pres_memory_store_iface_init))

static void
instance_free (Instance *inst)
{
  g_free (inst->beat);
  g_free (inst);
}

static void
participant_free (Participant *p)
{
  for (guint i = 0; i < p->n_instances; i++)
    instance_free (p->instances[i]);
  if (p->instances != &p->one)
    g_free (p->instances);
  g_free (p);
}

static Participant *
participant_ensure (PresMemoryStore *self,
                    const char      *participant_id)
{
  Participant *p = g_hash_table_lookup (self->participants, participant_id);
  gsize len;

  if (p != NULL)
    return p;
  len = strlen (participant_id);
  p = g_malloc0 (sizeof (Participant) + len + 1);
  memcpy (p->id, participant_id, len + 1);
  p->state = PRES_STATE_OFFLINE;
  p->instances = &p->one;
  g_hash_table_insert (self->participants, p->id, p);
  return p;
}

static void
participant_add (Participant *p,
                 Instance    *inst)
{
  if (p->instances == &p->one && p->n_instances == 1)
    {
      p->instances = g_new (Instance *, PRES_STORE_MAX_INSTANCES_PER_PARTICIPANT);
      p->instances[0] = p->one;
    }
  p->instances[p->n_instances++] = inst;
}

static Instance *
participant_find (Participant *p,
                  const char  *instance_id)
{
  for (guint i = 0; i < p->n_instances; i++)
    if (strcmp (p->instances[i]->id, instance_id) == 0)
      return p->instances[i];
  return NULL;
}

static void
member_events_add (MemberEvents    *events,
                   PresMemberAction action,
                   PresMemberReason reason,
                   const Instance  *inst,
                   const char      *data,
                   const char      *client_reason)
{
  g_assert (events->n_events < G_N_ELEMENTS (events->events));
  events->events[events->n_events++] =
    pres_member_event_new (action, reason, inst->participant->id, inst->id,
                           pres_stored_beat_get_state (inst->beat), PRES_STATE_OFFLINE, data,
                           client_reason, g_get_real_time () / 1000);
}

/* Recomputes the union and tells the world: the member events first, then
 * the state if it moved.  A participant with nothing left to say is
 * dropped, so the table holds live ones only. */
static void
participant_update (PresMemoryStore *self,
                    Participant     *p,
                    MemberEvents    *events,
                    const char      *why)
{
  PresState states[PRES_STORE_MAX_INSTANCES_PER_PARTICIPANT];
  PresState old_state = p->state, new_state;
  g_autofree char *id = g_strdup (p->id);

  for (guint i = 0; i < p->n_instances; i++)
    states[i] = pres_stored_beat_get_state (p->instances[i]->beat);
  p->state = new_state = pres_store_union (states, p->n_instances, p->always_online);
  if (p->n_instances == 0 && !p->always_online)
    g_hash_table_remove (self->participants, p->id);

  for (guint i = 0; events != NULL && i < events->n_events; i++)
    {
      g_autoptr (PresMemberEvent) event = events->events[i];

      event->participant_state = new_state;
      pres_event_log_append_member (self->log, event);
      pres_store_emit_member_event (PRES_STORE (self), event);
    }
  if (new_state == old_state)
    return;
  pres_event_log_append_change (self->log, id);
  pres_store_emit_state_changed (PRES_STORE (self), id, old_state, new_state, why);
}

static void
instance_remove (PresMemoryStore *self,
                 Instance        *inst)
{
  Participant *p = inst->participant;

  for (guint i = 0; i < p->n_instances; i++)
    {
      if (p->instances[i] == inst)
        {
          p->instances[i] = p->instances[--p->n_instances];
          break;
        }
    }
  pres_deadline_index_remove (self->deadlines, &inst->node);
  instance_free (inst);
  self->n_instances--;
}

static gboolean
sweep_cb (gpointer user_data)
{
  PresMemoryStore *self = user_data;
  gint64 now = g_get_monotonic_time ();
  PresDeadlineNode *node;

  while ((node = pres_deadline_index_pop_expired (self->deadlines, now)) != NULL)
    {
      Instance *inst = (Instance *) node;
      Participant *p = inst->participant;
      MemberEvents events = { 0 };

      g_debug ("instance %s of %s expired", inst->id, p->id);
      member_events_add (&events, PRES_MEMBER_LEAVE, PRES_MEMBER_EXPIRED, inst,
                         pres_stored_beat_get_data (inst->beat), NULL);
      instance_remove (self, inst);
      participant_update (self, p, &events, "expired");
    }
  if (pres_deadline_index_size (self->deadlines) > 0)
    return G_SOURCE_CONTINUE;
  self->sweeper = NULL;
  return G_SOURCE_REMOVE;
}

/* One timer for the whole store, running only while something can expire.
 * Its period bounds the detection delay: a small fraction of the TTL. */
static void
sweeper_ensure (PresMemoryStore *self)
{
  guint period_ms;

  if (self->sweeper != NULL)
    return;
  period_ms = CLAMP (self->ttl_us / 1000 / 8, 10, 500);
  self->sweeper = g_timeout_source_new (period_ms);
  g_source_set_callback (self->sweeper, sweep_cb, self, NULL);
  g_source_set_name (self->sweeper, "[pres-server] sweeper");
  g_source_attach (self->sweeper, NULL);
  g_source_unref (self->sweeper);
}

/* What a member event shows: an update is only for these; the rest of a
 * heartbeat (seq, last input, reason) changes with every beat. */
static gboolean
member_changed (const PresStoredBeat *old_beat,
                const PresStoredBeat *new_beat)
{
  return pres_stored_beat_get_state (old_beat) != pres_stored_beat_get_state (new_beat)
         || g_strcmp0 (pres_stored_beat_get_data (old_beat), pres_stored_beat_get_data (new_beat))
         || g_strcmp0 (pres_stored_beat_get_status_text (old_beat),
                       pres_stored_beat_get_status_text (new_beat));
}

/* Applies the heartbeat; FALSE with error when a cap refuses it. */
static gboolean
apply_heartbeat (PresMemoryStore  *self,
                 const char       *participant_id,
                 const char       *instance_id,
                 PresHeartbeat    *hb,
                 PresUpsertResult *result,
                 GError          **error)
{
  Participant *p = g_hash_table_lookup (self->participants, participant_id);
  Instance *inst = p != NULL ? participant_find (p, instance_id) : NULL;
  gint64 now = g_get_monotonic_time ();
  g_autofree PresStoredBeat *old_beat = NULL;
  MemberEvents events = { 0 };

  if (inst != NULL)
    {
      const char *live_session = pres_stored_beat_get_session (inst->beat);
      gboolean same_session = g_str_equal (live_session, hb->session);

      if ((same_session && hb->seq <= pres_stored_beat_get_seq (inst->beat)) ||
          (!same_session && g_str_hash (hb->session) == inst->retired_session_hash))
        {
          g_debug ("instance %s of %s: stale heartbeat ignored (seq %" G_GUINT64_FORMAT ")",
                   instance_id, participant_id, hb->seq);
          *result = PRES_UPSERT_STALE;
          return TRUE;
        }
      /* A member past its deadline is gone for readers already: it
       * expires now, once, and its heartbeat enters it again. */
      if (!same_session)
        {
          inst->retired_session_hash = g_str_hash (live_session);
          member_events_add (&events, PRES_MEMBER_LEAVE, PRES_MEMBER_REPLACED, inst,
                             pres_stored_beat_get_data (inst->beat), NULL);
        }
      else if (inst->node.deadline <= now)
        member_events_add (&events, PRES_MEMBER_LEAVE, PRES_MEMBER_EXPIRED, inst,
                           pres_stored_beat_get_data (inst->beat), NULL);
      old_beat = g_steal_pointer (&inst->beat);
      if (events.n_events > 0)
        g_clear_pointer (&old_beat, g_free);
    }
  else
    {
      gsize len = strlen (instance_id);

      if (p != NULL && p->n_instances >= PRES_STORE_MAX_INSTANCES_PER_PARTICIPANT)
        {
          g_set_error (error, PRES_STORE_ERROR, PRES_STORE_ERROR_TOO_MANY_INSTANCES,
                       "instance_id: at most %d instances per participant are allowed",
                       PRES_STORE_MAX_INSTANCES_PER_PARTICIPANT);
          return FALSE;
        }
      if (self->n_instances >= self->max_instances)
        {
          g_set_error (error, PRES_STORE_ERROR, PRES_STORE_ERROR_FULL,
                       "server: at most %u instances are allowed, try again later",
                       self->max_instances);
          return FALSE;
        }
      p = participant_ensure (self, participant_id);
      inst = g_malloc0 (sizeof (Instance) + len + 1);
      memcpy (inst->id, instance_id, len + 1);
      inst->participant = p;
      participant_add (p, inst);
      self->n_instances++;
    }

  inst->beat = pres_stored_beat_new (hb);
  inst->last_seen_us = now;
  if (old_beat == NULL)
    member_events_add (&events, PRES_MEMBER_ENTER, 0, inst, hb->data, NULL);
  else if (member_changed (old_beat, inst->beat))
    member_events_add (&events, PRES_MEMBER_UPDATE, 0, inst, hb->data, NULL);
  pres_deadline_index_set (self->deadlines, &inst->node,
                           now + (hb->ttl_ms != PRES_HEARTBEAT_TTL_ABSENT ? hb->ttl_ms * 1000
                                                                          : self->ttl_us));
  sweeper_ensure (self);
  *result = PRES_UPSERT_APPLIED;
  participant_update (self, p, &events, hb->reason != NULL ? hb->reason : "heartbeat");
  return TRUE;
}

static gboolean
instance_is_live (const Instance *inst,
                  gint64          now_us)
{
  return inst->node.deadline > now_us;
}

/* A member past its deadline is gone for readers even before the sweeper
 * gets to it: the union is then taken over the live ones. */
static PresState
state_of (PresMemoryStore *self,
          const char      *participant_id)
{
  Participant *p = g_hash_table_lookup (self->participants, participant_id);
  PresState states[PRES_STORE_MAX_INSTANCES_PER_PARTICIPANT];
  gint64 now_us = g_get_monotonic_time ();
  guint n_live = 0;

  if (p == NULL)
    return PRES_STATE_OFFLINE;
  for (guint i = 0; i < p->n_instances; i++)
    if (instance_is_live (p->instances[i], now_us))
      states[n_live++] = pres_stored_beat_get_state (p->instances[i]->beat);
  if (n_live == p->n_instances)
    return p->state;
  return pres_store_union (states, n_live, p->always_online);
}

static void
pres_memory_store_upsert (PresStore          *store,
                          const char         *participant_id,
                          const char         *instance_id,
                          PresHeartbeat      *heartbeat,
                          PresStoreUpsertFunc callback,
                          gpointer            user_data)
{
  PresMemoryStore *self = PRES_MEMORY_STORE (store);
  g_autoptr (PresHeartbeat) hb = heartbeat;
  g_autoptr (GError) error = NULL;
  PresUpsertResult result;

  if (!apply_heartbeat (self, participant_id, instance_id, hb, &result, &error))
    callback (PRES_UPSERT_STALE, PRES_STATE_OFFLINE, error, user_data);
  else
    callback (result, state_of (self, participant_id), NULL, user_data);
}

static void
pres_memory_store_leave (PresStore         *store,
                         const char        *participant_id,
                         const char        *instance_id,
                         const char        *session,
                         const char        *client_reason,
                         const char        *data,
                         PresStoreLeaveFunc callback,
                         gpointer           user_data)
{
  PresMemoryStore *self = PRES_MEMORY_STORE (store);
  Participant *p = g_hash_table_lookup (self->participants, participant_id);
  Instance *inst = p != NULL ? participant_find (p, instance_id) : NULL;
  MemberEvents events = { 0 };

  if (inst == NULL)
    {
      callback (FALSE, NULL, user_data);
      return;
    }
  if (!g_str_equal (pres_stored_beat_get_session (inst->beat), session))
    {
      g_debug ("instance %s of %s: leave for another session ignored", instance_id,
               participant_id);
      callback (FALSE, NULL, user_data);
      return;
    }
  member_events_add (&events, PRES_MEMBER_LEAVE, PRES_MEMBER_LEFT, inst,
                     data != NULL ? data : pres_stored_beat_get_data (inst->beat), client_reason);
  instance_remove (self, inst);
  participant_update (self, p, &events, "leave");
  callback (TRUE, NULL, user_data);
}

static void
pres_memory_store_get_states (PresStore          *store,
                              const char *const  *participant_ids,
                              guint               n_ids,
                              PresStoreStatesFunc callback,
                              gpointer            user_data)
{
  PresMemoryStore *self = PRES_MEMORY_STORE (store);
  g_autofree PresState *states = g_new (PresState, MAX (n_ids, 1));

  for (guint i = 0; i < n_ids; i++)
    states[i] = state_of (self, participant_ids[i]);
  callback (states, NULL, user_data);
}

static void
add_infos (GPtrArray   *out,
           Participant *p,
           gint64       now_us,
           gint64       wall_now_ms)
{
  for (guint i = 0; i < p->n_instances; i++)
    {
      const Instance *inst = p->instances[i];
      PresInstanceInfo *info;

      if (!instance_is_live (inst, now_us))
        continue;
      info = g_new0 (PresInstanceInfo, 1);
      info->participant_id = g_strdup (p->id);
      info->instance_id = g_strdup (inst->id);
      info->heartbeat = pres_stored_beat_unpack (inst->beat);
      /* Kept on the monotonic clock; shown as wall time. */
      info->last_seen_ms = wall_now_ms - (now_us - inst->last_seen_us) / 1000;
      info->expires_at_ms = info->last_seen_ms + (inst->node.deadline - inst->last_seen_us) / 1000;
      info->heartbeat->ttl_ms = (inst->node.deadline - inst->last_seen_us) / 1000;
      g_ptr_array_add (out, info);
    }
}

static void
pres_memory_store_list_instances (PresStore             *store,
                                  const char            *participant_id,
                                  PresStoreInstancesFunc callback,
                                  gpointer               user_data)
{
  PresMemoryStore *self = PRES_MEMORY_STORE (store);
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) pres_instance_info_free);
  gint64 now_us = g_get_monotonic_time ();
  gint64 wall_now_ms = g_get_real_time () / 1000;

  if (participant_id != NULL)
    {
      Participant *p = g_hash_table_lookup (self->participants, participant_id);

      if (p != NULL)
        add_infos (out, p, now_us, wall_now_ms);
    }
  else
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, self->participants);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        add_infos (out, value, now_us, wall_now_ms);
    }
  callback (out, NULL, user_data);
}

static void
pres_memory_store_list_members (PresStore             *store,
                                const char *const     *participant_ids,
                                guint                  n_ids,
                                PresStoreInstancesFunc callback,
                                gpointer               user_data)
{
  PresMemoryStore *self = PRES_MEMORY_STORE (store);
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) pres_instance_info_free);
  gint64 now_us = g_get_monotonic_time ();
  gint64 wall_now_ms = g_get_real_time () / 1000;

  for (guint i = 0; i < n_ids; i++)
    {
      Participant *p = g_hash_table_lookup (self->participants, participant_ids[i]);

      if (p != NULL)
        add_infos (out, p, now_us, wall_now_ms);
    }
  callback (out, NULL, user_data);
}

static void
pres_memory_store_get_counts (PresStore          *store,
                              PresStoreCountsFunc callback,
                              gpointer            user_data)
{
  PresMemoryStore *self = PRES_MEMORY_STORE (store);
  PresStoreCounts counts = {
    .instances = self->n_instances,
    .participants = g_hash_table_size (self->participants),
  };

  callback (&counts, NULL, user_data);
}

static void
pres_memory_store_set_always_online (PresStore  *store,
                                     const char *participant_id)
{
  PresMemoryStore *self = PRES_MEMORY_STORE (store);
  Participant *p = participant_ensure (self, participant_id);

  p->always_online = TRUE;
  participant_update (self, p, NULL, "always-online");
}

static void
pres_memory_store_record_conversation (PresStore                *store,
                                       const char               *a,
                                       const char               *b,
                                       gint64                    at_ms,
                                       gint64                    expires_at_ms,
                                       PresStoreConversationFunc callback,
                                       gpointer                  user_data)
{
  PresMemoryStore *self = PRES_MEMORY_STORE (store);
  gint64 held_at_ms, held_expires_at_ms;

  pres_conversation_table_record (self->conversations, a, b, at_ms, expires_at_ms,
                                  g_get_real_time () / 1000, &held_at_ms, &held_expires_at_ms);
  callback (held_at_ms, held_expires_at_ms, NULL, user_data);
  if (held_at_ms == at_ms && held_expires_at_ms == expires_at_ms)
    {
      pres_store_emit_granted (store, a, b, expires_at_ms);
      pres_store_emit_granted (store, b, a, expires_at_ms);
    }
}

static void
pres_memory_store_get_grants (PresStore          *store,
                              const char         *viewer_id,
                              const char *const  *participant_ids,
                              guint               n_ids,
                              PresStoreGrantsFunc callback,
                              gpointer            user_data)
{
  PresMemoryStore *self = PRES_MEMORY_STORE (store);
  g_autofree gint64 *until_ms = g_new0 (gint64, MAX (n_ids, 1));
  gint64 now_ms = g_get_real_time () / 1000;

  for (guint i = 0; i < n_ids; i++)
    if (g_strcmp0 (viewer_id, participant_ids[i]) != 0)
      until_ms[i] = pres_conversation_table_lookup (self->conversations, viewer_id,
                                                    participant_ids[i], now_ms);
  callback (until_ms, NULL, user_data);
}

static char *
pres_memory_store_get_cursor (PresStore *store)
{
  return pres_event_log_get_cursor (PRES_MEMORY_STORE (store)->log);
}

static gboolean
pres_memory_store_cursor_covers (PresStore             *store,
                                 const char            *cursor,
                                 const PresMemberEvent *event)
{
  return pres_event_log_covers (PRES_MEMORY_STORE (store)->log, cursor, event->order[0]);
}

typedef struct
{
  GHashTable *asked;   /* set of the ids asked, borrowed */
  GHashTable *changed; /* set, borrowed from asked */
  GPtrArray *changed_ids;
  GPtrArray *events;
} Replay;

static void
replay_cb (const char      *participant_id,
           PresMemberEvent *event,
           gpointer         user_data)
{
  Replay *replay = user_data;
  gpointer id;

  if (!g_hash_table_lookup_extended (replay->asked, participant_id, &id, NULL))
    return;
  if (event != NULL)
    g_ptr_array_add (replay->events, pres_member_event_ref (event));
  else if (g_hash_table_add (replay->changed, id))
    g_ptr_array_add (replay->changed_ids, id);
}

static void
pres_memory_store_replay (PresStore          *store,
                          const char         *cursor,
                          const char *const  *participant_ids,
                          guint               n_ids,
                          PresStoreReplayFunc callback,
                          gpointer            user_data)
{
  PresMemoryStore *self = PRES_MEMORY_STORE (store);
  g_autoptr (GHashTable) asked = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) changed = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) changed_ids = g_ptr_array_new ();
  g_autoptr (GPtrArray) events =
    g_ptr_array_new_with_free_func ((GDestroyNotify) pres_member_event_unref);
  Replay replay = { asked, changed, changed_ids, events };
  gboolean resumed;

  for (guint i = 0; i < n_ids; i++)
    g_hash_table_add (asked, (gpointer) participant_ids[i]);
  resumed = pres_event_log_replay (self->log, cursor, replay_cb, &replay);
  if (!resumed)
    {
      g_ptr_array_set_size (changed_ids, 0);
      g_ptr_array_set_size (events, 0);
    }
  callback (resumed, changed_ids, events, NULL, user_data);
}

static void
pres_memory_store_iface_init (PresStoreInterface *iface)
{
  iface->upsert = pres_memory_store_upsert;
  iface->leave = pres_memory_store_leave;
  iface->get_states = pres_memory_store_get_states;
  iface->list_instances = pres_memory_store_list_instances;
  iface->list_members = pres_memory_store_list_members;
  iface->get_counts = pres_memory_store_get_counts;
  iface->set_always_online = pres_memory_store_set_always_online;
  iface->record_conversation = pres_memory_store_record_conversation;
  iface->get_grants = pres_memory_store_get_grants;
  iface->get_cursor = pres_memory_store_get_cursor;
  iface->cursor_covers = pres_memory_store_cursor_covers;
  iface->replay = pres_memory_store_replay;
}

static void
pres_memory_store_finalize (GObject *object)
{
  PresMemoryStore *self = PRES_MEMORY_STORE (object);

  if (self->sweeper != NULL)
    g_source_destroy (self->sweeper);
  /* The index holds no references; drop it before the entries it points to. */
  g_clear_pointer (&self->deadlines, pres_deadline_index_free);
  g_clear_pointer (&self->participants, g_hash_table_unref);
  g_clear_pointer (&self->conversations, pres_conversation_table_free);
  g_clear_pointer (&self->log, pres_event_log_free);

  G_OBJECT_CLASS (pres_memory_store_parent_class)->finalize (object);
}

static void
pres_memory_store_class_init (PresMemoryStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pres_memory_store_finalize;
}

static void
pres_memory_store_init (PresMemoryStore *self)
{
  self->participants =
    g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) participant_free);
  self->deadlines = pres_deadline_index_new ();
  self->conversations = pres_conversation_table_new ();
  self->log = pres_event_log_new (EVENT_LOG_CAPACITY);
}

PresStore *
pres_memory_store_new (guint ttl_ms,
                       guint max_instances)
{
  PresMemoryStore *self = g_object_new (PRES_TYPE_MEMORY_STORE, NULL);

  self->ttl_us = (gint64) ttl_ms * 1000;
  self->max_instances = max_instances;
  return PRES_STORE (self);
}
