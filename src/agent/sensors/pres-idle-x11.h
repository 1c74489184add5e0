#pragma once

#include "pres-idle-source.h"

G_BEGIN_DECLS

#define PRES_TYPE_IDLE_X11 (pres_idle_x11_get_type ())
G_DECLARE_DERIVABLE_TYPE (PresIdleX11, pres_idle_x11, PRES, IDLE_X11, PresIdleSource)

/*
 * X11 idle sources: "x11-sync" (SYNC IDLETIME alarms, event-driven) and,
 * where the server lacks SYNC or its IDLETIME counter, "x11-screensaver"
 * (XScreenSaverQueryInfo with adaptive sleeps).
 *
 * Only for real X11 sessions: under Xwayland the counters do not see input
 * that goes to Wayland clients, so the constructors refuse to run when
 * WAYLAND_DISPLAY is set. They fail with PRES_ERROR_NOT_SUPPORTED when
 * there is no display, the extension is missing, or X11 support was not
 * built.
 *
 * Signals: "lost" — the X server closed the connection. The source is
 * dead afterwards; the agent treats this as the end of the session.
 */

PresIdleSource *pres_idle_x11_new             (GError **error);

/* XScreenSaver even when SYNC works: for tests and broken servers. */
PresIdleSource *pres_idle_x11_new_screensaver (GError **error);

gboolean        pres_idle_x11_is_lost         (PresIdleX11 *self);

G_END_DECLS
