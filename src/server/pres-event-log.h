#pragma once

#include <glib.h>

#include "pres-member-event.h"

G_BEGIN_DECLS

/* The memory store's recent events, numbered, so that a stream subscriber
 * that reconnects with a cursor gets what it missed instead of a snapshot:
 * state changes (by participant) and member events.  A cursor is
 * "<epoch>-<seq>": the epoch is random per server run, so a cursor from a
 * previous run is recognized as unknown and gets a snapshot. */
typedef struct _PresEventLog PresEventLog;

/* event: NULL for a state change of participant_id. */
typedef void (*PresEventLogFunc) (const char      *participant_id,
                                  PresMemberEvent *event,
                                  gpointer         user_data);

PresEventLog *pres_event_log_new (guint capacity);
void          pres_event_log_free (PresEventLog *self);

void     pres_event_log_append_change (PresEventLog *self,
                                       const char   *participant_id);
/* Keeps a reference on event, and sets its order[0] to its sequence. */
void     pres_event_log_append_member (PresEventLog    *self,
                                       PresMemberEvent *event);
/* The cursor of the latest event. */
char    *pres_event_log_get_cursor (PresEventLog *self);
/* Whether the event of sequence seq is at or before cursor, of this run. */
gboolean pres_event_log_covers (PresEventLog *self,
                                const char   *cursor,
                                guint64       seq);
/* Calls func for each event after cursor, oldest first; FALSE (and no call)
 * when the cursor is malformed, from another run, or older than the log. */
gboolean pres_event_log_replay (PresEventLog    *self,
                                const char      *cursor,
                                PresEventLogFunc func,
                                gpointer         user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresEventLog, pres_event_log_free)

G_END_DECLS
