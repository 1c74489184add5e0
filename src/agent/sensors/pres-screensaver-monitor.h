#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PRES_TYPE_SCREENSAVER_MONITOR (pres_screensaver_monitor_get_type ())
G_DECLARE_FINAL_TYPE (PresScreensaverMonitor,
                      pres_screensaver_monitor,
                      PRES,
                      SCREENSAVER_MONITOR,
                      GObject)

/*
 * The screen lock as the session's screensaver tells it: GNOME Shell's
 * org.gnome.ScreenSaver and KDE's org.freedesktop.ScreenSaver, both by
 * ActiveChanged. "locked" is TRUE while either says active. A screensaver
 * that leaves the bus counts as unlocked.
 */
PresScreensaverMonitor *pres_screensaver_monitor_new (GDBusConnection *bus);

gboolean pres_screensaver_monitor_get_locked (PresScreensaverMonitor *self);

G_END_DECLS
