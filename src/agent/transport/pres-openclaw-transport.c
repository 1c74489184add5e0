#define G_LOG_DOMAIN "pres-openclaw"

#include "config.h"

#include <libsoup/soup.h>

#include "pres-backoff.h"
#include "pres-error.h"
#include "pres-heartbeat-builder.h"
#include "pres-host-info.h"
#include "pres-openclaw-identity.h"
#include "pres-openclaw-private.h"
#include "pres-server-url.h"

/*
 * The transport's life: where to connect, when to retry and why it failed,
 * what the model's changes mean (a beacon, a leave, a reconnect), and the
 * sensors' entry points. The connection itself is pres-openclaw-session.c.
 */

G_DEFINE_TYPE (PresOpenclawTransport, pres_openclaw_transport, G_TYPE_OBJECT)

enum
{
  SIGNAL_LEFT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

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

gboolean
pres_openclaw_transport_is_offline (PresOpenclawTransport *self)
{
  return quitting (self) || pres_model_get_state (self->model) == PRES_STATE_OFFLINE;
}

/* The connection is closed (or given up on) for a leave: a sleep or
 * shutdown waiting for it may go ahead. */
void
pres_openclaw_transport_left (PresOpenclawTransport *self)
{
  g_clear_handle_id (&self->leave_deadline_id, g_source_remove);
  pres_openclaw_session_drop (self);
  pres_link_set_connection (self->link, PRES_CONNECTION_DISCONNECTED);
  g_signal_emit (self, signals[SIGNAL_LEFT], 0);
  finish_quit (self);
}

static gboolean
on_retry (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->retry_id = 0;
  pres_openclaw_session_open (self);
  return G_SOURCE_REMOVE;
}

void
pres_openclaw_transport_retry_in (PresOpenclawTransport *self, guint delay_ms)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_id = g_timeout_add (delay_ms, on_retry, self);
}

/* Drops the connection and says why; tries again in RETRY_MS (0: per the
 * backoff). The message goes to LastError with the retry time. */
void
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
    retry_ms = MIN (
      pres_backoff_next (self->backoff),
      (guint)g_rand_int_range (self->rand, RECONNECT_MAX_MS * 4 / 5, RECONNECT_MAX_MS * 6 / 5));
  text = g_strdup_printf ("%s; retrying in %u s", message, (retry_ms + 999) / 1000);
  g_message ("%s", text);
  pres_link_set_connection (self->link, connection);
  pres_link_set_last_error (self->link, text);
  pres_openclaw_transport_retry_in (self, retry_ms);
}

static void
check_server_url (PresOpenclawTransport *self)
{
  g_autoptr (GError) error = NULL;

  g_free (self->server_url);
  self->server_url = self->server_override ? g_strdup (self->server_override)
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
  self->device_token
    = self->open_url ? pres_openclaw_device_token_load (self->state_dir, self->server_url) : NULL;
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
      pres_openclaw_session_leave (self);
    }
  else if (self->phase == PHASE_READY)
    pres_openclaw_session_beacon (self, reason_for_change (state, previous, reason));
  else if (self->phase == PHASE_IDLE && previous == PRES_STATE_OFFLINE)
    {
      /* Back from sleep: now, whatever the backoff said. */
      pres_backoff_reset (self->backoff);
      pres_openclaw_session_open (self);
    }
}

/* Tries at once: a new network, a resume or the user asking. */
static void
reopen_now (PresOpenclawTransport *self)
{
  if (!self->started || pres_openclaw_transport_is_offline (self))
    return;
  pres_openclaw_session_drop (self);
  pres_backoff_reset (self->backoff);
  self->use_device_token = FALSE;
  pres_openclaw_session_open (self);
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
    pres_openclaw_session_beacon (self, "settings");
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
  pres_openclaw_session_open (self);
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
  pres_openclaw_session_leave (self);
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
  pres_openclaw_session_drop (self);
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
  self->soup
    = soup_session_new_with_options ("user-agent", "presence-agent/" PACKAGE_VERSION, NULL);
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
