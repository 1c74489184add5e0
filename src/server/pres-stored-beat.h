#pragma once

#include "pres-wire.h"

G_BEGIN_DECLS

/* A heartbeat as the memory store keeps it: one block with its strings,
 * located by 16-bit offsets rather than pointers.  Most optional fields are
 * absent, and eight pointers plus a block per string would cost more than
 * the strings (the goal is ≤ 300 B per instance).  Free with g_free(). */
typedef struct _PresStoredBeat PresStoredBeat;

PresStoredBeat *pres_stored_beat_new (const PresHeartbeat *hb);
/* A full PresHeartbeat again, for readers. */
PresHeartbeat  *pres_stored_beat_unpack (const PresStoredBeat *beat);

PresState   pres_stored_beat_get_state (const PresStoredBeat *beat);
guint64     pres_stored_beat_get_seq (const PresStoredBeat *beat);
const char *pres_stored_beat_get_session (const PresStoredBeat *beat);
const char *pres_stored_beat_get_reason (const PresStoredBeat *beat);
const char *pres_stored_beat_get_data (const PresStoredBeat *beat);
const char *pres_stored_beat_get_status_text (const PresStoredBeat *beat);

G_END_DECLS
