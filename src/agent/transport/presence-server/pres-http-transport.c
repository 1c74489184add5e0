#define G_LOG_DOMAIN "pres-http"

#include "pres-http-transport-private.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "pres-http-exchange.h"
#include "pres-server-url.h"
#include "pres-token-source.h"

#define COALESCE_MS 250
#define DEFAULT_INTERVAL_MS 30000
/* A refused or missing token is not mended by retrying: the slow retry
 * only picks up a token stored meanwhile by means that send no signal. */
#define UNAUTHORIZED_RETRY_MS (5 * 60 * 1000)
#define UNAUTHORIZED_SCHEDULE "then every 5 min until a token is accepted"

G_DEFINE_FINAL_TYPE_WITH_CODE (PresHttpTransport,
                               pres_http_transport,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PRES_TYPE_TRANSPORT,
                                                      pres_http_transport_iface_init))

void
pres_http_transport_finish_quit (PresHttpTransport *self)
{
  g_clear_handle_id (&self->quit_deadline_id, g_source_remove);
  pres_transport_core_finish_quit (&self->core);
}

static gboolean
on_timer (gpointer user_data)
{
  PresHttpTransport *self = user_data;

  self->timer_id = 0;
  pres_http_transport_dispatch (self, self->timer_reason);
  return G_SOURCE_REMOVE;
}

/* Sends in DELAY_MS unless a send is already due sooner. */
static void
schedule_send (PresHttpTransport *self, const char *reason, guint delay_ms)
{
  gint64 due = g_get_monotonic_time () + (gint64)delay_ms * 1000;

  if (self->timer_id != 0 && self->timer_due <= due)
    return;
  g_clear_handle_id (&self->timer_id, g_source_remove);
  self->timer_due = due;
  self->timer_reason = reason;
  self->timer_id = g_timeout_add (delay_ms, on_timer, self);
}

void
pres_http_transport_schedule_now (PresHttpTransport *self, const char *reason)
{
  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (self->busy)
    self->queued_reason = reason;
  else
    schedule_send (self, reason, 0);
}

/* A change goes out at once, but at most one per COALESCE_MS: changes in
 * between merge into the next message, which carries the latest state. */
void
pres_http_transport_schedule_change (PresHttpTransport *self, const char *reason)
{
  gint64 since = (g_get_monotonic_time () - self->last_change_sent) / 1000;

  if (!self->core.started || self->core.quit_reason != NULL)
    return;
  if (self->busy)
    self->queued_reason = reason;
  else if (self->failing && self->timer_id != 0)
    return; /* the pending retry carries the new state */
  else
    schedule_send (self, reason, since >= COALESCE_MS ? 0 : COALESCE_MS - since);
}

/* LastError says what failed, when the next attempt is due and what the
 * schedule after it is, so `presencectl status` answers "when will it be
 * back?" without a look at the code. SCHEDULE NULL: the backoff's. */
static void
report_failure (PresHttpTransport *self,
                PresConnection connection,
                const char *message,
                guint retry_ms,
                const char *schedule)
{
  g_autofree char *backoff_schedule = NULL;
  g_autofree char *text = NULL;

  if (schedule == NULL)
    {
      guint min_ms, max_ms;

      pres_backoff_bounds (G_MAXUINT, &min_ms, &max_ms);
      schedule = backoff_schedule = g_strdup_printf (
        "attempt %u, then every %.1f–%.1f s until the server answers",
        pres_backoff_get_failures (self->core.backoff) + 1, min_ms / 1000.0, max_ms / 1000.0);
    }
  text = g_strdup_printf ("%s; retrying in %u s (%s)", message, MAX (1, (retry_ms + 500) / 1000),
                          schedule);
  g_debug ("%s", text);
  pres_link_set_connection (self->core.link, connection);
  pres_link_set_last_error (self->core.link, text);
  self->failing = TRUE;
  self->queued_reason = NULL;
  schedule_send (self, "connect", retry_ms);
}

void
pres_http_transport_check_server_url (PresHttpTransport *self)
{
  g_free (self->base_url);
  self->base_url = pres_transport_core_check_url (&self->core, pres_server_url_check);
}

