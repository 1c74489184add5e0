#pragma once

#include "pres-idle-source.h"

G_BEGIN_DECLS

#define PRES_TYPE_IDLE_MUTTER (pres_idle_mutter_get_type ())
G_DECLARE_FINAL_TYPE (PresIdleMutter, pres_idle_mutter, PRES, IDLE_MUTTER, PresIdleSource)

#define PRES_IDLE_MUTTER_BUS_NAME "org.gnome.Mutter.IdleMonitor"

/*
 * GNOME's idle monitor (org.gnome.Mutter.IdleMonitor on the session bus,
 * served by Mutter and gnome-shell on Wayland and X11). Event-driven: an idle
 * watch at the timeout and a one-shot user-active watch armed each time input
 * goes idle. The watches belong to Mutter's process, so they are added again
 * whenever the name gets a new owner. GetIdleTime is Mutter's own count.
 */
PresIdleSource *pres_idle_mutter_new (GDBusConnection *bus);

G_END_DECLS
