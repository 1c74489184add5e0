#pragma once

#include <glib.h>

#include "pres-state.h"

G_BEGIN_DECLS

/* What happened to one member (participant, instance), as the stream's
 * member events tell it: Ably's enter, update and leave. */
typedef enum
{
  PRES_MEMBER_ENTER,  /* a new member, or a new session of one that had left */
  PRES_MEMBER_UPDATE, /* its state or its data changed */
  PRES_MEMBER_LEAVE,
} PresMemberAction;

typedef enum
{
  PRES_MEMBER_LEFT = 1, /* a DELETE of its live session */
  PRES_MEMBER_EXPIRED,  /* its deadline passed without a heartbeat */
  PRES_MEMBER_REPLACED, /* a newer session of the same instance took over */
} PresMemberReason;

typedef struct
{
  gint refs;
  PresMemberAction action;
  PresMemberReason reason; /* a leave's, else 0 */
  char *participant_id;
  char *instance_id;
  PresState state;             /* the member's own; a leave: the last it had */
  PresState participant_state; /* the participant's raw state after the event */
  char *data;                  /* compact JSON object, or NULL */
  char *client_reason;         /* a leave left: the client's reason, or NULL */
  gint64 at_ms;                /* the store's clock, ms since the epoch */
  /* Where the store that emitted it keeps it, for pres_store_cursor_covers()
   * (the memory store's sequence; a Redis bucket and its stream id). */
  guint shard;
  guint64 order[2];
} PresMemberEvent;

/* Takes copies of the strings; refs = 1. */
PresMemberEvent *pres_member_event_new (PresMemberAction action,
                                        PresMemberReason reason,
                                        const char      *participant_id,
                                        const char      *instance_id,
                                        PresState        state,
                                        PresState        participant_state,
                                        const char      *data,
                                        const char      *client_reason,
                                        gint64           at_ms);
PresMemberEvent *pres_member_event_ref (PresMemberEvent *event);
void             pres_member_event_unref (PresMemberEvent *event);

const char *pres_member_action_to_string (PresMemberAction action);
gboolean    pres_member_action_from_string (const char       *name,
                                            PresMemberAction *action);
const char *pres_member_reason_to_string (PresMemberReason reason);

/* The event as the stream sends it:
 * {"action","participant_id","instance_id","state","data"?,"reason"?,
 *  "client_reason"?,"ts"}. */
void pres_member_event_append_json (const PresMemberEvent *event,
                                    GString               *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresMemberEvent, pres_member_event_unref)

G_END_DECLS
