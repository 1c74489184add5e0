#pragma once

#include "pres-model.h"
#include "sensors/pres-idle-source.h"

G_BEGIN_DECLS

/* The gateway's own pacing for activity reports (its presence docs):
 * newer input at most every 15 s, and a keepalive every 3 min while the
 * user is away. */
#define PRES_OPENCLAW_ACTIVITY_GAP_MS 15000
#define PRES_OPENCLAW_ACTIVITY_KEEPALIVE_MS (3 * 60 * 1000)

/* When the last report went out and what it said, on the monotonic clock;
 * pure, for the tests. */
typedef struct
{
  gboolean reported;
  gint64 sent_at_ms;
  gint64 active_at_ms; /* the input time the last report implies */
} PresOpenclawActivityClock;

/* Milliseconds until a report saying IDLE_SECONDS at NOW_MS is due: 0 for
 * now. Newer input waits out the gap; the same input waits for the
 * keepalive. */
gint64 pres_openclaw_activity_clock_due (const PresOpenclawActivityClock *clock,
                                         gint64 now_ms,
                                         gint64 idle_seconds);
void pres_openclaw_activity_clock_sent (PresOpenclawActivityClock *clock,
                                        gint64 now_ms,
                                        gint64 idle_seconds);

/*
 * Reports this desktop's input activity to the gateway's node registry,
 * where the freshest connected node becomes the "active computer". Only
 * while someone may be seen at the desk: online, idle and busy (busy means
 * the user is there, not away); a lock, appearing offline or a leave
 * withdraws the last report with the clear action.
 *
 * SEND gets the idle seconds to report, or -1 for the clear action.
 */
typedef void (*PresOpenclawActivitySend) (gpointer user_data, gint64 idle_seconds);

typedef struct _PresOpenclawActivity PresOpenclawActivity;

PresOpenclawActivity *pres_openclaw_activity_new (PresModel *model,
                                                  PresIdleSource *idle_source,
                                                  PresOpenclawActivitySend send,
                                                  gpointer user_data);
void pres_openclaw_activity_free (PresOpenclawActivity *self);

/* The node connection is up and paired: reports may go. */
void pres_openclaw_activity_start (PresOpenclawActivity *self);
/* The connection is gone, and the gateway forgot its activity with it. */
void pres_openclaw_activity_stop (PresOpenclawActivity *self);
/* The model changed: report, withdraw or wait as it now says. */
void pres_openclaw_activity_update (PresOpenclawActivity *self);
/* For a leave: withdraws a standing report. TRUE if a clear went out. */
gboolean pres_openclaw_activity_withdraw (PresOpenclawActivity *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresOpenclawActivity, pres_openclaw_activity_free)

G_END_DECLS
