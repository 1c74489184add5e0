#include "config.h"

#include "store-wait.h"
#if HAVE_REDIS
#include "pres-redis-store.h"
#endif

#define ANSWER_TIMEOUT_S 10

typedef struct
{
  gboolean answered;
  PresUpsertResult result;
  PresState state;
  gboolean removed;
  GPtrArray *instances;
  PresStoreCounts counts;
  gint64 at_ms, expires_at_ms;
  gint64 *until_ms;
  gboolean resumed;
  GPtrArray *changed_ids, *events;
  GError *error;
} Answer;

static gboolean
timed_out_cb (gpointer user_data)
{
  g_error ("the store did not answer within %d s", ANSWER_TIMEOUT_S);
  return G_SOURCE_REMOVE;
}

static void
wait_for (Answer *answer)
{
  guint timeout_id;

  if (answer->answered)
    return;
  timeout_id = g_timeout_add_seconds (ANSWER_TIMEOUT_S, timed_out_cb, NULL);
  while (!answer->answered)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (timeout_id);
}

#if HAVE_REDIS
static void
synced_cb (gpointer user_data)
{
  ((Answer *) user_data)->answered = TRUE;
}
#endif

void
store_wait_events (PresStore *store)
{
#if HAVE_REDIS
  Answer answer = { 0 };

  if (!PRES_IS_REDIS_STORE (store))
    return;
  pres_redis_store_sync (PRES_REDIS_STORE (store), synced_cb, &answer);
  wait_for (&answer);
#endif
}

static void
upsert_cb (PresUpsertResult result,
           PresState        state,
           const GError    *error,
           gpointer         user_data)
{
  Answer *answer = user_data;

  answer->result = result;
  answer->state = state;
  answer->error = error != NULL ? g_error_copy (error) : NULL;
  answer->answered = TRUE;
}

gboolean
store_wait_upsert (PresStore        *store,
                   const char       *participant_id,
                   const char       *instance_id,
                   PresHeartbeat    *heartbeat,
                   PresUpsertResult *result,
                   GError          **error)
{
  Answer answer = { 0 };

  pres_store_upsert (store, participant_id, instance_id, heartbeat, upsert_cb, &answer);
  wait_for (&answer);
  store_wait_events (store);
  if (answer.error != NULL)
    {
      g_propagate_error (error, answer.error);
      return FALSE;
    }
  *result = answer.result;
  return TRUE;
}

static void
leave_cb (gboolean      removed,
          const GError *error,
          gpointer      user_data)
{
  Answer *answer = user_data;

  g_assert_no_error (error);
  answer->removed = removed;
  answer->answered = TRUE;
}

gboolean
store_wait_leave (PresStore  *store,
                  const char *participant_id,
                  const char *instance_id,
                  const char *session)
{
  return store_wait_leave_saying (store, participant_id, instance_id, session, NULL, NULL);
}

gboolean
store_wait_leave_saying (PresStore  *store,
                         const char *participant_id,
                         const char *instance_id,
                         const char *session,
                         const char *client_reason,
                         const char *data)
{
  Answer answer = { 0 };

  pres_store_leave (store, participant_id, instance_id, session, client_reason, data, leave_cb,
                    &answer);
  wait_for (&answer);
  store_wait_events (store);
  return answer.removed;
}

static void
replay_cb (gboolean      resumed,
           GPtrArray    *changed_ids,
           GPtrArray    *events,
           const GError *error,
           gpointer      user_data)
{
  Answer *answer = user_data;

  g_assert_no_error (error);
  answer->resumed = resumed;
  answer->changed_ids = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < changed_ids->len; i++)
    g_ptr_array_add (answer->changed_ids, g_strdup (changed_ids->pdata[i]));
  answer->events = g_ptr_array_new_with_free_func ((GDestroyNotify) pres_member_event_unref);
  for (guint i = 0; i < events->len; i++)
    g_ptr_array_add (answer->events, pres_member_event_ref (events->pdata[i]));
  answer->answered = TRUE;
}

