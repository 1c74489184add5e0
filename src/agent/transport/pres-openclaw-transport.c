#define G_LOG_DOMAIN "pres-openclaw"

#include "config.h"

#include "pres-openclaw-transport.h"

#include <libsoup/soup.h>

#include "pres-backoff.h"
#include "pres-error.h"
#include "pres-heartbeat-builder.h"
#include "pres-host-info.h"
#include "pres-openclaw-errors.h"
#include "pres-openclaw-frames.h"
#include "pres-openclaw-identity.h"
#include "pres-server-url.h"
#include "pres-token-source.h"

/*
 * One connection at a time, driven by phases: the socket opens, the
 * gateway sends its challenge, our signed connect gets hello-ok, and from
 * then on beacons flow. Every way out (a refusal, a close, silence, a
 * leave) goes through drop_socket(), and every way back in through a single
 * retry timer, so there is never more than one attempt under way.
 */

#define BEACON_INTERVAL_MS 30000
#define HANDSHAKE_TIMEOUT_S 30
#define LEAVE_DEADLINE_MS 1800
#define WATCHDOG_PERIOD_S 15
#define RECONNECT_MAX_MS 5000

typedef enum
{
  PHASE_IDLE,      /* no socket: waiting for a retry, a token, or off line */
  PHASE_OPENING,   /* the WebSocket upgrade is under way */
  PHASE_CHALLENGE, /* waiting for connect.challenge */
  PHASE_HELLO,     /* our connect is out, waiting for hello-ok */
  PHASE_READY,     /* beacons flow */
  PHASE_CLOSING,   /* a leave: our close frame is out */
} Phase;

struct _PresOpenclawTransport
{
  GObject parent_instance;

  PresModel *model;
  PresLink *link;
  GSettings *settings;
  char *instance_id;
  char *state_dir;
  char *server_override;
  char *token_file;

  SoupSession *soup;
  GCancellable *cancellable;         /* the object's lifetime */
  GCancellable *attempt_cancellable; /* one connection attempt */
  SoupWebsocketConnection *ws;
  PresOpenclawIdentity *identity;
  PresHeartbeatBuilder *builder;
  PresHostInfo *host_info;
  GRand *rand;
  PresBackoff *backoff;

  char *server_url; /* as configured: tokens are filed under it */
  char *open_url;   /* NULL while server_url is refused */
  char *token;
  char *device_token;
  gboolean token_known;
  gboolean token_lookup_running;
  gboolean use_device_token;

  Phase phase;
  guint64 next_request;
  char *connect_id;
  guint tick_ms;
  gint64 last_frame; /* monotonic µs of the last frame from the gateway */

  guint retry_id;
  guint beat_id;
  guint handshake_id;
  guint watchdog_id;
  guint leave_deadline_id;

  gboolean building;
  const char *pending_reason; /* a beacon wanted while one is being built */

  gboolean started;
  GTask *quit_task;
  char *quit_reason;
};

G_DEFINE_TYPE (PresOpenclawTransport, pres_openclaw_transport, G_TYPE_OBJECT)

enum
{
  SIGNAL_LEFT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void open_socket (PresOpenclawTransport *self);
static void send_beacon (PresOpenclawTransport *self, const char *reason);

char *
pres_openclaw_check_url (const char *url, gboolean allow_insecure, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  const char *scheme;
  gboolean secure;

  uri = url ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  scheme = uri ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0'
      || scheme == NULL
      || !(g_str_equal (scheme, "ws") || g_str_equal (scheme, "wss")
           || g_str_equal (scheme, "http") || g_str_equal (scheme, "https")))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "The gateway URL must look like ws://HOST:PORT or wss://HOST:PORT");
      return NULL;
    }
  if (g_uri_get_user (uri) != NULL)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "The gateway URL must not hold a user name or password: give the token "
                   "with --token-file or “presencectl login”");
      return NULL;
    }
  secure = g_str_equal (scheme, "wss") || g_str_equal (scheme, "https");
  if (!secure && !allow_insecure && !pres_server_url_host_is_loopback (g_uri_get_host (uri)))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "The gateway %s is not on this computer: use wss://, or turn on "
                   "allow-insecure to send the token in the clear",
                   g_uri_get_host (uri));
      return NULL;
    }
  /* libsoup opens WebSockets from an http(s) message. */
  return g_uri_join (G_URI_FLAGS_NONE, secure ? "https" : "http", NULL, g_uri_get_host (uri),
                     g_uri_get_port (uri), *g_uri_get_path (uri) ? g_uri_get_path (uri) : "/",
                     g_uri_get_query (uri), NULL);
}

