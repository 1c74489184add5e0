#define G_LOG_DOMAIN "pres-openclaw"

#include "pres-error.h"
#include "pres-openclaw-node-frames.h"
#include "pres-openclaw-private.h"
#include "pres-server-url.h"

/*
 * The transport's life: where to connect, when to retry and why it failed,
 * what the model's and the settings' changes mean (a beacon, a leave, a
 * reconnect), and the sensors' entry points. The connections are
 * pres-openclaw-channel.c, what they do together pres-openclaw-session.c.
 */

#define ACTIVE_COMPUTER_KEY "openclaw-active-computer"

static void pres_openclaw_transport_iface_init (PresTransportInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PresOpenclawTransport,
                               pres_openclaw_transport,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PRES_TYPE_TRANSPORT,
                                                      pres_openclaw_transport_iface_init))

char *
pres_openclaw_check_url (const char *url, gboolean allow_insecure, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  const char *scheme;
  gboolean secure;

  uri = url ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;
  scheme = uri ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' || scheme == NULL
      || !(g_str_equal (scheme, "ws") || g_str_equal (scheme, "wss") || g_str_equal (scheme, "http")
           || g_str_equal (scheme, "https")))
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

static gboolean
quitting (PresOpenclawTransport *self)
{
  return self->core.quit_reason != NULL;
}

/* Neither connection open nor opening. */
static gboolean
session_down (PresOpenclawTransport *self)
{
  return self->op.phase == PHASE_IDLE && self->node.phase == PHASE_IDLE;
}

static gboolean
pres_openclaw_transport_is_offline (PresOpenclawTransport *self)
{
  return quitting (self) || pres_model_get_state (self->core.model) == PRES_STATE_OFFLINE;
}

static gboolean
pres_openclaw_transport_wants_node (PresOpenclawTransport *self)
{
  return g_settings_get_boolean (self->core.settings, ACTIVE_COMPUTER_KEY);
}

static gboolean
pres_openclaw_transport_reports_activity (PresOpenclawTransport *self)
{
  /* With no idle source there is no system-wide input to report, and a
   * permission declared for it would claim what the agent cannot see. */
  return pres_openclaw_transport_wants_node (self)
         && g_strcmp0 (pres_idle_source_get_name (self->idle_source), "none") != 0;
}

static char *
pres_openclaw_transport_next_request_id (PresOpenclawTransport *self, const char *method)
{
  return g_strdup_printf ("%s-%" G_GUINT64_FORMAT, method, ++self->next_request);
}

/* The connection is closed (or given up on) for a leave: a sleep or
 * shutdown waiting for it may go ahead. */
static void
pres_openclaw_transport_left (PresOpenclawTransport *self)
{
  g_clear_handle_id (&self->leave_deadline_id, g_source_remove);
  pres_openclaw_session_drop (self);
  pres_link_set_connection (self->core.link, PRES_CONNECTION_DISCONNECTED);
  pres_transport_emit_left (PRES_TRANSPORT (self));
  pres_transport_core_finish_quit (&self->core);
}

static gboolean
on_retry (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->retry_id = 0;
  pres_openclaw_session_open (self);
  return G_SOURCE_REMOVE;
}

static void
pres_openclaw_transport_retry_in (PresOpenclawTransport *self, guint delay_ms)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_id = g_timeout_add (delay_ms, on_retry, self);
}

/* Drops the connection and says why; tries again in RETRY_MS (0: per the
 * backoff). The message goes to LastError with the retry time. */
static void
pres_openclaw_transport_fail (PresOpenclawTransport *self,
                              PresConnection connection,
                              const char *message,
                              guint retry_ms)
{
  g_autofree char *text = NULL;

  pres_openclaw_session_drop (self);
  /* The backoff doubles as usual but stops at RECONNECT_MAX_MS: a gateway
   * serves one person's few devices, so there is no crowd to spread out,
   * and after a restart the user expects to be back in seconds. */
  if (retry_ms == 0)
    retry_ms = MIN (pres_backoff_next (self->core.backoff),
                    (guint)g_rand_int_range (self->core.rand, RECONNECT_MAX_MS * 4 / 5,
                                             RECONNECT_MAX_MS * 6 / 5));
  text = g_strdup_printf ("%s; retrying in %u s", message, (retry_ms + 999) / 1000);
  g_message ("%s", text);
  pres_link_set_connection (self->core.link, connection);
  pres_link_set_last_error (self->core.link, text);
  pres_openclaw_transport_retry_in (self, retry_ms);
}

