#pragma once

#include <glib.h>

#include "pres-state.h"

G_BEGIN_DECLS

/* The recent public state changes, numbered, so that a stream subscriber
 * that reconnects with a cursor gets what it missed instead of a snapshot.
 * A cursor is "<epoch>-<seq>": the epoch is random per server run, so a
 * cursor from a previous run is recognized as unknown and gets a snapshot. */
typedef struct _PresEventLog PresEventLog;

typedef void (*PresEventLogFunc) (const char *participant_id,
                                  PresState   state,
                                  gpointer    user_data);

PresEventLog *pres_event_log_new (guint capacity);
void          pres_event_log_free (PresEventLog *self);

void     pres_event_log_append (PresEventLog *self,
                                const char   *participant_id,
                                PresState     state);
/* The cursor of the latest event. */
char    *pres_event_log_get_cursor (PresEventLog *self);
/* Calls func for each event after cursor, oldest first; FALSE (and no call)
 * when the cursor is malformed, from another run, or older than the log. */
gboolean pres_event_log_replay (PresEventLog    *self,
                                const char      *cursor,
                                PresEventLogFunc func,
                                gpointer         user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresEventLog, pres_event_log_free)

G_END_DECLS
