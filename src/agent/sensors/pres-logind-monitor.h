#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PRES_TYPE_LOGIND_MONITOR (pres_logind_monitor_get_type ())
G_DECLARE_FINAL_TYPE (PresLogindMonitor, pres_logind_monitor, PRES, LOGIND_MONITOR, GObject)

/*
 * Facts from systemd-logind (or elogind) on the system bus: our session's
 * "locked" (LockedHint, Lock, Unlock) and "session-active", sleep and
 * shutdown, and the end of the session.
 *
 * It holds a delay inhibitor for sleep and shutdown. "prepare-for-sleep"
 * (TRUE) and "prepare-for-shutdown" (TRUE) tell that the machine is going
 * down; the inhibitor holds it until pres_logind_monitor_release_delay()
 * says the leave is out, or a safety timeout well under logind's
 * InhibitDelayMaxSec. "prepare-for-sleep" (FALSE) comes once per resume,
 * however often logind says so, followed by "resumed"; the inhibitor is
 * taken again first. "session-ended" comes once, when logind removes our
 * session or starts closing it.
 *
 * Without logind the monitor is simply "available" FALSE: every fact keeps
 * its neutral value (unlocked, active).
 */
PresLogindMonitor *pres_logind_monitor_new (void);

/* Starts watching; BUS NULL = the system bus. */
void pres_logind_monitor_start (PresLogindMonitor *self, GDBusConnection *bus);

/* The leave is sent: let the machine sleep or shut down. */
void pres_logind_monitor_release_delay (PresLogindMonitor *self);

gboolean pres_logind_monitor_get_available (PresLogindMonitor *self);
gboolean pres_logind_monitor_get_locked (PresLogindMonitor *self);
gboolean pres_logind_monitor_get_session_active (PresLogindMonitor *self);
/* Our session's object path, NULL until found. */
const char *pres_logind_monitor_get_session_path (PresLogindMonitor *self);
/* Whether a delay inhibitor is held now (for tests and Explain). */
gboolean pres_logind_monitor_get_inhibited (PresLogindMonitor *self);

G_END_DECLS
