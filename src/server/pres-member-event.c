#define G_LOG_DOMAIN "pres-server"

#include "pres-member-event.h"
#include "pres-wire.h"

static const char *const action_names[] = { "enter", "update", "leave" };
static const char *const reason_names[] = { NULL, "left", "expired", "replaced" };

PresMemberEvent *
pres_member_event_new (PresMemberAction action,
                       PresMemberReason reason,
                       const char      *participant_id,
                       const char      *instance_id,
                       PresState        state,
                       PresState        participant_state,
                       const char      *data,
                       const char      *client_reason,
                       gint64           at_ms)
{
  PresMemberEvent *event = g_new0 (PresMemberEvent, 1);

  event->refs = 1;
  event->action = action;
  event->reason = action == PRES_MEMBER_LEAVE ? reason : 0;
  event->participant_id = g_strdup (participant_id);
  event->instance_id = g_strdup (instance_id);
  event->state = state;
  event->participant_state = participant_state;
  event->data = g_strdup (data);
  event->client_reason = g_strdup (client_reason);
  event->at_ms = at_ms;
  return event;
}

PresMemberEvent *
pres_member_event_ref (PresMemberEvent *event)
{
  g_atomic_int_inc (&event->refs);
  return event;
}

void
pres_member_event_unref (PresMemberEvent *event)
{
  if (event == NULL || !g_atomic_int_dec_and_test (&event->refs))
    return;
  g_free (event->participant_id);
  g_free (event->instance_id);
  g_free (event->data);
  g_free (event->client_reason);
  g_free (event);
}

const char *
pres_member_action_to_string (PresMemberAction action)
{
  g_return_val_if_fail (action <= PRES_MEMBER_LEAVE, NULL);
  return action_names[action];
}

gboolean
pres_member_action_from_string (const char       *name,
                                PresMemberAction *action)
{
  for (guint i = 0; i < G_N_ELEMENTS (action_names); i++)
    if (g_strcmp0 (name, action_names[i]) == 0)
      {
        *action = i;
        return TRUE;
      }
  return FALSE;
}

const char *
pres_member_reason_to_string (PresMemberReason reason)
{
  return reason < G_N_ELEMENTS (reason_names) ? reason_names[reason] : NULL;
}

void
pres_member_event_append_json (const PresMemberEvent *event,
                               GString               *out)
{
  const char *reason = pres_member_reason_to_string (event->reason);

  g_string_append (out, "{\"action\":");
  pres_wire_append_json_string (out, pres_member_action_to_string (event->action));
  g_string_append (out, ",\"participant_id\":");
  pres_wire_append_json_string (out, event->participant_id);
  g_string_append (out, ",\"instance_id\":");
  pres_wire_append_json_string (out, event->instance_id);
  g_string_append (out, ",\"state\":");
  pres_wire_append_json_string (out, pres_state_to_string (event->state));
  if (event->data != NULL)
    g_string_append_printf (out, ",\"data\":%s", event->data);
  if (reason != NULL)
    {
      g_string_append (out, ",\"reason\":");
      pres_wire_append_json_string (out, reason);
    }
  if (event->client_reason != NULL)
    {
      g_string_append (out, ",\"client_reason\":");
      pres_wire_append_json_string (out, event->client_reason);
    }
  g_string_append_printf (out, ",\"ts\":%" G_GINT64_FORMAT "}", event->at_ms);
}
