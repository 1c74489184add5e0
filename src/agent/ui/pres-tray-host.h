#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PRES_TYPE_TRAY_HOST (pres_tray_host_get_type ())
G_DECLARE_FINAL_TYPE (PresTrayHost, pres_tray_host, PRES, TRAY_HOST, GObject)

/*
 * Whether a tray icon can be seen on this session: the
 * org.kde.StatusNotifierWatcher name on the session bus ("watcher", the
 * moment to register an item: also when it comes back after a restart) and
 * a tray host registered with it ("host-registered").
 *
 * When no icon can be seen GRACE_MS after creation (no watcher, no host, or
 * no display at all: pres_tray_host_set_can_show()), one desktop
 * notification tells how to set the state without a tray. At most one per
 * run: a panel that comes and goes must not nag. From then on "hint" says in
 * one sentence why no icon is seen and what gets one (on GNOME Shell: the
 * AppIndicator extension), NULL while one is seen.
 */
PresTrayHost *pres_tray_host_new (guint grace_ms);

gboolean pres_tray_host_get_watcher         (PresTrayHost *self);
gboolean pres_tray_host_get_host_registered (PresTrayHost *self);
const char *pres_tray_host_get_hint         (PresTrayHost *self);
void     pres_tray_host_set_can_show        (PresTrayHost *self,
                                             gboolean      can_show);

G_END_DECLS
