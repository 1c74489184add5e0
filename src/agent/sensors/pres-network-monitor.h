#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PRES_TYPE_NETWORK_MONITOR (pres_network_monitor_get_type ())
G_DECLARE_FINAL_TYPE (PresNetworkMonitor, pres_network_monitor, PRES, NETWORK_MONITOR, GObject)

/*
 * Reports "changed" once the network has settled after a change: routes,
 * availability or connectivity (GNetworkMonitor's NetworkManager backend
 * tells connectivity only through notify::connectivity). Changes closer
 * than DEBOUNCE_MS on the monotonic clock make one "changed", sent
 * DEBOUNCE_MS after the last of them.
 */
#define PRES_NETWORK_DEBOUNCE_MS 1000

/* MONITOR NULL = g_network_monitor_get_default (). */
PresNetworkMonitor *pres_network_monitor_new (GNetworkMonitor *monitor, guint debounce_ms);

G_END_DECLS
