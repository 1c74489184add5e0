#define G_LOG_DOMAIN "pres-transport"

#include "pres-transport.h"

#include "pres-transport-core.h"

G_DEFINE_INTERFACE (PresTransport, pres_transport, G_TYPE_OBJECT)

enum
{
  SIGNAL_LEFT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
pres_transport_default_init (PresTransportInterface *iface)
{
  /* The leave is out (or failed, or was not needed): the sleep or shutdown
   * it was sent for may go ahead. */
  signals[SIGNAL_LEFT] = g_signal_new ("left", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static PresTransportCore *
get_core (PresTransport *self)
{
  return PRES_TRANSPORT_GET_IFACE (self)->get_core (self);
}

void
pres_transport_start (PresTransport *self)
{
  g_return_if_fail (PRES_IS_TRANSPORT (self));
  g_return_if_fail (!get_core (self)->started);

  get_core (self)->started = TRUE;
  PRES_TRANSPORT_GET_IFACE (self)->start (self);
}

void
pres_transport_reconnect (PresTransport *self)
{
  PresTransportCore *core;

  g_return_if_fail (PRES_IS_TRANSPORT (self));
  core = get_core (self);
  if (!core->started || core->quit_reason != NULL)
    return;
  g_debug ("Reconnecting on request");
  pres_transport_core_forget_token (core);
  PRES_TRANSPORT_GET_IFACE (self)->reconnect (self);
}

void
pres_transport_network_changed (PresTransport *self)
{
  g_return_if_fail (PRES_IS_TRANSPORT (self));
  PRES_TRANSPORT_GET_IFACE (self)->network_changed (self);
}

void
pres_transport_resume (PresTransport *self)
{
  g_return_if_fail (PRES_IS_TRANSPORT (self));
  PRES_TRANSPORT_GET_IFACE (self)->resume (self);
}

void
pres_transport_leave_async (PresTransport *self,
                            const char *reason,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);
  PresTransportCore *core;

  g_return_if_fail (PRES_IS_TRANSPORT (self));
  g_task_set_source_tag (task, pres_transport_leave_async);
  core = get_core (self);
  if (core->quit_reason != NULL || !core->started)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  core->quit_task = g_steal_pointer (&task);
  core->quit_reason = g_strdup (reason);
  PRES_TRANSPORT_GET_IFACE (self)->leave (self, reason);
}

gboolean
pres_transport_leave_finish (PresTransport *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
pres_transport_emit_left (PresTransport *self)
{
  g_signal_emit (self, signals[SIGNAL_LEFT], 0);
}
