#pragma once

#include "pres-idle-source.h"

G_BEGIN_DECLS

#define PRES_TYPE_IDLE_SELECT (pres_idle_select_get_type ())
G_DECLARE_FINAL_TYPE (PresIdleSelect, pres_idle_select, PRES, IDLE_SELECT, PresIdleSource)

/*
 * The idle source the agent uses: it picks the best backend this desktop
 * offers and stands for it, so everyone keeps one object while the backend
 * changes underneath. Its "name" is the backend's ("none" until one works,
 * and for good when none does); "idle", the timeout and the idle time go
 * through to the backend.
 *
 * The order: GNOME's idle monitor whenever its name has an owner (on
 * Wayland and X11); then, by session type (XDG_SESSION_TYPE, else
 * WAYLAND_DISPLAY, else DISPLAY), the Wayland protocols or, only in a real
 * X11 session, the X11 sources; then logind's IdleHint; then none. GNOME may
 * start the agent before Mutter is on the bus, so the choice moves to Mutter
 * whenever its name appears.
 *
 * Signals: "display-lost" — the X server or Wayland compositor of the
 * source in use closed its connection, which ends the session.
 */
PresIdleSource *pres_idle_select_new    (void);
void            pres_idle_select_start  (PresIdleSelect *self);

/* Adds the backend's watches again: its timers are stale after a resume. */
void            pres_idle_select_rearm  (PresIdleSelect *self);

/* The backend in use, NULL for none (for tests). */
PresIdleSource *pres_idle_select_get_active (PresIdleSelect *self);

G_END_DECLS