static void
check_server_url (PresOpenclawTransport *self)
{
  g_free (self->open_url);
  self->open_url = pres_transport_core_check_url (&self->core, pres_openclaw_check_url);
  pres_openclaw_channel_load_token (&self->op);
  pres_openclaw_channel_load_token (&self->node);
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
  if (!self->core.started || quitting (self))
    return;
  if (state == PRES_STATE_OFFLINE)
    {
      g_debug ("Offline (%s): closing the connection", pres_reason_to_string (reason));
      pres_openclaw_session_leave (self);
    }
  else if (pres_openclaw_channel_is_ready (&self->op))
    pres_openclaw_session_beacon (self, reason_for_change (state, previous, reason));
  else if (session_down (self) && previous == PRES_STATE_OFFLINE)
    {
      /* Back from sleep: now, whatever the backoff said. */
      pres_backoff_reset (self->core.backoff);
      pres_openclaw_session_open (self);
    }
}

/* The status text travels in a busy beacon's text only: news then, and
 * nothing to say in any other state. */
static void
on_status_text_changed (PresModel *model, GParamSpec *pspec, PresOpenclawTransport *self)
{
  if (self->core.started && !quitting (self) && pres_model_get_state (model) == PRES_STATE_BUSY
      && pres_openclaw_channel_is_ready (&self->op))
    pres_openclaw_session_beacon (self, "status-text");
}

/* Tries at once: a new network, a resume or the user asking. */
static void
reopen_now (PresOpenclawTransport *self)
{
  if (!self->core.started || pres_openclaw_transport_is_offline (self))
    return;
  pres_openclaw_session_drop (self);
  pres_backoff_reset (self->core.backoff);
  self->op.use_device_token = FALSE;
  self->node.use_device_token = FALSE;
  pres_openclaw_session_open (self);
}

static void
reconnect (PresTransport *transport)
{
  PresOpenclawTransport *self = PRES_OPENCLAW_TRANSPORT (transport);

  check_server_url (self);
  pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTING);
  reopen_now (self);
}

static void
network_changed (PresTransport *transport)
{
  PresOpenclawTransport *self = PRES_OPENCLAW_TRANSPORT (transport);

  /* A connection that still works is kept: the watchdog notices dead ones. */
  if (session_down (self))
    reopen_now (self);
}

static void
resume (PresTransport *transport)
{
  PresOpenclawTransport *self = PRES_OPENCLAW_TRANSPORT (transport);

  /* Whatever was open before the sleep is dead on the gateway's side; an
   * attempt under way was made after it. */
  if (session_down (self) || pres_openclaw_channel_is_ready (&self->op))
    reopen_now (self);
}

static void
on_settings_changed (GSettings *settings, const char *key, PresOpenclawTransport *self)
{
  PresTransportSetting setting;

  if (!self->core.started || quitting (self))
    return;
  setting = pres_transport_core_classify_setting (&self->core, key);
  if (setting == PRES_TRANSPORT_SETTING_SERVER)
    {
      pres_transport_core_forget_token (&self->core);
      check_server_url (self);
      reopen_now (self);
    }
  else if (setting == PRES_TRANSPORT_SETTING_PRIVACY)
    /* The beacon row changes now; the connection's displayName with the
     * next connection. */
    pres_openclaw_session_beacon (self, "settings");
  else if (g_str_equal (key, ACTIVE_COMPUTER_KEY) && pres_openclaw_channel_is_ready (&self->op))
    pres_openclaw_session_reopen_node (self);
}

/* The idle source chosen later than the node connected, or lost: the
 * permission the node declares follows it, with a new connection. */
static void
on_idle_source_name (PresIdleSource *idle_source, GParamSpec *pspec, PresOpenclawTransport *self)
{
  if (pres_openclaw_channel_is_ready (&self->node)
      && self->node.declared_activity != pres_openclaw_transport_reports_activity (self))
    pres_openclaw_session_reopen_node (self);
  else
    pres_openclaw_session_idle_source_settled (self);
}

static void
send_activity (gpointer user_data, gint64 idle_seconds)
{
  PresOpenclawTransport *self = user_data;
  g_autofree char *id = NULL;
  g_autofree char *frame = NULL;

  if (!pres_openclaw_channel_is_ready (&self->node))
    return;
  id = pres_openclaw_transport_next_request_id (self, "activity");
  frame = pres_openclaw_build_activity (id, idle_seconds);
  pres_openclaw_channel_send (&self->node, frame);
}

static void
start (PresTransport *transport)
{
  PresOpenclawTransport *self = PRES_OPENCLAW_TRANSPORT (transport);
  g_autoptr (GError) error = NULL;

  check_server_url (self);
  self->identity = pres_openclaw_identity_load (self->state_dir, &error);
  if (self->identity == NULL)
    {
      /* Nothing to retry: the user must fix or remove the key file. */
      g_warning ("%s", error->message);
      pres_link_set_connection (self->core.link, PRES_CONNECTION_ERROR);
      pres_link_set_last_error (self->core.link, error->message);
      self->open_url = (g_free (self->open_url), NULL);
      return;
    }
  /* The gateway knows this desktop by its key, not by the instance id. */
  pres_link_set_known_as (self->core.link, pres_openclaw_identity_get_id (self->identity));
  pres_openclaw_session_open (self);
}

