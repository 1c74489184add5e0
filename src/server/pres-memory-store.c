#define G_LOG_DOMAIN "pres-server"

#include <string.h>

#include "pres-conversation-table.h"
#include "pres-deadline-index.h"
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
};

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

/* Recomputes the union and tells the world if it moved.  A participant with
 * nothing left to say is dropped, so the table holds live ones only. */
static void
participant_update (PresMemoryStore *self,
                    Participant     *p,
                    const char      *why)
{
  PresState states[PRES_STORE_MAX_INSTANCES_PER_PARTICIPANT];
  PresState old_state = p->state, new_state;
  g_autofree char *id = NULL;

  for (guint i = 0; i < p->n_instances; i++)
    states[i] = pres_stored_beat_get_state (p->instances[i]->beat);
  p->state = pres_store_union (states, p->n_instances, p->always_online);

  if (p->state == old_state)
    {
      if (p->n_instances == 0 && !p->always_online)
        g_hash_table_remove (self->participants, p->id);
      return;
    }
  id = g_strdup (p->id);
  new_state = p->state;
  if (p->n_instances == 0 && !p->always_online)
    g_hash_table_remove (self->participants, p->id);
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

      g_debug ("instance %s of %s expired", inst->id, p->id);
      instance_remove (self, inst);
      participant_update (self, p, "expired");
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
      if (!same_session)
        inst->retired_session_hash = g_str_hash (live_session);
      g_free (inst->beat);
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
  pres_deadline_index_set (self->deadlines, &inst->node,
                           now + (hb->ttl_ms != PRES_HEARTBEAT_TTL_ABSENT ? hb->ttl_ms * 1000
                                                                          : self->ttl_us));
  sweeper_ensure (self);
  *result = PRES_UPSERT_APPLIED;
  participant_update (self, p, hb->reason != NULL ? hb->reason : "heartbeat");
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
  instance_remove (self, inst);
  participant_update (self, p, "leave");
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
  participant_update (self, p, "always-online");
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