static void
on_token_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PresHttpTransport) self = user_data;
  g_autoptr (GError) error = NULL;
  PresTokenOrigin origin;

  if (!pres_transport_core_take_token (&self->core, result, &origin, &error))
    return;
  if (error != NULL)
    {
      report_failure (self, PRES_CONNECTION_ERROR, error->message, UNAUTHORIZED_RETRY_MS,
                      UNAUTHORIZED_SCHEDULE);
      return;
    }
  if (self->core.token == NULL)
    {
      report_failure (self, PRES_CONNECTION_UNAUTHORIZED,
                      "No access token: run “presencectl login”, or give the agent "
                      "--token-file or PRESENCE_TOKEN",
                      UNAUTHORIZED_RETRY_MS, UNAUTHORIZED_SCHEDULE);
      return;
    }
  self->core.token_known = TRUE;
  g_debug ("Using the token from the %s", pres_token_origin_to_string (origin));
  pres_http_transport_dispatch (self, self->queued_reason ? self->queued_reason : "connect");
}

static void
on_network_event (SoupMessage *msg,
                  GSocketClientEvent event,
                  GIOStream *stream,
                  PresHttpTransport *self)
{
  /* A heartbeat is one small write after another (headers, body): with
   * Nagle's algorithm the body waits for the server's delayed ACK, ~40 ms. */
  if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION (stream))
    g_socket_set_option (g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream)), IPPROTO_TCP,
                         TCP_NODELAY, 1, NULL);
  if (event == G_SOCKET_CLIENT_COMPLETE)
    pres_connection_watch_set_stream (self->watch, stream);
}

static gboolean
on_connection_closed (gpointer user_data)
{
  PresHttpTransport *self = user_data;

  /* The server went away between beats: once it answers again it must get
   * the full state at once. The delay spreads out the agents of a server
   * that restarted, which all notice at the same moment. */
  if (!self->busy && !self->left && self->core.quit_reason == NULL)
    schedule_send (self, "connect", g_rand_int_range (self->core.rand, 500, 1500));
  return G_SOURCE_REMOVE;
}

static void on_response (GObject *source, GAsyncResult *result, gpointer user_data);

static void
start_exchange (PresHttpTransport *self, SoupMessage *msg)
{
  g_signal_connect_object (msg, "network-event", G_CALLBACK (on_network_event), self, 0);
  self->busy = TRUE;
  pres_connection_watch_disarm (self->watch);
  if (pres_link_get_connection (self->core.link) == PRES_CONNECTION_DISCONNECTED)
    pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTING);
  pres_http_exchange_send_async (self->core.soup, msg, self->core.token, self->core.cancellable,
                                 on_response, g_object_ref (self));
}

static void
send_leave (PresHttpTransport *self, const char *reason)
{
  g_autoptr (SoupMessage) msg = pres_http_exchange_new_leave (
    self->base_url, self->core.instance_id, pres_heartbeat_builder_get_session (self->core.builder),
    reason);

  g_debug ("Leave (%s)", reason);
  self->leaving = TRUE;
  start_exchange (self, msg);
}

static void
on_built (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PresHttpTransport) self = user_data;
  g_autoptr (PresHeartbeat) hb = pres_heartbeat_builder_build_finish (result, NULL);
  g_autoptr (SoupMessage) msg = NULL;

  if (g_cancellable_is_cancelled (self->core.cancellable))
    return;
  self->busy = FALSE;
  /* Offline or quitting meanwhile: the leave that is due is queued. */
  if (hb == NULL || self->core.quit_reason != NULL)
    {
      pres_http_transport_dispatch (self, self->queued_reason ? self->queued_reason : "offline");
      return;
    }

  g_debug ("Heartbeat %s seq %" G_GUINT64_FORMAT " (%s)", pres_state_to_string (hb->state), hb->seq,
           hb->reason);
  if (g_strcmp0 (hb->reason, "periodic") != 0)
    self->last_change_sent = g_get_monotonic_time ();
  msg = pres_http_exchange_new_heartbeat (self->base_url, self->core.instance_id, hb);
  /* From the moment it is sent, not answered: a quit that drops the
   * heartbeat under way must still take back what the server may hold. */
  self->sent_any = TRUE;
  start_exchange (self, msg);
}

