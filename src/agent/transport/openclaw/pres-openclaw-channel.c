#define G_LOG_DOMAIN "pres-openclaw"

#include "config.h"

#include "pres-openclaw-errors.h"
#include "pres-openclaw-private.h"

/*
 * One WebSocket to the gateway in one role, driven by phases: the socket
 * opens, the gateway sends its challenge, our signed connect gets
 * hello-ok, and from then on requests flow. Refusals, closes and silence
 * end in the transport's fail (through PresOpenclawUp), which drops both connections and
 * owns the single retry timer, so there is never more than one attempt
 * under way.
 */

void
pres_openclaw_channel_init (PresOpenclawChannel *channel,
                            PresOpenclawTransport *transport,
                            PresOpenclawRole role)
{
  channel->transport = transport;
  channel->role = role;
  channel->tick_ms = 30000;
}

void
pres_openclaw_channel_drop (PresOpenclawChannel *channel)
{
  g_cancellable_cancel (channel->attempt_cancellable);
  g_clear_object (&channel->attempt_cancellable);
  g_clear_handle_id (&channel->handshake_id, g_source_remove);
  g_clear_handle_id (&channel->watchdog_id, g_source_remove);
  g_clear_pointer (&channel->connect_id, g_free);
  if (channel->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (channel->ws, channel);
      if (soup_websocket_connection_get_state (channel->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (channel->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&channel->ws);
    }
  channel->phase = PHASE_IDLE;
}

void
pres_openclaw_channel_clear (PresOpenclawChannel *channel)
{
  pres_openclaw_channel_drop (channel);
  g_clear_pointer (&channel->device_token, g_free);
}

static const char *
token_key (PresOpenclawChannel *channel)
{
  /* The operator's token keeps the name it had before there was a node. */
  return channel->role == PRES_OPENCLAW_ROLE_NODE ? "node" : NULL;
}

void
pres_openclaw_channel_load_token (PresOpenclawChannel *channel)
{
  PresOpenclawTransport *self = channel->transport;

  g_free (channel->device_token);
  channel->device_token = self->open_url ? pres_openclaw_device_token_load (
                            self->state_dir, self->core.server_url, token_key (channel))
                                         : NULL;
  channel->use_device_token = FALSE;
}

gboolean
pres_openclaw_channel_is_ready (PresOpenclawChannel *channel)
{
  return channel->phase == PHASE_READY;
}

void
pres_openclaw_channel_send (PresOpenclawChannel *channel, const char *frame)
{
  g_return_if_fail (channel->ws != NULL);
  soup_websocket_connection_send_text (channel->ws, frame);
}

static const char *
role_name (PresOpenclawChannel *channel)
{
  return pres_openclaw_role_to_string (channel->role);
}

static gboolean
on_handshake_timeout (gpointer user_data)
{
  PresOpenclawChannel *channel = user_data;
  g_autofree char *message
    = g_strdup_printf ("The gateway did not complete the %s handshake", role_name (channel));

  channel->handshake_id = 0;
  PRES_OPENCLAW_UP (channel->transport)
    ->fail (channel->transport, PRES_CONNECTION_ERROR, message, 0);
  return G_SOURCE_REMOVE;
}

/* The gateway pings every 25 s and ticks every 30 s: a long silence means
 * the connection died without a close (a suspended laptop, a lost route). */
static gboolean
on_watchdog (gpointer user_data)
{
  PresOpenclawChannel *channel = user_data;
  gint64 silent_ms = (g_get_monotonic_time () - channel->last_frame) / 1000;

  if (silent_ms > 2 * (gint64)channel->tick_ms + 15000)
    {
      channel->watchdog_id = 0;
      PRES_OPENCLAW_UP (channel->transport)
        ->fail (channel->transport, PRES_CONNECTION_ERROR, "The gateway went silent", 0);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
send_connect (PresOpenclawChannel *channel, JsonNode *payload)
{
  PresOpenclawTransport *self = channel->transport;
  g_autoptr (GError) error = NULL;
  g_autofree char *nonce = NULL;
  g_autofree char *frame = NULL;
  g_auto (PresHostPrivacy) privacy = { 0 };
  PresOpenclawConnect connect = { 0 };
  gint64 ts;

  if (!pres_openclaw_parse_challenge (payload, &nonce, &ts, &error))
    {
      PRES_OPENCLAW_UP (self)->fail (self, PRES_CONNECTION_ERROR, error->message, 0);
      return;
    }
  pres_host_privacy_init_from_settings (&privacy, self->core.settings);
  channel->connect_id = PRES_OPENCLAW_UP (self)->next_request_id (self, "connect");
  connect.role = channel->role;
  connect.declare_activity
    = channel->role == PRES_OPENCLAW_ROLE_NODE && PRES_OPENCLAW_UP (self)->reports_activity (self);
  connect.request_id = channel->connect_id;
  connect.instance_id = self->core.instance_id;
  if (privacy.share_host_name)
    connect.display_name = privacy.host_alias ? privacy.host_alias : self->host_info->host_name;
  if (privacy.share_device_model)
    connect.model_identifier = self->host_info->model;
  connect.token = channel->use_device_token ? NULL : self->core.token;
  connect.device_token = channel->device_token;
  connect.nonce = nonce;
  /* The gateway checks signedAt against its own clock: its challenge time
   * keeps a skewed local clock out of the way. */
  connect.signed_at = ts;
  channel->declared_activity = connect.declare_activity;
  /* Said when it matters: the idle source may be chosen only after start. */
  if (channel->role == PRES_OPENCLAW_ROLE_NODE && !connect.declare_activity)
    g_message ("No idle source: this computer reports no activity to the gateway and cannot "
               "become its active computer");
  frame = pres_openclaw_build_connect (&connect, self->identity);
  g_debug ("Connecting as %s %s with the %s%s", role_name (channel),
           pres_openclaw_identity_get_id (self->identity),
           connect.token ? "gateway token" : "device token",
           connect.declare_activity ? ", declaring activity reports" : "");
  soup_websocket_connection_send_text (channel->ws, frame);
  explicit_bzero (frame, strlen (frame));
  channel->phase = PHASE_HELLO;
}

static void
on_hello (PresOpenclawChannel *channel, JsonNode *payload)
{
  PresOpenclawTransport *self = channel->transport;
  g_autofree char *device_token = NULL;
  g_autoptr (GError) error = NULL;

  pres_openclaw_parse_hello (payload, &device_token, &channel->tick_ms);
  if (device_token != NULL && g_strcmp0 (device_token, channel->device_token) != 0)
    {
      if (!pres_openclaw_device_token_save (self->state_dir, self->core.server_url,
                                            token_key (channel), device_token, &error))
        g_warning ("Cannot keep the gateway's device token: %s", error->message);
      g_free (channel->device_token);
      channel->device_token = g_steal_pointer (&device_token);
    }
  g_clear_handle_id (&channel->handshake_id, g_source_remove);
  channel->phase = PHASE_READY;
  g_debug ("Connected as %s (tick %u ms)", role_name (channel), channel->tick_ms);
  channel->watchdog_id = g_timeout_add_seconds (WATCHDOG_PERIOD_S, on_watchdog, channel);
  PRES_OPENCLAW_UP (self)->channel_ready (self, channel);
}

static void
on_refused (PresOpenclawChannel *channel, JsonObject *error)
{
  PresOpenclawTransport *self = channel->transport;
  g_autoptr (PresOpenclawFailure) failure = pres_openclaw_failure_new (error, TRUE);

  if (failure->retry == PRES_OPENCLAW_RETRY_DEVICE_TOKEN && channel->device_token != NULL
      && !channel->use_device_token)
    {
      g_message ("The gateway refused the token; trying the device token it gave earlier");
      channel->use_device_token = TRUE;
      PRES_OPENCLAW_UP (self)->channel_lost (self);
      PRES_OPENCLAW_UP (self)->retry_in (self, 0);
      return;
    }
  if (g_str_equal (failure->code, "AUTH_DEVICE_TOKEN_MISMATCH") && channel->device_token != NULL)
    {
      /* Revoked on the gateway: only the shared token can pair us again. */
      pres_openclaw_device_token_save (self->state_dir, self->core.server_url, token_key (channel),
                                       NULL, NULL);
      g_clear_pointer (&channel->device_token, g_free);
    }
  channel->use_device_token = FALSE;
  /* Perhaps the token file or the keyring holds a better one by then. */
  if (failure->connection == PRES_CONNECTION_UNAUTHORIZED)
    pres_transport_core_forget_token (&self->core);
  PRES_OPENCLAW_UP (self)->fail (self, failure->connection, failure->message,
                                 failure->retry == PRES_OPENCLAW_RETRY_BACKOFF
                                   ? failure->retry_ms
                                   : MAX (failure->retry_ms, 1000));
}

static void
on_message (SoupWebsocketConnection *ws, int type, GBytes *message, PresOpenclawChannel *channel)
{
  PresOpenclawTransport *self = channel->transport;
  g_autoptr (PresOpenclawFrame) frame = NULL;
  g_autoptr (GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (message, &length);

  channel->last_frame = g_get_monotonic_time ();
  if (type != SOUP_WEBSOCKET_DATA_TEXT
      || (frame = pres_openclaw_frame_parse (data, length, &error)) == NULL)
    {
      /* Before hello-ok nothing but the protocol is acceptable. */
      if (channel->phase != PHASE_READY)
        PRES_OPENCLAW_UP (self)->fail (self, PRES_CONNECTION_ERROR,
                                       error ? error->message : "The gateway sent binary data", 0);
      else
        g_debug ("Ignoring a frame: %s", error ? error->message : "binary");
      return;
    }

  if (frame->kind == PRES_OPENCLAW_FRAME_EVENT)
    {
      if (g_str_equal (frame->event, "connect.challenge") && channel->phase == PHASE_CHALLENGE)
        send_connect (channel, frame->payload);
      else if (g_str_equal (frame->event, "shutdown"))
        /* The close follows; a restarting gateway needs a moment. */
        PRES_OPENCLAW_UP (self)->fail (self, PRES_CONNECTION_ERROR, "The gateway is shutting down",
                                       0);
      else if (channel->phase == PHASE_READY)
        PRES_OPENCLAW_UP (self)->channel_event (self, channel, frame);
      return;
    }

  if (channel->connect_id != NULL && g_str_equal (frame->id, channel->connect_id)
      && channel->phase == PHASE_HELLO)
    {
      if (frame->ok)
        on_hello (channel, frame->payload);
      else
        on_refused (channel, frame->error);
    }
  else if (channel->phase == PHASE_READY)
    PRES_OPENCLAW_UP (self)->channel_response (self, channel, frame, data, length);
}

/* libsoup says why it gave up (a frame above our bound, a protocol
 * error) here, just before "closed". */
static void
on_error (SoupWebsocketConnection *ws, GError *error, PresOpenclawChannel *channel)
{
  channel->too_big = g_error_matches (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  g_debug ("WebSocket error: %s", error->message);
}

static void
on_closed (SoupWebsocketConnection *ws, PresOpenclawChannel *channel)
{
  g_autofree char *message = NULL;
  gushort code = soup_websocket_connection_get_close_code (ws);

  if (channel->phase == PHASE_CLOSING)
    {
      g_debug ("The %s connection closed for the leave", role_name (channel));
      pres_openclaw_channel_drop (channel);
      PRES_OPENCLAW_UP (channel->transport)->channel_closed (channel->transport, channel);
      return;
    }
  /* A frame above our bound, which libsoup refuses unread. */
  message = channel->too_big ? g_strdup_printf ("The gateway sent a frame larger than %u bytes",
                                                PRES_OPENCLAW_MAX_FRAME_BYTES)
            : code != 0      ? g_strdup_printf ("The gateway closed the %s connection (code %u)",
                                                role_name (channel), code)
                             : g_strdup ("The connection to the gateway broke");
  PRES_OPENCLAW_UP (channel->transport)
    ->fail (channel->transport, PRES_CONNECTION_ERROR, message, 0);
}

static void
on_websocket (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PresOpenclawChannel *channel = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupWebsocketConnection) ws = NULL;
  g_autofree char *message = NULL;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  /* Cancelled: the channel may be gone; nothing of it is touched. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (ws == NULL)
    {
      message = g_strdup_printf ("Cannot reach the gateway: %s", error->message);
      PRES_OPENCLAW_UP (channel->transport)
        ->fail (channel->transport, PRES_CONNECTION_ERROR, message, 0);
      return;
    }
  channel->ws = g_steal_pointer (&ws);
  soup_websocket_connection_set_max_incoming_payload_size (channel->ws,
                                                           PRES_OPENCLAW_MAX_FRAME_BYTES);
  g_signal_connect (channel->ws, "message", G_CALLBACK (on_message), channel);
  g_signal_connect (channel->ws, "error", G_CALLBACK (on_error), channel);
  g_signal_connect (channel->ws, "closed", G_CALLBACK (on_closed), channel);
  channel->too_big = FALSE;
  channel->last_frame = g_get_monotonic_time ();
  channel->phase = PHASE_CHALLENGE;
}

void
pres_openclaw_channel_open (PresOpenclawChannel *channel)
{
  PresOpenclawTransport *self = channel->transport;
  g_autoptr (SoupMessage) msg = NULL;

  if (channel->phase != PHASE_IDLE)
    return;
  msg = soup_message_new ("GET", self->open_url);
  if (msg == NULL)
    {
      PRES_OPENCLAW_UP (self)->fail (self, PRES_CONNECTION_ERROR,
                                     "The gateway URL cannot be opened",
                                     PRES_OPENCLAW_RETRY_MISMATCH_MS);
      return;
    }
  g_debug ("Opening %s as %s", self->core.server_url, role_name (channel));
  channel->phase = PHASE_OPENING;
  channel->attempt_cancellable = g_cancellable_new ();
  channel->handshake_id
    = g_timeout_add_seconds (HANDSHAKE_TIMEOUT_S, on_handshake_timeout, channel);
  /* No Origin: with one, the gateway treats us as a browser page and
   * refuses silent pairing on loopback. The callback holds no reference:
   * a drop cancels it before the channel goes. */
  soup_session_websocket_connect_async (self->core.soup, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        channel->attempt_cancellable, on_websocket, channel);
}

gboolean
pres_openclaw_channel_close (PresOpenclawChannel *channel)
{
  if (channel->ws == NULL
      || soup_websocket_connection_get_state (channel->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    {
      pres_openclaw_channel_drop (channel);
      return FALSE;
    }
  g_clear_handle_id (&channel->handshake_id, g_source_remove);
  g_clear_handle_id (&channel->watchdog_id, g_source_remove);
  channel->phase = PHASE_CLOSING;
  g_signal_handlers_disconnect_by_func (channel->ws, on_message, channel);
  soup_websocket_connection_close (channel->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "leaving");
  return TRUE;
}
