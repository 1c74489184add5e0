#pragma once

#include "pres-idle-source.h"

G_BEGIN_DECLS

#define PRES_TYPE_IDLE_WAYLAND (pres_idle_wayland_get_type ())
G_DECLARE_DERIVABLE_TYPE (PresIdleWayland, pres_idle_wayland, PRES, IDLE_WAYLAND, PresIdleSource)

/*
 * Wayland idle sources: "ext-idle-notify" (ext_idle_notifier_v1), else
 * "kde-idle" (org_kde_kwin_idle, e.g. sway 1.7). The constructor fails
 * with PRES_ERROR_NOT_SUPPORTED when WAYLAND_DISPLAY is unset, the
 * compositor cannot be reached, it offers neither global, or Wayland
 * support was not built.
 *
 * These protocols only report the crossing of a threshold, never a number.
 * The idle time is therefore 0 while active and, once idle, the time since
 * the idle notification plus the timeout: a lower bound of the real idle
 * time, exact when the notification object was created before the last
 * input.
 *
 * Signals: "lost" — the compositor closed the connection. The source is
 * dead afterwards; the agent treats this as the end of the session.
 */

PresIdleSource *pres_idle_wayland_new     (GError **error);

gboolean        pres_idle_wayland_is_lost (PresIdleWayland *self);

G_END_DECLS
