#define G_LOG_DOMAIN "pres-openclaw"

#include "config.h"

#include <libsoup/soup.h>

#include "pres-backoff.h"
#include "pres-openclaw-errors.h"
#include "pres-openclaw-frames.h"
#include "pres-openclaw-private.h"
#include "pres-token-source.h"

/*
 * The transport's connection, driven by phases: the socket opens, the
 * gateway sends its challenge, our signed connect gets hello-ok, and from
 * then on beacons flow. Every way out (a refusal, a close, silence, a
 * leave) goes through pres_openclaw_session_drop(), and every way back in
 * through the transport's single retry timer, so there is never more than
 * one attempt under way.
 */

/* Forgets the socket without a word to the gateway: for failures, where
 * the gateway is gone or has already said its last. */
void
pres_openclaw_session_drop (PresOpenclawTransport *self)
{
  g_cancellable_cancel (self->attempt_cancellable);
  g_clear_object (&self->attempt_cancellable);
  g_clear_handle_id (&self->beat_id, g_source_remove);
  g_clear_handle_id (&self->handshake_id, g_source_remove);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_clear_pointer (&self->connect_id, g_free);
  if (self->ws != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->ws, self);
      if (soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_clear_object (&self->ws);
    }
  self->phase = PHASE_IDLE;
}

static gboolean
on_leave_deadline (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->leave_deadline_id = 0;
  g_debug ("The gateway did not answer the close in time");
  pres_openclaw_transport_left (self);
  return G_SOURCE_REMOVE;
}

static void
on_token_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PresOpenclawTransport) self = user_data;
  g_autoptr (GError) error = NULL;
  PresTokenOrigin origin;

  if (!pres_transport_core_take_token (&self->core, result, &origin, &error))
    return;
  if (error != NULL)
    {
      pres_openclaw_transport_fail (self, PRES_CONNECTION_ERROR, error->message,
                                    PRES_OPENCLAW_RETRY_AUTH_MS);
      return;
    }
  if (self->core.token == NULL && self->device_token == NULL)
    {
      pres_openclaw_transport_fail (
        self, PRES_CONNECTION_UNAUTHORIZED,
        "No gateway token: give the agent the gateway's token (gateway.auth.token) with "
        "--token-file or “presencectl login”",
        PRES_OPENCLAW_RETRY_AUTH_MS);
      return;
    }
  self->core.token_known = TRUE;
  g_debug ("Using the %s",
           self->core.token ? pres_token_origin_to_string (origin) : "device token");
  pres_openclaw_session_open (self);
}

static gboolean
on_handshake_timeout (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->handshake_id = 0;
  pres_openclaw_transport_fail (self, PRES_CONNECTION_ERROR,
                                "The gateway did not complete the handshake", 0);
  return G_SOURCE_REMOVE;
}

/* The gateway pings every 25 s and ticks every 30 s: a long silence means
 * the connection died without a close (a suspended laptop, a lost route). */