static void
finish_quit (PresOpenclawTransport *self)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->quit_task);

  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}

static gboolean
quitting (PresOpenclawTransport *self)
{
  return self->quit_reason != NULL;
}

static gboolean
offline (PresOpenclawTransport *self)
{
  return quitting (self) || pres_model_get_state (self->model) == PRES_STATE_OFFLINE;
}

/* Forgets the socket without a word to the gateway: for failures, where
 * the gateway is gone or has already said its last. */
static void
drop_socket (PresOpenclawTransport *self)
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

/* The connection is closed (or given up on) for a leave: a sleep or
 * shutdown waiting for it may go ahead. */
static void
finish_leave (PresOpenclawTransport *self)
{
  g_clear_handle_id (&self->leave_deadline_id, g_source_remove);
  drop_socket (self);
  pres_link_set_connection (self->link, PRES_CONNECTION_DISCONNECTED);
  g_signal_emit (self, signals[SIGNAL_LEFT], 0);
  finish_quit (self);
}

static gboolean
on_leave_deadline (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->leave_deadline_id = 0;
  g_debug ("The gateway did not answer the close in time");
  finish_leave (self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_retry (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->retry_id = 0;
  open_socket (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (PresOpenclawTransport *self, guint delay_ms)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_id = g_timeout_add (delay_ms, on_retry, self);
}

/* Drops the connection and says why; tries again in RETRY_MS (0: per the
 * backoff). The message goes to LastError with the retry time. */
static void
fail (PresOpenclawTransport *self, PresConnection connection, const char *message, guint retry_ms)
{
  g_autofree char *text = NULL;

  drop_socket (self);
  /* The backoff doubles as usual but stops at RECONNECT_MAX_MS: a gateway
   * serves one person's few devices, so there is no crowd to spread out,
   * and after a restart the user expects to be back in seconds. */
  if (retry_ms == 0)
    retry_ms = MIN (pres_backoff_next (self->backoff),
                    (guint)g_rand_int_range (self->rand, RECONNECT_MAX_MS * 4 / 5,
                                             RECONNECT_MAX_MS * 6 / 5));
  text = g_strdup_printf ("%s; retrying in %u s", message, (retry_ms + 999) / 1000);
  g_message ("%s", text);
  pres_link_set_connection (self->link, connection);
  pres_link_set_last_error (self->link, text);
  schedule_retry (self, retry_ms);
}

static void
check_server_url (PresOpenclawTransport *self)
{
  g_autoptr (GError) error = NULL;

  g_free (self->server_url);
  self->server_url = self->server_override
                       ? g_strdup (self->server_override)
                       : g_settings_get_string (self->settings, "server-url");
  pres_link_set_server (self->link, self->server_url);
  g_free (self->open_url);
  self->open_url = pres_openclaw_check_url (
    self->server_url, g_settings_get_boolean (self->settings, "allow-insecure"), &error);
  if (self->open_url == NULL)
    {
      g_message ("%s", error->message);
      pres_link_set_connection (self->link, PRES_CONNECTION_ERROR);
      pres_link_set_last_error (self->link, error->message);
    }
  g_free (self->device_token);
  self->device_token = self->open_url
                         ? pres_openclaw_device_token_load (self->state_dir, self->server_url)
                         : NULL;
}

static void
on_token_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PresOpenclawTransport) self = user_data;
  g_autoptr (GError) error = NULL;
  PresTokenOrigin origin;
  char *token = pres_token_lookup_finish (result, &origin, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self->token_lookup_running = FALSE;
  if (self->token != NULL)
    explicit_bzero (self->token, strlen (self->token));
  g_free (self->token);
  self->token = token;
  if (error != NULL)
    {
      fail (self, PRES_CONNECTION_ERROR, error->message, PRES_OPENCLAW_RETRY_AUTH_MS);
      return;
    }
  if (token == NULL && self->device_token == NULL)
    {
      fail (self, PRES_CONNECTION_UNAUTHORIZED,
            "No gateway token: give the agent the gateway's token (gateway.auth.token) with "
            "--token-file or “presencectl login”",
            PRES_OPENCLAW_RETRY_AUTH_MS);
      return;
    }
  self->token_known = TRUE;
  g_debug ("Using the %s", token ? pres_token_origin_to_string (origin) : "device token");
  open_socket (self);
}

static gboolean
on_handshake_timeout (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->handshake_id = 0;
  fail (self, PRES_CONNECTION_ERROR, "The gateway did not complete the handshake", 0);
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
      fail (self, PRES_CONNECTION_ERROR, "The gateway went silent", 0);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_beat (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->beat_id = 0;
  send_beacon (self, "periodic");
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

  if (g_cancellable_is_cancelled (self->cancellable))
    return;
  self->building = FALSE;
  /* Offline meanwhile: the state change closes the connection. */
  if (hb == NULL || self->phase != PHASE_READY)
    return;
  id = next_request_id (self, "beacon");
  frame = pres_openclaw_build_system_event (id, self->instance_id, hb);
  g_debug ("Beacon %s, last input %" G_GINT64_FORMAT " s (%s)", pres_state_to_string (hb->state),
           hb->last_input_seconds, hb->reason);
  soup_websocket_connection_send_text (self->ws, frame);

  g_clear_handle_id (&self->beat_id, g_source_remove);
  self->beat_id
    = g_timeout_add (pres_backoff_jitter_interval (self->rand, BEACON_INTERVAL_MS), on_beat, self);

  pending = g_steal_pointer (&self->pending_reason);
  if (pending != NULL)
    send_beacon (self, pending);
}

/* Every beacon carries the full state: one asked for while another is
 * being built merges into the next. */
static void
send_beacon (PresOpenclawTransport *self, const char *reason)
{
  if (self->phase != PHASE_READY)
    return; /* hello-ok sends one */
  if (self->building)
    {
      self->pending_reason = reason;
      return;
    }
  self->building = TRUE;
  pres_heartbeat_builder_build_async (self->builder, reason, self->cancellable, on_built,
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
      fail (self, PRES_CONNECTION_ERROR, error->message, 0);
      return;
    }
  pres_host_privacy_init_from_settings (&privacy, self->settings);
  self->connect_id = next_request_id (self, "connect");
  connect.request_id = self->connect_id;
  connect.instance_id = self->instance_id;
  if (privacy.share_host_name)
    connect.display_name = privacy.host_alias ? privacy.host_alias : self->host_info->host_name;
  if (privacy.share_device_model)
    connect.model_identifier = self->host_info->model;
  connect.token = self->use_device_token ? NULL : self->token;
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
      if (!pres_openclaw_device_token_save (self->state_dir, self->server_url, device_token, &error))
        g_warning ("Cannot keep the gateway's device token: %s", error->message);
      g_free (self->device_token);
      self->device_token = g_steal_pointer (&device_token);
    }
  g_clear_handle_id (&self->handshake_id, g_source_remove);
  self->phase = PHASE_READY;
  pres_backoff_reset (self->backoff);
  pres_link_set_connection (self->link, PRES_CONNECTION_CONNECTED);
  pres_link_set_last_error (self->link, NULL);
  g_debug ("Connected to the gateway (tick %u ms)", self->tick_ms);
  self->watchdog_id = g_timeout_add_seconds (WATCHDOG_PERIOD_S, on_watchdog, self);
  send_beacon (self, "connect");
}

static void
on_refused (PresOpenclawTransport *self, JsonObject *error, gboolean in_connect)
{
  g_autoptr (PresOpenclawFailure) failure = pres_openclaw_failure_new (error, in_connect);

  if (!in_connect)
    {
      /* The connection stays up; the next beacon may fare better. */
      g_message ("%s", failure->message);
      pres_link_set_connection (self->link, failure->connection);
      pres_link_set_last_error (self->link, failure->message);
      return;
    }
  if (failure->retry == PRES_OPENCLAW_RETRY_DEVICE_TOKEN && self->device_token != NULL
      && !self->use_device_token)
    {
      g_message ("The gateway refused the token; trying the device token it gave earlier");
      self->use_device_token = TRUE;
      drop_socket (self);
      schedule_retry (self, 0);
      return;
    }
  if (g_str_equal (failure->code, "AUTH_DEVICE_TOKEN_MISMATCH") && self->device_token != NULL)
    {
      /* Revoked on the gateway: only the shared token can pair us again. */
      pres_openclaw_device_token_save (self->state_dir, self->server_url, NULL, NULL);
      g_clear_pointer (&self->device_token, g_free);
    }
  self->use_device_token = FALSE;
  fail (self, failure->connection, failure->message,
        failure->retry == PRES_OPENCLAW_RETRY_BACKOFF ? failure->retry_ms
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
        fail (self, PRES_CONNECTION_ERROR,
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
        fail (self, PRES_CONNECTION_ERROR, "The gateway is shutting down", 0);
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
          pres_link_set_connection (self->link, PRES_CONNECTION_CONNECTED);
          pres_link_set_last_error (self->link, NULL);
          pres_link_set_last_heartbeat (self->link, g_get_real_time () / 1000);
          pres_link_set_last_reply (self->link, data);
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
      finish_leave (self);
      return;
    }
  message = code != 0 ? g_strdup_printf ("The gateway closed the connection (code %u)", code)
                      : g_strdup ("The connection to the gateway broke");
  fail (self, PRES_CONNECTION_ERROR, message, 0);
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
      fail (self, PRES_CONNECTION_ERROR, message, 0);
      return;
    }
  self->ws = g_steal_pointer (&ws);
  soup_websocket_connection_set_max_incoming_payload_size (self->ws,
                                                           PRES_OPENCLAW_MAX_FRAME_BYTES);
  g_signal_connect (self->ws, "message", G_CALLBACK (on_message), self);
  g_signal_connect (self->ws, "closed", G_CALLBACK (on_closed), self);
  self->last_frame = g_get_monotonic_time ();
  self->phase = PHASE_CHALLENGE;
}

static void
open_socket (PresOpenclawTransport *self)
{
  g_autoptr (SoupMessage) msg = NULL;

  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (!self->started || offline (self) || self->open_url == NULL || self->phase != PHASE_IDLE)
    return;
  if (!self->token_known)
    {
      if (!self->token_lookup_running)
        {
          self->token_lookup_running = TRUE;
          pres_token_lookup_async (self->token_file, self->server_url, self->cancellable,
                                   on_token_found, g_object_ref (self));
        }
      return;
    }

  msg = soup_message_new ("GET", self->open_url);
  if (msg == NULL)
    {
      fail (self, PRES_CONNECTION_ERROR, "The gateway URL cannot be opened",
            PRES_OPENCLAW_RETRY_MISMATCH_MS);
      return;
    }
  g_debug ("Opening %s", self->server_url);
  if (pres_link_get_connection (self->link) == PRES_CONNECTION_DISCONNECTED)
    pres_link_set_connection (self->link, PRES_CONNECTION_CONNECTING);
  self->phase = PHASE_OPENING;
  self->attempt_cancellable = g_cancellable_new ();
  self->handshake_id = g_timeout_add_seconds (HANDSHAKE_TIMEOUT_S, on_handshake_timeout, self);
  /* No Origin: with one, the gateway treats us as a browser page and
   * refuses silent pairing on loopback. */
  soup_session_websocket_connect_async (self->soup, msg, NULL, NULL, G_PRIORITY_DEFAULT,
                                        self->attempt_cancellable, on_websocket,
                                        g_object_ref (self));
}

/* Closes with a close frame and waits for the gateway's answer (or the
 * deadline); "left" and a disconnected link follow. */
static void
close_for_leave (PresOpenclawTransport *self)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (self->ws != NULL && soup_websocket_connection_get_state (self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
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
  finish_leave (self);
}

static const char *
reason_for_change (PresState state, PresState previous, PresReason reason)
{
  if (previous == PRES_STATE_OFFLINE)
    return reason == PRES_REASON_RESUME ? "resume" : "connect";
  return pres_reason_to_string (reason);
}

static void
on_state_changed (PresModel *model,
                  PresState state,
                  PresState previous,
                  PresReason reason,
                  PresOpenclawTransport *self)
{
  if (!self->started || quitting (self))
    return;
  if (state == PRES_STATE_OFFLINE)
    {
      g_debug ("Offline (%s): closing the connection", pres_reason_to_string (reason));
      close_for_leave (self);
    }
  else if (self->phase == PHASE_READY)
    send_beacon (self, reason_for_change (state, previous, reason));
  else if (self->phase == PHASE_IDLE && previous == PRES_STATE_OFFLINE)
    {
      /* Back from sleep: now, whatever the backoff said. */
      pres_backoff_reset (self->backoff);
      open_socket (self);
    }
}

/* Tries at once: a new network, a resume or the user asking. */
static void
reopen_now (PresOpenclawTransport *self)
{
  if (!self->started || offline (self))
    return;
  drop_socket (self);
  pres_backoff_reset (self->backoff);
  self->use_device_token = FALSE;
  open_socket (self);
}

void
pres_openclaw_transport_reconnect (PresOpenclawTransport *self)
{
  g_return_if_fail (PRES_IS_OPENCLAW_TRANSPORT (self));
  if (!self->started || quitting (self))
    return;
  g_debug ("Reconnecting on request");
  if (!self->token_lookup_running)
    self->token_known = FALSE;
  check_server_url (self);
  pres_link_set_connection (self->link, PRES_CONNECTION_CONNECTING);
  reopen_now (self);
}

void
pres_openclaw_transport_network_changed (PresOpenclawTransport *self)
{
  g_return_if_fail (PRES_IS_OPENCLAW_TRANSPORT (self));
  /* A connection that still works is kept: the watchdog notices dead ones. */
  if (self->phase == PHASE_IDLE)
    reopen_now (self);
}

void
pres_openclaw_transport_resume (PresOpenclawTransport *self)
{
  g_return_if_fail (PRES_IS_OPENCLAW_TRANSPORT (self));
  /* Whatever was open before the sleep is dead on the gateway's side; an
   * attempt under way was made after it. */
  if (self->phase == PHASE_IDLE || self->phase == PHASE_READY)
    reopen_now (self);
}

static void
on_settings_changed (GSettings *settings, const char *key, PresOpenclawTransport *self)
{
  if (!self->started || quitting (self))
    return;
  if (g_str_equal (key, "server-url") || g_str_equal (key, "allow-insecure"))
    {
      if (g_str_equal (key, "server-url") && self->server_override != NULL)
        return;
      if (!self->token_lookup_running)
        self->token_known = FALSE;
      check_server_url (self);
      reopen_now (self);
    }
  else if (g_str_equal (key, "share-host-name") || g_str_equal (key, "host-alias")
           || g_str_equal (key, "share-device-model"))
    /* The beacon row changes now; the connection's displayName with the
     * next connection. */
    send_beacon (self, "settings");
}

void
pres_openclaw_transport_start (PresOpenclawTransport *self)
{
  g_autoptr (GError) error = NULL;

  g_return_if_fail (PRES_IS_OPENCLAW_TRANSPORT (self));
  g_return_if_fail (!self->started);

  self->started = TRUE;
  check_server_url (self);
  self->identity = pres_openclaw_identity_load (self->state_dir, &error);
  if (self->identity == NULL)
    {
      /* Nothing to retry: the user must fix or remove the key file. */
      g_warning ("%s", error->message);
      pres_link_set_connection (self->link, PRES_CONNECTION_ERROR);
      pres_link_set_last_error (self->link, error->message);
      self->open_url = (g_free (self->open_url), NULL);
      return;
    }
  open_socket (self);
}

void
pres_openclaw_transport_leave_async (PresOpenclawTransport *self,
                                     const char *reason,
                                     GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);

  g_return_if_fail (PRES_IS_OPENCLAW_TRANSPORT (self));
  g_task_set_source_tag (task, pres_openclaw_transport_leave_async);
  if (quitting (self) || !self->started)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_debug ("Leaving (%s)", reason);
  self->quit_task = g_steal_pointer (&task);
  self->quit_reason = g_strdup (reason);
  g_cancellable_cancel (self->cancellable);
  close_for_leave (self);
}

gboolean
pres_openclaw_transport_leave_finish (PresOpenclawTransport *self,
                                      GAsyncResult *result,
                                      GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
pres_openclaw_transport_dispose (GObject *object)
{
  PresOpenclawTransport *self = PRES_OPENCLAW_TRANSPORT (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->leave_deadline_id, g_source_remove);
  drop_socket (self);
  finish_quit (self);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->soup);
  g_clear_object (&self->model);
  g_clear_object (&self->link);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (pres_openclaw_transport_parent_class)->dispose (object);
}

static void
pres_openclaw_transport_finalize (GObject *object)
{
  PresOpenclawTransport *self = PRES_OPENCLAW_TRANSPORT (object);

  if (self->token != NULL)
    explicit_bzero (self->token, strlen (self->token));
  g_free (self->token);
  g_free (self->device_token);
  g_free (self->open_url);
  g_free (self->server_url);
  g_free (self->instance_id);
  g_free (self->state_dir);
  g_free (self->server_override);
  g_free (self->token_file);
  g_free (self->quit_reason);
  g_clear_pointer (&self->identity, pres_openclaw_identity_free);
  g_clear_pointer (&self->builder, pres_heartbeat_builder_free);
  g_clear_pointer (&self->host_info, pres_host_info_free);
  g_clear_pointer (&self->backoff, pres_backoff_free);
  g_rand_free (self->rand);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (pres_openclaw_transport_parent_class)->finalize (object);
}

static void
pres_openclaw_transport_class_init (PresOpenclawTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pres_openclaw_transport_dispose;
  object_class->finalize = pres_openclaw_transport_finalize;

  signals[SIGNAL_LEFT] = g_signal_new ("left", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pres_openclaw_transport_init (PresOpenclawTransport *self)
{
  self->cancellable = g_cancellable_new ();
  self->rand = g_rand_new ();
  self->backoff = pres_backoff_new (NULL);
  self->tick_ms = 30000;
  self->soup = soup_session_new_with_options ("user-agent", "presence-agent/" PACKAGE_VERSION,
                                              NULL);
}

PresOpenclawTransport *
pres_openclaw_transport_new (PresModel *model,
                             PresLink *link,
                             PresIdleSource *idle_source,
                             GSettings *settings,
                             const char *instance_id,
                             const char *state_dir,
                             const char *server,
                             const char *token_file)
{
  PresOpenclawTransport *self = g_object_new (PRES_TYPE_OPENCLAW_TRANSPORT, NULL);

  self->model = g_object_ref (model);
  self->link = g_object_ref (link);
  self->settings = g_object_ref (settings);
  self->instance_id = g_strdup (instance_id);
  self->state_dir = g_strdup (state_dir);
  self->server_override = g_strdup (server);
  self->token_file = g_strdup (token_file);
  self->host_info = pres_host_info_new_system ();
  self->builder
    = pres_heartbeat_builder_new (model, idle_source, settings, pres_host_info_new_system ());

  g_signal_connect_object (model, "state-changed", G_CALLBACK (on_state_changed), self, 0);
  g_signal_connect (settings, "changed", G_CALLBACK (on_settings_changed), self);
  return self;
}
