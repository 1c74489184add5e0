#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PRES_TYPE_DND_MONITOR (pres_dnd_monitor_get_type ())
G_DECLARE_FINAL_TYPE (PresDndMonitor, pres_dnd_monitor, PRES, DND_MONITOR, GObject)

/*
 * The desktop's Do Not Disturb: GNOME's org.gnome.desktop.notifications
 * show-banners (false = DND; only where that schema is installed) and
 * KDE's org.freedesktop.Notifications Inhibited property. "dnd" is TRUE
 * while either says so.
 */
PresDndMonitor *pres_dnd_monitor_new (GDBusConnection *bus);

gboolean pres_dnd_monitor_get_dnd (PresDndMonitor *self);

G_END_DECLS