static gboolean
on_watchdog (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;
  gint64 silent_ms = (g_get_monotonic_time () - self->last_frame) / 1000;

  if (silent_ms > 2 * (gint64)self->tick_ms + 15000)
    {
      self->watchdog_id = 0;
      pres_openclaw_transport_fail (self, PRES_CONNECTION_ERROR, "The gateway went silent", 0);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_beat (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->beat_id = 0;
  pres_openclaw_session_beacon (self, "periodic");
  return G_SOURCE_REMOVE;
}

static char *
next_request_id (PresOpenclawTransport *self, const char *method)
{
  return g_strdup_printf ("%s-%" G_GUINT64_FORMAT, method, ++self->next_request);
}

static void
on_built (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PresOpenclawTransport) self = user_data;
  g_autoptr (PresHeartbeat) hb = pres_heartbeat_builder_build_finish (result, NULL);
  g_autofree char *id = NULL;
  g_autofree char *frame = NULL;
  const char *pending;

  if (g_cancellable_is_cancelled (self->core.cancellable))
    return;
  self->building = FALSE;
  /* Offline meanwhile: the state change closes the connection. */
  if (hb == NULL || self->phase != PHASE_READY)
    return;
  id = next_request_id (self, "beacon");
  frame = pres_openclaw_build_system_event (id, self->core.instance_id, hb);
  g_debug ("Beacon %s, last input %" G_GINT64_FORMAT " s (%s)", pres_state_to_string (hb->state),
           hb->last_input_seconds, hb->reason);
  soup_websocket_connection_send_text (self->ws, frame);

  g_clear_handle_id (&self->beat_id, g_source_remove);
  self->beat_id = g_timeout_add (pres_backoff_jitter_interval (self->core.rand, BEACON_INTERVAL_MS),
                                 on_beat, self);

  pending = g_steal_pointer (&self->pending_reason);
  if (pending != NULL)
    pres_openclaw_session_beacon (self, pending);
}

/* Every beacon carries the full state: one asked for while another is
 * being built merges into the next. */
void
pres_openclaw_session_beacon (PresOpenclawTransport *self, const char *reason)
{
  if (self->phase != PHASE_READY)
    return; /* hello-ok sends one */
  if (self->building)
    {
      self->pending_reason = reason;
      return;
    }
  self->building = TRUE;
  pres_heartbeat_builder_build_async (self->core.builder, reason, self->core.cancellable, on_built,
                                      g_object_ref (self));
}

static void
send_connect (PresOpenclawTransport *self, JsonNode *payload)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *nonce = NULL;
  g_autofree char *frame = NULL;
  g_auto (PresHostPrivacy) privacy = { 0 };
  PresOpenclawConnect connect = { 0 };
  gint64 ts;

  if (!pres_openclaw_parse_challenge (payload, &nonce, &ts, &error))
    {
      pres_openclaw_transport_fail (self, PRES_CONNECTION_ERROR, error->message, 0);
      return;
    }
  pres_host_privacy_init_from_settings (&privacy, self->core.settings);
  self->connect_id = next_request_id (self, "connect");
  connect.request_id = self->connect_id;
  connect.instance_id = self->core.instance_id;
  if (privacy.share_host_name)
    connect.display_name = privacy.host_alias ? privacy.host_alias : self->host_info->host_name;
  if (privacy.share_device_model)
    connect.model_identifier = self->host_info->model;
  connect.token = self->use_device_token ? NULL : self->core.token;
  connect.device_token = self->device_token;
  connect.nonce = nonce;
  /* The gateway checks signedAt against its own clock: its challenge time
   * keeps a skewed local clock out of the way. */
  connect.signed_at = ts;
  frame = pres_openclaw_build_connect (&connect, self->identity);
  g_debug ("Connecting as device %s with the %s", pres_openclaw_identity_get_id (self->identity),
           connect.token ? "gateway token" : "device token");
  soup_websocket_connection_send_text (self->ws, frame);
  explicit_bzero (frame, strlen (frame));
  self->phase = PHASE_HELLO;
}

static void
on_hello (PresOpenclawTransport *self, JsonNode *payload)
{
  g_autofree char *device_token = NULL;
  g_autoptr (GError) error = NULL;

  pres_openclaw_parse_hello (payload, &device_token, &self->tick_ms);
  if (device_token != NULL && g_strcmp0 (device_token, self->device_token) != 0)
    {
      if (!pres_openclaw_device_token_save (self->state_dir, self->core.server_url, device_token,
                                            &error))
        g_warning ("Cannot keep the gateway's device token: %s", error->message);
      g_free (self->device_token);
      self->device_token = g_steal_pointer (&device_token);
    }
  g_clear_handle_id (&self->handshake_id, g_source_remove);
  self->phase = PHASE_READY;
  pres_backoff_reset (self->core.backoff);
  pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTED);
  pres_link_set_last_error (self->core.link, NULL);
  g_debug ("Connected to the gateway (tick %u ms)", self->tick_ms);
  self->watchdog_id = g_timeout_add_seconds (WATCHDOG_PERIOD_S, on_watchdog, self);
  pres_openclaw_session_beacon (self, "connect");
}