void
pres_http_transport_dispatch (PresHttpTransport *self, const char *reason)
{
  PresState state = pres_model_get_state (self->core.model);

  if (self->busy)
    {
      self->queued_reason = reason;
      return;
    }
  self->queued_reason = NULL;
  g_clear_handle_id (&self->timer_id, g_source_remove);

  if (self->core.quit_reason != NULL || state == PRES_STATE_OFFLINE)
    {
      if (self->sent_any && self->base_url != NULL && self->core.token != NULL)
        send_leave (self, self->core.quit_reason ? self->core.quit_reason : reason);
      else
        {
          self->left = TRUE;
          pres_link_set_connection (self->core.link, PRES_CONNECTION_DISCONNECTED);
          pres_transport_emit_left (PRES_TRANSPORT (self));
          pres_http_transport_finish_quit (self);
        }
      return;
    }
  self->left = FALSE;

  if (self->base_url == NULL)
    return; /* check_server_url() said why; a settings change retries */
  if (!self->core.token_known)
    {
      self->queued_reason = reason;
      pres_transport_core_lookup_token (&self->core, self, on_token_found);
      return;
    }

  self->busy = TRUE;
  pres_heartbeat_builder_build_async (self->core.builder, reason, self->core.cancellable, on_built,
                                      g_object_ref (self));
}

static void
finish_leave (PresHttpTransport *self, PresHttpOutcome *outcome)
{
  self->left = TRUE;
  self->sent_any = FALSE;
  pres_link_set_connection (self->core.link, PRES_CONNECTION_DISCONNECTED);
  /* No retry: the server's TTL removes the instance anyway. */
  if (outcome->kind != PRES_HTTP_OUTCOME_OK)
    {
      g_autofree char *text = g_strdup_printf ("The leave was not delivered: %s", outcome->message);
      pres_link_set_last_error (self->core.link, text);
    }
  g_debug ("Left (%s)", outcome->kind == PRES_HTTP_OUTCOME_OK ? "confirmed" : outcome->message);
  pres_transport_emit_left (PRES_TRANSPORT (self));
  if (self->core.quit_reason != NULL)
    pres_http_transport_finish_quit (self);
  else if (self->queued_reason != NULL)
    pres_http_transport_dispatch (self, self->queued_reason);
}

static void
finish_heartbeat (PresHttpTransport *self, PresHttpOutcome *outcome)
{
  switch (outcome->kind)
    {
      case PRES_HTTP_OUTCOME_OK:
        self->failing = FALSE;
        pres_backoff_reset (self->core.backoff);
        self->interval_ms = outcome->reply->interval_ms;
        pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTED);
        pres_link_set_public_state (self->core.link, pres_state_to_string (outcome->reply->state));
        pres_link_set_last_error (self->core.link, NULL);
        pres_link_set_last_heartbeat (self->core.link, g_get_real_time () / 1000);
        pres_connection_watch_arm (self->watch);
        if (self->queued_reason != NULL)
          {
            const char *reason = self->queued_reason;

            self->queued_reason = NULL;
            pres_http_transport_schedule_change (self, reason);
          }
        schedule_send (self, "periodic",
                  pres_backoff_jitter_interval (self->core.rand, self->interval_ms));
        break;
      case PRES_HTTP_OUTCOME_UNAUTHORIZED:
        /* Perhaps "presencectl login" stores a better token meanwhile. */
        self->core.token_known = FALSE;
        report_failure (self, PRES_CONNECTION_UNAUTHORIZED, outcome->message,
                        UNAUTHORIZED_RETRY_MS, UNAUTHORIZED_SCHEDULE);
        break;
      case PRES_HTTP_OUTCOME_RETRY_AFTER:
        if (outcome->retry_after_ms != 0)
          report_failure (self, PRES_CONNECTION_ERROR, outcome->message, outcome->retry_after_ms,
                          "as the server asked");
        else
          report_failure (self, PRES_CONNECTION_ERROR, outcome->message,
                          pres_backoff_next (self->core.backoff), NULL);
        break;
      case PRES_HTTP_OUTCOME_FAILED:
      default:
        report_failure (self, PRES_CONNECTION_ERROR, outcome->message,
                        pres_backoff_next (self->core.backoff), NULL);
        break;
    }
}

static void
on_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PresHttpTransport) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autoptr (PresHttpOutcome) outcome = pres_http_exchange_send_finish (result, &reply, &error);
  gboolean leave = self->leaving;

  if (g_cancellable_is_cancelled (self->core.cancellable))
    return;
  self->busy = FALSE;
  self->leaving = FALSE;
  if (outcome == NULL)
    {
      /* Dropped on purpose (reconnect, quit): what comes next is queued. */
      if (self->queued_reason != NULL)
        pres_http_transport_dispatch (self, self->queued_reason);
      return;
    }
  if (reply != NULL)
    pres_link_set_last_reply (self->core.link, reply);

  if (leave)
    finish_leave (self, outcome);
  else if (self->core.quit_reason != NULL
           || pres_model_get_state (self->core.model) == PRES_STATE_OFFLINE)
    pres_http_transport_dispatch (self, self->queued_reason ? self->queued_reason : "offline");
  else
    finish_heartbeat (self, outcome);
}

