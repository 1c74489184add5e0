#define G_LOG_DOMAIN "pres-http"

#include "pres-http-transport-private.h"

/*
 * What the rest of the agent asks of the transport (PresTransport): start,
 * reconnect, the network or the machine came back, quit with a leave; and
 * what settings changes mean.
 */

#define QUIT_DEADLINE_MS 1800

static void
drop_connection_and_send (PresHttpTransport *self, const char *reason)
{
  pres_backoff_reset (self->core.backoff);
  pres_connection_watch_forget (self->watch);
  pres_http_transport_schedule_now (self, reason);
  /* Cancels a request under way; its callback dispatches what is queued. */
  soup_session_abort (self->core.soup);
}

static void
reconnect (PresTransport *transport)
{
  PresHttpTransport *self = PRES_HTTP_TRANSPORT (transport);

  pres_http_transport_check_server_url (self);
  if (self->base_url != NULL)
    pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTING);
  drop_connection_and_send (self, "connect");
}

static void
network_changed (PresTransport *transport)
{
  PresHttpTransport *self = PRES_HTTP_TRANSPORT (transport);

  if (self->core.started && self->core.quit_reason == NULL && !self->left)
    drop_connection_and_send (self, "network");
}

static void
resume (PresTransport *transport)
{
  PresHttpTransport *self = PRES_HTTP_TRANSPORT (transport);

  if (self->core.started && self->core.quit_reason == NULL && !self->left)
    drop_connection_and_send (self, "resume");
}

void
pres_http_transport_settings_changed (GSettings *settings, const char *key, PresHttpTransport *self)
{
  PresTransportSetting setting;

  if (!self->core.started)
    return;
  setting = pres_transport_core_classify_setting (&self->core, key);
  if (setting == PRES_TRANSPORT_SETTING_SERVER)
    {
      pres_http_transport_check_server_url (self);
      /* Another server, perhaps another token. */
      pres_transport_core_forget_token (&self->core);
      drop_connection_and_send (self, "connect");
    }
  else if (setting == PRES_TRANSPORT_SETTING_PRIVACY)
    /* Withdrawn consent should reach the server now, not in 30 s. */
    pres_http_transport_schedule_change (self, "settings");
}

static void
start (PresTransport *transport)
{
  PresHttpTransport *self = PRES_HTTP_TRANSPORT (transport);

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

static void
leave (PresTransport *transport, const char *reason)
{
  PresHttpTransport *self = PRES_HTTP_TRANSPORT (transport);

  self->quit_deadline_id = g_timeout_add (QUIT_DEADLINE_MS, on_quit_deadline, self);
  pres_connection_watch_forget (self->watch);
  pres_http_transport_schedule_now (self, reason);
  /* A heartbeat under way is dropped rather than waited for: quitting must
   * not take longer because the server is slow. */
  if (self->busy)
    soup_session_abort (self->core.soup);
}

static PresTransportCore *
get_core (PresTransport *transport)
{
  return &PRES_HTTP_TRANSPORT (transport)->core;
}

void
pres_http_transport_iface_init (PresTransportInterface *iface)
{
  iface->get_core = get_core;
  iface->start = start;
  iface->reconnect = reconnect;
  iface->network_changed = network_changed;
  iface->resume = resume;
  iface->leave = leave;
}