static void
on_refused (PresOpenclawTransport *self, JsonObject *error, gboolean in_connect)
{
  g_autoptr (PresOpenclawFailure) failure = pres_openclaw_failure_new (error, in_connect);

  if (!in_connect)
    {
      /* The connection stays up; the next beacon may fare better. */
      g_message ("%s", failure->message);
      pres_link_set_connection (self->core.link, failure->connection);
      pres_link_set_last_error (self->core.link, failure->message);
      return;
    }
  if (failure->retry == PRES_OPENCLAW_RETRY_DEVICE_TOKEN && self->device_token != NULL
      && !self->use_device_token)
    {
      g_message ("The gateway refused the token; trying the device token it gave earlier");
      self->use_device_token = TRUE;
      pres_openclaw_session_drop (self);
      pres_openclaw_transport_retry_in (self, 0);
      return;
    }
  if (g_str_equal (failure->code, "AUTH_DEVICE_TOKEN_MISMATCH") && self->device_token != NULL)
    {
      /* Revoked on the gateway: only the shared token can pair us again. */
      pres_openclaw_device_token_save (self->state_dir, self->core.server_url, NULL, NULL);
      g_clear_pointer (&self->device_token, g_free);
    }
  self->use_device_token = FALSE;
  /* Perhaps the token file or the keyring holds a better one by then. */
  if (failure->connection == PRES_CONNECTION_UNAUTHORIZED)
    pres_transport_core_forget_token (&self->core);
  pres_openclaw_transport_fail (self, failure->connection, failure->message,
                                failure->retry == PRES_OPENCLAW_RETRY_BACKOFF
                                  ? failure->retry_ms
                                  : MAX (failure->retry_ms, 1000));
}

static void
on_message (SoupWebsocketConnection *ws, int type, GBytes *message, PresOpenclawTransport *self)
{
  g_autoptr (PresOpenclawFrame) frame = NULL;
  g_autoptr (GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (message, &length);

  self->last_frame = g_get_monotonic_time ();
  if (type != SOUP_WEBSOCKET_DATA_TEXT
      || (frame = pres_openclaw_frame_parse (data, length, &error)) == NULL)
    {
      /* Before hello-ok nothing but the protocol is acceptable. */
      if (self->phase != PHASE_READY)
        pres_openclaw_transport_fail (self, PRES_CONNECTION_ERROR,
                                      error ? error->message : "The gateway sent binary data", 0);
      else
        g_debug ("Ignoring a frame: %s", error ? error->message : "binary");
      return;
    }

  if (frame->kind == PRES_OPENCLAW_FRAME_EVENT)
    {
      if (g_str_equal (frame->event, "connect.challenge") && self->phase == PHASE_CHALLENGE)
        send_connect (self, frame->payload);
      else if (g_str_equal (frame->event, "shutdown"))
        /* The close follows; a restarting gateway needs a moment. */
        pres_openclaw_transport_fail (self, PRES_CONNECTION_ERROR, "The gateway is shutting down",
                                      0);
      return;
    }

  if (self->connect_id != NULL && g_str_equal (frame->id, self->connect_id))
    {
      if (frame->ok)
        on_hello (self, frame->payload);
      else
        on_refused (self, frame->error, TRUE);
    }
  else if (g_str_has_prefix (frame->id, "beacon-") && self->phase == PHASE_READY)
    {
      if (!frame->ok)
        on_refused (self, frame->error, FALSE);
      else
        {
          g_autofree char *reply = g_strndup (data, MIN (length, 1024));

          pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTED);
          pres_link_set_last_error (self->core.link, NULL);
          pres_link_set_last_heartbeat (self->core.link, g_get_real_time () / 1000);
          pres_link_set_last_reply (self->core.link, reply);
        }
    }
}

