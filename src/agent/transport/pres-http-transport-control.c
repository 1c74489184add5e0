#define G_LOG_DOMAIN "pres-http"

#include "pres-http-transport-private.h"

/*
 * What the rest of the agent asks of the transport: start, reconnect, the
 * network or the machine came back, settings changed, quit with a leave.
 */

#define QUIT_DEADLINE_MS 1800

static void
drop_connection_and_send (PresHttpTransport *self, const char *reason)
{
  pres_backoff_reset (self->backoff);
  pres_connection_watch_forget (self->watch);
  pres_http_transport_schedule_now (self, reason);
  /* Cancels a request under way; its callback dispatches what is queued. */
  soup_session_abort (self->soup);
}

void
pres_http_transport_reconnect (PresHttpTransport *self)
{
  g_return_if_fail (PRES_IS_HTTP_TRANSPORT (self));
  if (!self->started || self->quit_reason != NULL)
    return;
  g_debug ("Reconnecting on request");
  if (!self->token_lookup_running)
    self->token_known = FALSE;
  pres_http_transport_check_server_url (self);
  if (self->base_url != NULL)
    pres_link_set_connection (self->link, PRES_CONNECTION_CONNECTING);
  drop_connection_and_send (self, "connect");
}

void
pres_http_transport_network_changed (PresHttpTransport *self)
{
  g_return_if_fail (PRES_IS_HTTP_TRANSPORT (self));
  if (self->started && self->quit_reason == NULL && !self->left)
    drop_connection_and_send (self, "network");
}

void
pres_http_transport_resume (PresHttpTransport *self)
{
  g_return_if_fail (PRES_IS_HTTP_TRANSPORT (self));
  if (self->started && self->quit_reason == NULL && !self->left)
    drop_connection_and_send (self, "resume");
}

void
pres_http_transport_settings_changed (GSettings *settings, const char *key, PresHttpTransport *self)
{
  if (!self->started)
    return;
  if (g_str_equal (key, "server-url") || g_str_equal (key, "allow-insecure"))
    {
      if (g_str_equal (key, "server-url") && self->server_override != NULL)
        return;
      pres_http_transport_check_server_url (self);
      if (!self->token_lookup_running)
        self->token_known = FALSE; /* another server, perhaps another token */
      drop_connection_and_send (self, "connect");
    }
  else if (g_str_equal (key, "share-host-name") || g_str_equal (key, "host-alias")
           || g_str_equal (key, "share-device-model"))
    /* Withdrawn consent should reach the server now, not in 30 s. */
    pres_http_transport_schedule_change (self, "settings");
}

void
pres_http_transport_start (PresHttpTransport *self)
{
  g_return_if_fail (PRES_IS_HTTP_TRANSPORT (self));
  g_return_if_fail (!self->started);

  self->started = TRUE;
  pres_http_transport_check_server_url (self);
  pres_http_transport_dispatch (self, "connect");
}

static gboolean
on_quit_deadline (gpointer user_data)
{
  PresHttpTransport *self = user_data;

  self->quit_deadline_id = 0;
  g_warning ("The server did not confirm the leave in time; quitting anyway");
  pres_http_transport_finish_quit (self);
  return G_SOURCE_REMOVE;
}

void
pres_http_transport_leave_async (PresHttpTransport *self,
                                 const char *reason,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);

  g_return_if_fail (PRES_IS_HTTP_TRANSPORT (self));
  g_task_set_source_tag (task, pres_http_transport_leave_async);

  if (self->quit_reason != NULL || !self->started)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  self->quit_task = g_steal_pointer (&task);
  self->quit_reason = g_strdup (reason);
  self->quit_deadline_id = g_timeout_add (QUIT_DEADLINE_MS, on_quit_deadline, self);
  pres_connection_watch_forget (self->watch);
  pres_http_transport_schedule_now (self, reason);
  /* A heartbeat under way is dropped rather than waited for: quitting must
   * not take longer because the server is slow. */
  if (self->busy)
    soup_session_abort (self->soup);
}

gboolean
pres_http_transport_leave_finish (PresHttpTransport *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
