#define G_LOG_DOMAIN "pres-server"

#include "pres-store.h"

G_DEFINE_INTERFACE (PresStore, pres_store, G_TYPE_OBJECT)
G_DEFINE_QUARK (pres-store-error-quark, pres_store_error)

enum
{
  SIGNAL_STATE_CHANGED,
  SIGNAL_RESET,
  SIGNAL_GRANTED,
  SIGNAL_MEMBER_EVENT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
pres_store_default_init (PresStoreInterface *iface)
{
  /* Raw states: subscribers apply pres_store_state_for_viewer() per viewer. */
  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_INT, G_TYPE_INT);
  signals[SIGNAL_RESET] = g_signal_new ("reset", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* viewer, participant, until (ms since the epoch): a new or longer grant. */
  signals[SIGNAL_GRANTED] =
    g_signal_new ("granted", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_INT64);
  /* A PresMemberEvent *, borrowed. */
  signals[SIGNAL_MEMBER_EVENT] =
    g_signal_new ("member-event", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

void
pres_instance_info_free (PresInstanceInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->participant_id);
  g_free (info->instance_id);
  pres_heartbeat_free (info->heartbeat);
  g_free (info);
}

void
pres_store_upsert (PresStore          *store,
                   const char         *participant_id,
                   const char         *instance_id,
                   PresHeartbeat      *heartbeat,
                   PresStoreUpsertFunc callback,
                   gpointer            user_data)
{
  g_return_if_fail (PRES_IS_STORE (store));
  PRES_STORE_GET_IFACE (store)->upsert (store, participant_id, instance_id, heartbeat, callback,
                                        user_data);
}

void
pres_store_leave (PresStore         *store,
                  const char        *participant_id,
                  const char        *instance_id,
                  const char        *session,
                  const char        *client_reason,
                  const char        *data,
                  PresStoreLeaveFunc callback,
                  gpointer           user_data)
{
  g_return_if_fail (PRES_IS_STORE (store));
  PRES_STORE_GET_IFACE (store)->leave (store, participant_id, instance_id, session, client_reason,
                                       data, callback, user_data);
}

void
pres_store_get_states (PresStore          *store,
                       const char *const  *participant_ids,
                       guint               n_ids,
                       PresStoreStatesFunc callback,
                       gpointer            user_data)
{
  g_return_if_fail (PRES_IS_STORE (store));
  PRES_STORE_GET_IFACE (store)->get_states (store, participant_ids, n_ids, callback, user_data);
}

void
pres_store_list_instances (PresStore             *store,
                           const char            *participant_id,
                           PresStoreInstancesFunc callback,
                           gpointer               user_data)
{
  g_return_if_fail (PRES_IS_STORE (store));
  PRES_STORE_GET_IFACE (store)->list_instances (store, participant_id, callback, user_data);
}

void
pres_store_list_members (PresStore             *store,
                         const char *const     *participant_ids,
                         guint                  n_ids,
                         PresStoreInstancesFunc callback,
                         gpointer               user_data)
{
  g_return_if_fail (PRES_IS_STORE (store));
  PRES_STORE_GET_IFACE (store)->list_members (store, participant_ids, n_ids, callback, user_data);
}

void
pres_store_get_counts (PresStore          *store,
                       PresStoreCountsFunc callback,
                       gpointer            user_data)
{
  g_return_if_fail (PRES_IS_STORE (store));
  PRES_STORE_GET_IFACE (store)->get_counts (store, callback, user_data);
}

void
pres_store_set_always_online (PresStore  *store,
                              const char *participant_id)
{
  g_return_if_fail (PRES_IS_STORE (store));
  PRES_STORE_GET_IFACE (store)->set_always_online (store, participant_id);
}

void
pres_store_record_conversation (PresStore                *store,
                                const char               *a,
                                const char               *b,
                                gint64                    at_ms,
                                gint64                    expires_at_ms,
                                PresStoreConversationFunc callback,
                                gpointer                  user_data)
{
  g_return_if_fail (PRES_IS_STORE (store));
  g_return_if_fail (g_strcmp0 (a, b) != 0 && at_ms < expires_at_ms);
  PRES_STORE_GET_IFACE (store)->record_conversation (store, a, b, at_ms, expires_at_ms, callback,
                                                     user_data);
}

void
pres_store_get_grants (PresStore          *store,
                       const char         *viewer_id,
                       const char *const  *participant_ids,
                       guint               n_ids,
                       PresStoreGrantsFunc callback,
                       gpointer            user_data)
{
  g_return_if_fail (PRES_IS_STORE (store));
  PRES_STORE_GET_IFACE (store)->get_grants (store, viewer_id, participant_ids, n_ids, callback,
                                            user_data);
}

char *
pres_store_get_cursor (PresStore *store)
{
  g_return_val_if_fail (PRES_IS_STORE (store), NULL);
  return PRES_STORE_GET_IFACE (store)->get_cursor (store);
}

gboolean
pres_store_cursor_covers (PresStore             *store,
                          const char            *cursor,
                          const PresMemberEvent *event)
{
  g_return_val_if_fail (PRES_IS_STORE (store), FALSE);
  return PRES_STORE_GET_IFACE (store)->cursor_covers (store, cursor, event);
}

void
pres_store_replay (PresStore          *store,
                   const char         *cursor,
                   const char *const  *participant_ids,
                   guint               n_ids,
                   PresStoreReplayFunc callback,
                   gpointer            user_data)
{
  g_return_if_fail (PRES_IS_STORE (store));
  PRES_STORE_GET_IFACE (store)->replay (store, cursor, participant_ids, n_ids, callback,
                                        user_data);
}

/* A granted viewer sees what the participant sees of itself: the raw
 * state, appear_offline included, so it knows the participant is here. */
PresState
pres_store_state_for_viewer_granted (PresState   raw,
                                     const char *participant_id,
                                     const char *viewer_id,
                                     gboolean    granted)
{
  if (raw == PRES_STATE_APPEAR_OFFLINE && !granted
      && (viewer_id == NULL || g_strcmp0 (participant_id, viewer_id) != 0))
    return PRES_STATE_OFFLINE;
  return raw;
}

PresState
pres_store_state_for_viewer (PresState   raw,
                             const char *participant_id,
                             const char *viewer_id)
{
  return pres_store_state_for_viewer_granted (raw, participant_id, viewer_id, FALSE);
}

PresState
pres_store_union (const PresState *states,
                  guint            n_states,
                  gboolean         always_online)
{
  gboolean any_busy = FALSE, any_online = FALSE, any_idle = FALSE;

  for (guint i = 0; i < n_states; i++)
    {
      switch (states[i])
        {
        case PRES_STATE_APPEAR_OFFLINE:
          /* Fails closed: one invisible device hides them all. */
          return PRES_STATE_APPEAR_OFFLINE;
        case PRES_STATE_BUSY:
          any_busy = TRUE;
          break;
        case PRES_STATE_ONLINE:
          any_online = TRUE;
          break;
        case PRES_STATE_IDLE:
          any_idle = TRUE;
          break;
        case PRES_STATE_OFFLINE:
          break;
        }
    }
  if (any_busy)
    return PRES_STATE_BUSY;
  if (any_online || always_online)
    return PRES_STATE_ONLINE;
  return any_idle ? PRES_STATE_IDLE : PRES_STATE_OFFLINE;
}

void
pres_store_emit_state_changed (PresStore  *store,
                               const char *participant_id,
                               PresState   old_state,
                               PresState   new_state,
                               const char *why)
{
  g_debug ("participant %s: %s → %s (%s)", participant_id, pres_state_to_string (old_state),
           pres_state_to_string (new_state), why);
  g_signal_emit (store, signals[SIGNAL_STATE_CHANGED], 0, participant_id, (int) old_state,
                 (int) new_state);
}

void
pres_store_emit_member_event (PresStore       *store,
                              PresMemberEvent *event)
{
  g_debug ("member %s/%s: %s%s%s", event->participant_id, event->instance_id,
           pres_member_action_to_string (event->action), event->reason != 0 ? " " : "",
           event->reason != 0 ? pres_member_reason_to_string (event->reason) : "");
  g_signal_emit (store, signals[SIGNAL_MEMBER_EVENT], 0, event);
}

void
pres_store_emit_granted (PresStore  *store,
                         const char *viewer_id,
                         const char *participant_id,
                         gint64      until_ms)
{
  g_signal_emit (store, signals[SIGNAL_GRANTED], 0, viewer_id, participant_id, until_ms);
}

void
pres_store_emit_reset (PresStore *store)
{
  g_debug ("the store lost what it held: readers read again");
  g_signal_emit (store, signals[SIGNAL_RESET], 0);
}
