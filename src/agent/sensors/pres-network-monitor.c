#define G_LOG_DOMAIN "pres-network"

#include "pres-network-monitor.h"

/*
 * network-changed comes in bursts (one per route while an interface comes
 * up), and a reconnect per signal would hammer the server just when the
 * network is least ready. Each change restarts the timer, so the agent acts
 * once the burst is over.
 */

struct _PresNetworkMonitor
{
  GObject parent_instance;

  GNetworkMonitor *monitor;
  guint debounce_ms;
  guint timer_id;
};

G_DEFINE_TYPE (PresNetworkMonitor, pres_network_monitor, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gboolean
on_settled (gpointer user_data)
{
  PresNetworkMonitor *self = user_data;

  self->timer_id = 0;
  g_debug ("Network changed: available %d, connectivity %d",
           g_network_monitor_get_network_available (self->monitor),
           g_network_monitor_get_connectivity (self->monitor));
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return G_SOURCE_REMOVE;
}

static void
on_change (PresNetworkMonitor *self)
{
  g_clear_handle_id (&self->timer_id, g_source_remove);
  self->timer_id = g_timeout_add (self->debounce_ms, on_settled, self);
}

static void
pres_network_monitor_dispose (GObject *object)
{
  PresNetworkMonitor *self = PRES_NETWORK_MONITOR (object);

  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);

  G_OBJECT_CLASS (pres_network_monitor_parent_class)->dispose (object);
}

static void
pres_network_monitor_class_init (PresNetworkMonitorClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pres_network_monitor_dispose;

  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pres_network_monitor_init (PresNetworkMonitor *self)
{
}

PresNetworkMonitor *
pres_network_monitor_new (GNetworkMonitor *monitor, guint debounce_ms)
{
  PresNetworkMonitor *self;

  g_return_val_if_fail (monitor == NULL || G_IS_NETWORK_MONITOR (monitor), NULL);

  self = g_object_new (PRES_TYPE_NETWORK_MONITOR, NULL);
  self->monitor = g_object_ref (monitor ? monitor : g_network_monitor_get_default ());
  self->debounce_ms = debounce_ms;
  g_signal_connect_swapped (self->monitor, "network-changed", G_CALLBACK (on_change), self);
  g_signal_connect_swapped (self->monitor, "notify::network-available", G_CALLBACK (on_change),
                            self);
  g_signal_connect_swapped (self->monitor, "notify::connectivity", G_CALLBACK (on_change), self);
  return self;
}