gboolean
store_wait_replay (PresStore         *store,
                   const char        *cursor,
                   const char *const *participant_ids,
                   guint              n_ids,
                   GPtrArray        **changed_ids,
                   GPtrArray        **events)
{
  Answer answer = { 0 };

  pres_store_replay (store, cursor, participant_ids, n_ids, replay_cb, &answer);
  wait_for (&answer);
  *changed_ids = answer.changed_ids;
  *events = answer.events;
  return answer.resumed;
}

static void
states_cb (const PresState *states,
           const GError    *error,
           gpointer         user_data)
{
  Answer *answer = user_data;

  g_assert_no_error (error);
  answer->state = states[0];
  answer->answered = TRUE;
}

PresState
store_wait_state (PresStore  *store,
                  const char *participant_id)
{
  Answer answer = { 0 };
  const char *ids[] = { participant_id };

  pres_store_get_states (store, ids, 1, states_cb, &answer);
  wait_for (&answer);
  return answer.state;
}

static void
list_cb (GPtrArray    *instances,
         const GError *error,
         gpointer      user_data)
{
  Answer *answer = user_data;

  g_assert_no_error (error);
  answer->instances = g_ptr_array_ref (instances);
  answer->answered = TRUE;
}

GPtrArray *
store_wait_list (PresStore  *store,
                 const char *participant_id)
{
  Answer answer = { 0 };

  pres_store_list_instances (store, participant_id, list_cb, &answer);
  wait_for (&answer);
  return answer.instances;
}

GPtrArray *
store_wait_members (PresStore         *store,
                    const char *const *participant_ids,
                    guint              n_ids)
{
  Answer answer = { 0 };

  pres_store_list_members (store, participant_ids, n_ids, list_cb, &answer);
  wait_for (&answer);
  return answer.instances;
}

static void
counts_cb (const PresStoreCounts *counts,
           const GError          *error,
           gpointer               user_data)
{
  Answer *answer = user_data;

  g_assert_no_error (error);
  answer->counts = *counts;
  answer->answered = TRUE;
}

PresStoreCounts
store_wait_counts (PresStore *store)
{
  Answer answer = { 0 };

  pres_store_get_counts (store, counts_cb, &answer);
  wait_for (&answer);
  return answer.counts;
}

static void
conversation_cb (gint64        at_ms,
                 gint64        expires_at_ms,
                 const GError *error,
                 gpointer      user_data)
{
  Answer *answer = user_data;

  g_assert_no_error (error);
  answer->at_ms = at_ms;
  answer->expires_at_ms = expires_at_ms;
  answer->answered = TRUE;
}

void
store_wait_record_conversation (PresStore  *store,
                                const char *a,
                                const char *b,
                                gint64      at_ms,
                                gint64      expires_at_ms,
                                gint64     *held_at_ms,
                                gint64     *held_expires_at_ms)
{
  Answer answer = { 0 };

  pres_store_record_conversation (store, a, b, at_ms, expires_at_ms, conversation_cb, &answer);
  wait_for (&answer);
  *held_at_ms = answer.at_ms;
  *held_expires_at_ms = answer.expires_at_ms;
}

typedef struct
{
  Answer answer;
  guint n_ids;
} GrantsAnswer;

static void
grants_cb (const gint64 *until_ms,
           const GError *error,
           gpointer      user_data)
{
  GrantsAnswer *grants = user_data;

  g_assert_no_error (error);
  grants->answer.until_ms = g_memdup2 (until_ms, MAX (grants->n_ids, 1) * sizeof (gint64));
  grants->answer.answered = TRUE;
}

gint64 *
store_wait_grants (PresStore         *store,
                   const char        *viewer_id,
                   const char *const *participant_ids,
                   guint              n_ids)
{
  GrantsAnswer grants = { .n_ids = n_ids };

  pres_store_get_grants (store, viewer_id, participant_ids, n_ids, grants_cb, &grants);
  wait_for (&grants.answer);
  return grants.answer.until_ms;
}
