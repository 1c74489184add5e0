#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The presence states, as the D-Bus API and the wire protocol name them. */
typedef enum
{
  PRES_STATE_OFFLINE,
  PRES_STATE_ONLINE,
  PRES_STATE_IDLE,
  PRES_STATE_BUSY,
  PRES_STATE_APPEAR_OFFLINE,
} PresState;

/* Why the effective state changed (StateChanged's reason). */
typedef enum
{
  PRES_REASON_STARTUP,
  PRES_REASON_IDLE,
  PRES_REASON_ACTIVE,
  PRES_REASON_LOCK,
  PRES_REASON_UNLOCK,
  PRES_REASON_MANUAL,
  PRES_REASON_AUTO,
  PRES_REASON_EXPIRED,
  PRES_REASON_SLEEP,
  PRES_REASON_RESUME,
  PRES_REASON_SHUTDOWN,
} PresReason;

const char *pres_state_to_string (PresState state);
gboolean    pres_state_from_string (const char *text,
                                    PresState  *out_state);

const char *pres_reason_to_string (PresReason reason);

G_END_DECLS
