#include "pres-state.h"

static const char *const state_names[] = {
  [PRES_STATE_OFFLINE] = "offline",
  [PRES_STATE_ONLINE] = "online",
  [PRES_STATE_IDLE] = "idle",
  [PRES_STATE_BUSY] = "busy",
  [PRES_STATE_APPEAR_OFFLINE] = "appear_offline",
};

static const char *const reason_names[] = {
  [PRES_REASON_STARTUP] = "startup",
  [PRES_REASON_IDLE] = "idle",
  [PRES_REASON_ACTIVE] = "active",
  [PRES_REASON_LOCK] = "lock",
  [PRES_REASON_UNLOCK] = "unlock",
  [PRES_REASON_MANUAL] = "manual",
  [PRES_REASON_AUTO] = "auto",
  [PRES_REASON_EXPIRED] = "expired",
  [PRES_REASON_SLEEP] = "sleep",
  [PRES_REASON_RESUME] = "resume",
  [PRES_REASON_SHUTDOWN] = "shutdown",
};

const char *
pres_state_to_string (PresState state)
{
  g_return_val_if_fail (state < G_N_ELEMENTS (state_names), NULL);
  return state_names[state];
}

gboolean
pres_state_from_string (const char *text,
                        PresState  *out_state)
{
  g_return_val_if_fail (out_state != NULL, FALSE);

  if (text == NULL)
    return FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (state_names); i++)
    {
      if (g_str_equal (text, state_names[i]))
        {
          *out_state = i;
          return TRUE;
        }
    }
  return FALSE;
}

const char *
pres_reason_to_string (PresReason reason)
{
  g_return_val_if_fail (reason < G_N_ELEMENTS (reason_names), NULL);
  return reason_names[reason];
}
