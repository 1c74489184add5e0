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

/* The user's manual choice; NONE means the sensors decide. */
typedef enum
{
  PRES_MANUAL_NONE,
  PRES_MANUAL_BUSY,
  PRES_MANUAL_APPEAR_OFFLINE,
} PresManual;

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

const char *pres_manual_to_string (PresManual manual);
PresState   pres_manual_to_state (PresManual manual);

/* Status text is bounded in characters, the one rule of the agent, the wire
 * and the server; in bytes that is at most four per character of UTF-8. */
#define PRES_STATUS_TEXT_MAX_CHARS 140
#define PRES_STATUS_TEXT_MAX_BYTES (4 * PRES_STATUS_TEXT_MAX_CHARS)

gboolean pres_status_text_validate (const char *text,
                                    GError    **error);

G_END_DECLS
