#pragma once

#include <libayatana-appindicator/app-indicator.h>

G_BEGIN_DECLS

/*
 * The tray's AppIndicator, without the library's fallback to an XEmbed
 * GtkStatusIcon when the StatusNotifierWatcher goes away. No current panel
 * shows such an icon; where one did, a second icon appeared beside the
 * registered one after the watcher came back; and the library's fallback
 * code reads past the end of the icon theme's search path when an icon
 * theme path is set (the agent's uninstalled runs), a crash. The item
 * registers again by itself when a watcher returns.
 */
AppIndicator *pres_tray_indicator_new (const char *id, const char *icon_name);

G_END_DECLS
