#include "pres-error.h"
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

const char *
pres_manual_to_string (PresManual manual)
{
  switch (manual)
    {
    case PRES_MANUAL_NONE:
      return "";
    case PRES_MANUAL_BUSY:
      return "busy";
    case PRES_MANUAL_APPEAR_OFFLINE:
      return "appear_offline";
    }
  g_return_val_if_reached (NULL);
}

PresState
pres_manual_to_state (PresManual manual)
{
  switch (manual)
    {
    case PRES_MANUAL_BUSY:
      return PRES_STATE_BUSY;
    case PRES_MANUAL_APPEAR_OFFLINE:
      return PRES_STATE_APPEAR_OFFLINE;
    case PRES_MANUAL_NONE:
      break;
    }
  g_return_val_if_reached (PRES_STATE_ONLINE);
}

/* Status text is shown to other people: bounded, valid UTF-8, and free of
 * control characters that could break a roster's layout. */
gboolean
pres_status_text_validate (const char *text,
                           GError    **error)
{
  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                           "text: must be valid UTF-8");
      return FALSE;
    }
  if (g_utf8_strlen (text, -1) > PRES_STATUS_TEXT_MAX_CHARS)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "text: at most %d characters are allowed, got %ld",
                   PRES_STATUS_TEXT_MAX_CHARS, g_utf8_strlen (text, -1));
      return FALSE;
    }
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      if (g_unichar_iscntrl (g_utf8_get_char (p)))
        {
          g_set_error_literal (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                               "text: control characters (such as newlines or tabs) are not allowed");
          return FALSE;
        }
    }
  return TRUE;
}