static void
on_closed (SoupWebsocketConnection *ws, PresOpenclawTransport *self)
{
  g_autofree char *message = NULL;
  gushort code = soup_websocket_connection_get_close_code (ws);

  if (self->phase == PHASE_CLOSING)
    {
      g_debug ("Connection closed for the leave");
      pres_openclaw_transport_left (self);
      return;
    }
  message = code != 0 ? g_strdup_printf ("The gateway closed the connection (code %u)", code)
                      : g_strdup ("The connection to the gateway broke");
  pres_openclaw_transport_fail (self, PRES_CONNECTION_ERROR, message, 0);
}

static void
on_websocket (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PresOpenclawTransport) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupWebsocketConnection) ws = NULL;
  g_autofree char *message = NULL;

  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (ws == NULL)
    {
      message = g_strdup_printf ("Cannot reach the gateway: %s", error->message);
      pres_openclaw_transport_fail (self, PRES_CONNECTION_ERROR, message, 0);
      return;
    }
  self->ws = g_steal_pointer (&ws);
  soup_websocket_connection_set_max_incoming_payload_size (self->ws, PRES_OPENCLAW_MAX_FRAME_BYTES);
  g_signal_connect (self->ws, "message", G_CALLBACK (on_message), self);
  g_signal_connect (self->ws, "closed", G_CALLBACK (on_closed), self);
  self->last_frame = g_get_monotonic_time ();
  self->phase = PHASE_CHALLENGE;
}

void
pres_openclaw_session_open (PresOpenclawTransport *self)
{
  g_autoptr (SoupMessage) msg = NULL;

  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (!self->core.started || pres_openclaw_transport_is_offline (self) || self->open_url == NULL
      || self->phase != PHASE_IDLE)
    return;
  if (!self->core.token_known)
    {
      pres_transport_core_lookup_token (&self->core, self, on_token_found);
      return;
    }

  msg = soup_message_new ("GET", self->open_url);
  if (msg == NULL)
    {
      pres_openclaw_transport_fail (self, PRES_CONNECTION_ERROR, "The gateway URL cannot be opened",
                                    PRES_OPENCLAW_RETRY_MISMATCH_MS);
      return;
    }
  g_debug ("Opening %s", self->core.server_url);
  if (pres_link_get_connection (self->core.link) == PRES_CONNECTION_DISCONNECTED)
    pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTING);
  self->phase = PHASE_OPENING;
  self->attempt_cancellable = g_cancellable_new ();
  self->handshake_id = g_timeout_add_seconds (HANDSHAKE_TIMEOUT_S, on_handshake_timeout, self);
  /* No Origin: with one, the gateway treats us as a browser page and
   * refuses silent pairing on loopback. */
  soup_session_websocket_connect_async (self->core.soup, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->attempt_cancellable, on_websocket,
                                        g_object_ref (self));
}

/* Closes with a close frame and waits for the gateway's answer (or the
 * deadline); "left" and a disconnected link follow. */
void
pres_openclaw_session_leave (PresOpenclawTransport *self)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (self->ws != NULL
      && soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    {
      g_clear_handle_id (&self->beat_id, g_source_remove);
      g_clear_handle_id (&self->handshake_id, g_source_remove);
      g_clear_handle_id (&self->watchdog_id, g_source_remove);
      self->phase = PHASE_CLOSING;
      g_signal_handlers_disconnect_by_func (self->ws, on_message, self);
      soup_websocket_connection_close (self->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, "leaving");
      g_clear_handle_id (&self->leave_deadline_id, g_source_remove);
      self->leave_deadline_id = g_timeout_add (LEAVE_DEADLINE_MS, on_leave_deadline, self);
      return;
    }
  pres_openclaw_transport_left (self);
}