static void
leave (PresTransport *transport, const char *reason)
{
  PresOpenclawTransport *self = PRES_OPENCLAW_TRANSPORT (transport);

  g_debug ("Leaving (%s)", reason);
  g_cancellable_cancel (self->core.cancellable);
  pres_openclaw_session_leave (self);
}

static PresTransportCore *
get_core (PresTransport *transport)
{
  return &PRES_OPENCLAW_TRANSPORT (transport)->core;
}

static void
pres_openclaw_transport_iface_init (PresTransportInterface *iface)
{
  iface->get_core = get_core;
  iface->start = start;
  iface->reconnect = reconnect;
  iface->network_changed = network_changed;
  iface->resume = resume;
  iface->leave = leave;
}

static void
pres_openclaw_transport_dispose (GObject *object)
{
  PresOpenclawTransport *self = PRES_OPENCLAW_TRANSPORT (object);

  g_cancellable_cancel (self->core.cancellable);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->leave_deadline_id, g_source_remove);
  pres_openclaw_session_drop (self);
  if (self->idle_source != NULL)
    g_signal_handlers_disconnect_by_data (self->idle_source, self);
  g_clear_pointer (&self->activity, pres_openclaw_activity_free);
  pres_transport_core_dispose (&self->core, self);

  G_OBJECT_CLASS (pres_openclaw_transport_parent_class)->dispose (object);
}

static void
pres_openclaw_transport_finalize (GObject *object)
{
  PresOpenclawTransport *self = PRES_OPENCLAW_TRANSPORT (object);

  pres_openclaw_channel_clear (&self->op);
  pres_openclaw_channel_clear (&self->node);
  g_clear_object (&self->idle_source);
  g_free (self->open_url);
  g_free (self->state_dir);
  g_clear_pointer (&self->identity, pres_openclaw_identity_free);
  g_clear_pointer (&self->host_info, pres_host_info_free);
  pres_transport_core_finalize (&self->core);

  G_OBJECT_CLASS (pres_openclaw_transport_parent_class)->finalize (object);
}

static void
pres_openclaw_transport_class_init (PresOpenclawTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pres_openclaw_transport_dispose;
  object_class->finalize = pres_openclaw_transport_finalize;
}

/* What the session and the channels call up to (pres-openclaw-private.h). */
static const PresOpenclawUp up = {
  .fail = pres_openclaw_transport_fail,
  .retry_in = pres_openclaw_transport_retry_in,
  .left = pres_openclaw_transport_left,
  .is_offline = pres_openclaw_transport_is_offline,
  .wants_node = pres_openclaw_transport_wants_node,
  .reports_activity = pres_openclaw_transport_reports_activity,
  .next_request_id = pres_openclaw_transport_next_request_id,
  .channel_ready = pres_openclaw_session_ready,
  .channel_closed = pres_openclaw_session_closed,
  .channel_lost = pres_openclaw_session_drop,
  .channel_event = pres_openclaw_session_event,
  .channel_response = pres_openclaw_session_response,
};

static void
pres_openclaw_transport_init (PresOpenclawTransport *self)
{
  self->up = &up;
  pres_openclaw_channel_init (&self->op, self, PRES_OPENCLAW_ROLE_OPERATOR);
  pres_openclaw_channel_init (&self->node, self, PRES_OPENCLAW_ROLE_NODE);
}

PresTransport *
pres_openclaw_transport_new (const PresTransportSetup *setup)
{
  PresOpenclawTransport *self = g_object_new (PRES_TYPE_OPENCLAW_TRANSPORT, NULL);

  pres_transport_core_init (&self->core, setup);
  self->state_dir = g_strdup (setup->state_dir);
  self->host_info = pres_host_info_new_system ();
  self->idle_source = g_object_ref (setup->idle_source);
  self->activity
    = pres_openclaw_activity_new (setup->model, setup->idle_source, send_activity, self);
  g_signal_connect (setup->idle_source, "notify::name", G_CALLBACK (on_idle_source_name), self);

  g_signal_connect_object (setup->model, "state-changed", G_CALLBACK (on_state_changed), self, 0);
  g_signal_connect_object (setup->model, "notify::status-text", G_CALLBACK (on_status_text_changed),
                           self, 0);
  g_signal_connect (setup->settings, "changed", G_CALLBACK (on_settings_changed), self);
  return PRES_TRANSPORT (self);
}