static const char *
reason_for_change (PresState state, PresState previous, PresReason reason)
{
  if (state == PRES_STATE_OFFLINE)
    return pres_reason_to_string (reason);
  if (previous == PRES_STATE_OFFLINE)
    return reason == PRES_REASON_RESUME ? "resume" : "connect";
  return "state-change";
}

static void
on_state_changed (PresModel *model,
                  PresState state,
                  PresState previous,
                  PresReason reason,
                  PresHttpTransport *self)
{
  const char *why = reason_for_change (state, previous, reason);

  if (!self->core.started || self->core.quit_reason != NULL)
    return;
  /* What others see is known again from the reply to this change. */
  pres_link_set_public_state (self->core.link, NULL);
  /* Going offline (sleep, logout) and coming back do not wait for a
   * coalescing window or a retry timer: the moment matters. */
  if (state == PRES_STATE_OFFLINE || previous == PRES_STATE_OFFLINE)
    pres_http_transport_schedule_now (self, why);
  else
    pres_http_transport_schedule_change (self, why);
}

/* Others read the status text beside the state: a new one is news at once,
 * not with the next periodic beat. Offline has no heartbeat to carry it. */
static void
on_status_text_changed (PresModel *model, GParamSpec *pspec, PresHttpTransport *self)
{
  if (pres_model_get_state (model) != PRES_STATE_OFFLINE)
    pres_http_transport_schedule_change (self, "status-text");
}

const char *
pres_http_transport_get_session (PresHttpTransport *self)
{
  g_return_val_if_fail (PRES_IS_HTTP_TRANSPORT (self), NULL);
  return pres_heartbeat_builder_get_session (self->core.builder);
}

static void
pres_http_transport_dispose (GObject *object)
{
  PresHttpTransport *self = PRES_HTTP_TRANSPORT (object);

  g_cancellable_cancel (self->core.cancellable);
  g_clear_handle_id (&self->timer_id, g_source_remove);
  pres_http_transport_finish_quit (self);
  g_clear_pointer (&self->watch, pres_connection_watch_free);
  pres_transport_core_dispose (&self->core, self);

  G_OBJECT_CLASS (pres_http_transport_parent_class)->dispose (object);
}

static void
pres_http_transport_finalize (GObject *object)
{
  PresHttpTransport *self = PRES_HTTP_TRANSPORT (object);

  g_free (self->base_url);
  pres_transport_core_finalize (&self->core);

  G_OBJECT_CLASS (pres_http_transport_parent_class)->finalize (object);
}

static void
pres_http_transport_class_init (PresHttpTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pres_http_transport_dispose;
  object_class->finalize = pres_http_transport_finalize;
}

static void
pres_http_transport_init (PresHttpTransport *self)
{
  self->interval_ms = DEFAULT_INTERVAL_MS;
  self->last_change_sent = G_MININT64 / 2;
  self->watch = pres_connection_watch_new (on_connection_closed, self);
}

PresTransport *
pres_http_transport_new (const PresTransportSetup *setup)
{
  PresHttpTransport *self = g_object_new (PRES_TYPE_HTTP_TRANSPORT, NULL);

  pres_transport_core_init (&self->core, setup);
  /* No idle-timeout and no socket timeout: either would close the idle
   * keep-alive connection behind the watch's back, and the watch would take
   * that for a server restart. Each exchange has its own deadline instead. */
  soup_session_set_idle_timeout (self->core.soup, 0);
  /* A presence-server files this desktop under the instance id it is sent. */
  pres_link_set_known_as (self->core.link, setup->instance_id);

  g_signal_connect_object (setup->model, "state-changed", G_CALLBACK (on_state_changed), self, 0);
  g_signal_connect_object (setup->model, "notify::status-text",
                           G_CALLBACK (on_status_text_changed), self, 0);
  g_signal_connect (setup->settings, "changed", G_CALLBACK (pres_http_transport_settings_changed),
                    self);
  return PRES_TRANSPORT (self);
}
