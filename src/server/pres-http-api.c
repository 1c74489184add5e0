#define G_LOG_DOMAIN "pres-server"

#include <string.h>

#include "pres-http-api-private.h"

#define INSTANCES_PATH "/v1/instances"
#define STORE_FULL_RETRY_AFTER_S 30
#define STORE_UNAVAILABLE_RETRY_AFTER_S 5
/* A member's own grace (ttl_ms of a heartbeat): from a typing indicator's
 * few seconds to an agent's handover to its next run. */
#define MEMBER_TTL_MIN_MS 2000
#define MEMBER_TTL_MAX_MS 600000 /* 10 min */


G_DEFINE_TYPE (PresHttpApi, pres_http_api, G_TYPE_OBJECT)

void
pres_api_reply_json (PresHttpRequest *req,
            guint            status,
            char            *body)
{
  pres_http_request_respond (req, status, "application/json", body, strlen (body));
  g_free (body);
}

void
pres_api_reply_error (PresHttpApi     *self,
             PresHttpRequest *req,
             guint            status,
             const char      *code,
             const char      *message)
{
  g_debug ("%s %s → %u %s: %s", pres_http_request_get_method (req),
           pres_http_request_get_path (req), status, code, message);
  pres_metrics_reject (self->metrics, status);
  pres_http_request_respond_error (req, status, code, message);
}

/* RFC 9110 §15.5.6: a 405 says which methods the resource takes. */
void
pres_api_reply_method_not_allowed (PresHttpApi     *self,
                          PresHttpRequest *req,
                          const char      *resource,
                          const char      *allow)
{
  g_autofree char *message = g_strdup_printf ("%s: only %s allowed", resource, allow);

  pres_http_request_add_response_header (req, "Allow", allow);
  pres_api_reply_error (self, req, 405, "method_not_allowed", message);
}

/* What a read answers to: GET, and HEAD as GET without the body. */
static gboolean
is_read_method (const char *method)
{
  return g_str_equal (method, "GET") || g_str_equal (method, "HEAD");
}

static void
reply_wire_error (PresHttpApi     *self,
                  PresHttpRequest *req,
                  const GError    *error)
{
  guint status = error->code == PRES_WIRE_ERROR_TOO_LARGE ? 413 : 400;

  pres_api_reply_error (self, req, status, pres_wire_error_code_to_string (error->code), error->message);
}

static void
set_retry_after (PresHttpRequest *req,
                 guint            seconds)
{
  char value[16];

  g_snprintf (value, sizeof value, "%u", seconds);
  pres_http_request_add_response_header (req, "Retry-After", value);
}


Pending *
pres_api_pending_new (PresHttpApi     *self,
             PresHttpRequest *req,
             const char      *participant_id)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->self = g_object_ref (self);
  pending->req = pres_http_request_ref (req);
  pending->participant_id = g_strdup (participant_id);
  pending->asked_us = g_get_monotonic_time ();
  return pending;
}

void
pres_api_pending_answered (Pending            *pending,
                  PresMetricsStoreOp  op)
{
  pres_metrics_store_latency (pending->self->metrics, op,
                              g_get_monotonic_time () - pending->asked_us);
}

void
pres_api_pending_free (Pending *pending)
{
  pres_http_request_unref (pending->req);
  g_object_unref (pending->self);
  g_free (pending->participant_id);
  g_free (pending->after);
  g_clear_pointer (&pending->ids, g_ptr_array_unref);
  g_clear_pointer (&pending->infos, g_ptr_array_unref);
  g_clear_pointer (&pending->hidden, g_ptr_array_unref);
  g_free (pending->states);
  g_free (pending);
}


void
pres_api_reply_unavailable (PresHttpApi     *self,
                   PresHttpRequest *req,
                   const GError    *error)
{
  set_retry_after (req, STORE_UNAVAILABLE_RETRY_AFTER_S);
  pres_api_reply_error (self, req, 503, "unavailable", error->message);
}

/* Authentication, then the caller's rate limit: both before anything else
 * is looked at, so a rejected caller learns nothing and costs little. */
gboolean
pres_api_authorize (PresHttpApi     *self,
           PresHttpRequest *req,
           PresIdentity    *identity)
{
  guint retry_after_s = 1;

  if (!pres_auth_check (self->auth, pres_http_request_get_header (req, "Authorization"),
                        identity))
    {
      pres_http_request_add_response_header (req, "WWW-Authenticate", "Bearer");
      pres_api_reply_error (self, req, 401, "unauthorized",
                   "Authorization: a valid bearer token is required");
      return FALSE;
    }
  if (!pres_rate_limit_take (self->rate_limit, identity->token, g_get_monotonic_time (),
                             &retry_after_s))
    {
      set_retry_after (req, retry_after_s);
      pres_api_reply_error (self, req, 429, "rate_limited",
                   "too many requests for this token, see Retry-After");
      return FALSE;
    }
  return TRUE;
}

static void
upsert_cb (PresUpsertResult result,
           PresState        state,
           const GError    *error,
           gpointer         user_data)
{
  g_autoptr (Pending) pending = user_data;
  PresHttpApi *self = pending->self;
  PresHttpRequest *req = pending->req;
  g_autoptr (PresHeartbeatReply) reply = NULL;

  pres_api_pending_answered (pending, PRES_METRICS_STORE_HEARTBEAT);
  if (g_error_matches (error, PRES_STORE_ERROR, PRES_STORE_ERROR_FULL))
    {
      set_retry_after (req, STORE_FULL_RETRY_AFTER_S);
      pres_api_reply_error (self, req, 503, "server_full", error->message);
    }
  else if (g_error_matches (error, PRES_STORE_ERROR, PRES_STORE_ERROR_TOO_MANY_INSTANCES))
    pres_api_reply_error (self, req, 409, "too_many_instances", error->message);
  else if (error != NULL)
    pres_api_reply_unavailable (self, req, error);
  else
    {
      if (result == PRES_UPSERT_STALE)
        self->metrics->heartbeats_stale++;
      else
        self->metrics->heartbeats++;

      /* The caller is the participant, so appear_offline reads as such. */
      reply = pres_heartbeat_reply_new ();
      reply->participant_id = g_strdup (pending->participant_id);
      reply->state = state;
      reply->ttl_ms = pending->ttl_ms;
      reply->interval_ms = self->interval_ms;
      pres_api_reply_json (req, 200, pres_heartbeat_reply_to_json (reply));
    }
}

static void
handle_put (PresHttpApi        *self,
            PresHttpRequest    *req,
            const PresIdentity *identity,
            const char         *instance_id)
{
  g_autoptr (PresHeartbeat) hb = NULL;
  g_autoptr (GError) error = NULL;
  gsize length;
  const char *data = pres_http_request_get_body (req, &length);

  Pending *pending;

  hb = pres_heartbeat_parse (data, length, &error);
  if (hb == NULL)
    {
      reply_wire_error (self, req, error);
      return;
    }
  if (hb->ttl_ms != PRES_HEARTBEAT_TTL_ABSENT &&
      (hb->ttl_ms < MEMBER_TTL_MIN_MS || hb->ttl_ms > MEMBER_TTL_MAX_MS))
    {
      pres_api_reply_error (self, req, 400, "invalid_field",
                   "ttl_ms: must be between " G_STRINGIFY (MEMBER_TTL_MIN_MS) " and " G_STRINGIFY (
                     MEMBER_TTL_MAX_MS) " (ms)");
      return;
    }
  pending = pres_api_pending_new (self, req, identity->participant_id);
  pending->ttl_ms = hb->ttl_ms != PRES_HEARTBEAT_TTL_ABSENT ? (guint) hb->ttl_ms : self->ttl_ms;
  pres_store_upsert (self->store, identity->participant_id, instance_id, g_steal_pointer (&hb),
                     upsert_cb, pending);
}

static void
leave_cb (gboolean      removed,
          const GError *error,
          gpointer      user_data)
{
  g_autoptr (Pending) pending = user_data;

  pres_api_pending_answered (pending, PRES_METRICS_STORE_LEAVE);
  if (error != NULL)
    pres_api_reply_unavailable (pending->self, pending->req, error);
  else
    {
      if (removed)
        pending->self->metrics->leaves++;
      /* A late or repeated leave is not an error: the outcome is the same. */
      pres_api_reply_json (pending->req, 200, g_strdup ("{}"));
    }
}

static void
handle_delete (PresHttpApi        *self,
               PresHttpRequest    *req,
               const PresIdentity *identity,
               const char         *instance_id)
{
  GHashTable *query = pres_http_request_get_query (req);
  const char *session = query != NULL ? g_hash_table_lookup (query, "session") : NULL;
  const char *query_reason = query != NULL ? g_hash_table_lookup (query, "reason") : NULL;
  g_autofree char *reason = NULL, *data = NULL;
  g_autoptr (GError) error = NULL;
  gsize length;
  const char *body = pres_http_request_get_body (req, &length);

  if (session == NULL || *session == '\0' || strlen (session) > PRES_WIRE_MAX_STRING_BYTES)
    {
      pres_api_reply_error (self, req, 400, "invalid_field",
                   "session: the query parameter is required (at most 256 bytes)");
      return;
    }
  if (query_reason != NULL && (strlen (query_reason) > PRES_WIRE_MAX_STRING_BYTES
                               || !g_utf8_validate (query_reason, -1, NULL)))
    {
      pres_api_reply_error (self, req, 400, "invalid_field",
                            "reason: must be UTF-8 text of at most 256 bytes");
      return;
    }
  /* The body, when there is one, says more than the query: its reason wins. */
  if (length > 0 && !pres_leave_body_parse (body, length, &reason, &data, &error))
    {
      reply_wire_error (self, req, error);
      return;
    }
  if (reason == NULL)
    reason = g_strdup (query_reason);
  g_debug ("instance %s of %s leaves (%s)", instance_id, identity->participant_id,
           reason != NULL ? reason : "no reason");
  pres_store_leave (self->store, identity->participant_id, instance_id, session, reason, data,
                    leave_cb,
                    pres_api_pending_new (self, req, identity->participant_id));
}

static void
append_instance (GString                *out,
                 const PresInstanceInfo *info)
{
  const PresHeartbeat *hb = info->heartbeat;
  const char *names[] = { "status_text", "host", "version", "device_family",
                          "model_identifier", "mode", "reason" };
  const char *values[] = { hb->status_text, hb->host, hb->version, hb->device_family,
                           hb->model_identifier, hb->mode, hb->reason };

  g_string_append (out, "{\"participant_id\":");
  pres_wire_append_json_string (out, info->participant_id);
  g_string_append (out, ",\"instance_id\":");
  pres_wire_append_json_string (out, info->instance_id);
  g_string_append (out, ",\"state\":");
  pres_wire_append_json_string (out, pres_state_to_string (hb->state));
  g_string_append (out, ",\"session\":");
  pres_wire_append_json_string (out, hb->session);
  g_string_append_printf (out, ",\"seq\":%" G_GUINT64_FORMAT, hb->seq);
  if (hb->last_input_seconds >= 0)
    g_string_append_printf (out, ",\"last_input_seconds\":%" G_GINT64_FORMAT,
                            hb->last_input_seconds);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (values[i] == NULL)
        continue;
      g_string_append_printf (out, ",\"%s\":", names[i]);
      pres_wire_append_json_string (out, values[i]);
    }
  if (hb->data != NULL)
    g_string_append_printf (out, ",\"data\":%s", hb->data);
  g_string_append_printf (out,
                          ",\"ttl_ms\":%" G_GINT64_FORMAT ",\"expires_at_ms\":%" G_GINT64_FORMAT
                          ",\"ts\":%" G_GINT64_FORMAT "}",
                          info->expires_at_ms - info->last_seen_ms, info->expires_at_ms,
                          info->last_seen_ms);
}

static void
list_cb (GPtrArray    *infos,
         const GError *error,
         gpointer      user_data)
{
  g_autoptr (Pending) pending = user_data;
  GString *out;

  pres_api_pending_answered (pending, PRES_METRICS_STORE_READ);
  if (error != NULL)
    {
      pres_api_reply_unavailable (pending->self, pending->req, error);
      return;
    }
  /* Who the token is: a client with no instance yet learns it here. */
  out = g_string_new ("{\"participant_id\":");
  pres_wire_append_json_string (out, pending->participant_id);
  g_string_append (out, ",\"instances\":[");
  for (guint i = 0; i < infos->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      append_instance (out, infos->pdata[i]);
    }
  g_string_append (out, "]}");
  pending->self->metrics->reads++;
  pres_api_reply_json (pending->req, 200, g_string_free (out, FALSE));
}

static void
handle_list (PresHttpApi        *self,
             PresHttpRequest    *req,
             const PresIdentity *identity)
{
  pres_store_list_instances (self->store, identity->admin ? NULL : identity->participant_id,
                             list_cb, pres_api_pending_new (self, req, identity->participant_id));
}

static void
instances_cb (PresHttpServer  *server,
              PresHttpRequest *req,
              gpointer         user_data)
{
  PresHttpApi *self = user_data;
  const char *method = pres_http_request_get_method (req);
  const char *id_part = pres_http_request_get_path (req) + strlen (INSTANCES_PATH);
  g_autofree char *instance_id = NULL;
  g_autoptr (GError) error = NULL;
  PresIdentity identity;

  if (*id_part != '\0' && *id_part != '/')
    {
      pres_api_reply_error (self, req, 404, "not_found", "no such endpoint");
      return;
    }
  if (!pres_api_authorize (self, req, &identity))
    return;

  if (*id_part == '\0' || g_str_equal (id_part, "/"))
    {
      if (g_str_equal (method, "GET"))
        handle_list (self, req, &identity);
      else
        pres_api_reply_method_not_allowed (self, req, "/v1/instances", "GET");
      return;
    }

  instance_id = pres_instance_id_normalize (id_part + 1, &error);
  if (instance_id == NULL)
    {
      reply_wire_error (self, req, error);
      return;
    }
  if (g_str_equal (method, "PUT"))
    handle_put (self, req, &identity, instance_id);
  else if (g_str_equal (method, "DELETE"))
    handle_delete (self, req, &identity, instance_id);
  else
    pres_api_reply_method_not_allowed (self, req, "/v1/instances/{id}", "PUT, DELETE");
}

/* The unauthenticated endpoints, /healthz and /metrics: exactly their
 * path, and read methods only. */
static gboolean
check_plain_read (PresHttpApi     *self,
                  PresHttpRequest *req,
                  const char      *path)
{
  if (!g_str_equal (pres_http_request_get_path (req), path))
    {
      pres_api_reply_error (self, req, 404, "not_found", "no such endpoint");
      return FALSE;
    }
  if (!is_read_method (pres_http_request_get_method (req)))
    {
      pres_api_reply_method_not_allowed (self, req, path, "GET, HEAD");
      return FALSE;
    }
  return TRUE;
}


static void
healthz_cb (PresHttpServer  *server,
            PresHttpRequest *req,
            gpointer         user_data)
{
  PresHttpApi *self = user_data;

  /* TTL and interval too: a reader (the roster page) tells a stale member
   * by them without a heartbeat of its own. */
  if (check_plain_read (self, req, "/healthz"))
    pres_api_reply_json (req, 200,
                         g_strdup_printf ("{\"status\":\"ok\",\"ttl_ms\":%u,\"interval_ms\":%u}",
                                          self->ttl_ms, self->interval_ms));
}

static void
counts_cb (const PresStoreCounts *counts,
           const GError          *error,
           gpointer               user_data)
{
  g_autoptr (Pending) pending = user_data;
  PresHttpApi *self = pending->self;
  PresMetricsGauges gauges = {
    .store_up = counts != NULL,
    .instances = counts != NULL ? counts->instances : 0,
    .participants = counts != NULL ? counts->participants : 0,
    .subscribers =
      self->subscriber_count != NULL ? self->subscriber_count (self->subscriber_count_data) : 0,
    .rate_limit_keys = pres_rate_limit_get_n_keys (self->rate_limit),
    .ttl_ms = self->ttl_ms,
    .interval_ms = self->interval_ms,
  };
  g_autofree char *text = pres_metrics_render (self->metrics, &gauges);

  pres_http_request_respond (pending->req, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                             strlen (text));
}

static void
metrics_cb (PresHttpServer  *server,
            PresHttpRequest *req,
            gpointer         user_data)
{
  if (check_plain_read (user_data, req, "/metrics"))
    pres_store_get_counts (PRES_HTTP_API (user_data)->store, counts_cb,
                           pres_api_pending_new (user_data, req, NULL));
}

static void
not_found_cb (PresHttpServer  *server,
              PresHttpRequest *req,
              gpointer         user_data)
{
  pres_api_reply_error (user_data, req, 404, "not_found", "no such endpoint");
}

/* What the front end refused itself (too large, chunked, malformed) counts
 * as a rejection too. */
static void
front_end_reject_cb (guint    status,
                     gpointer user_data)
{
  pres_metrics_reject (user_data, status);
}

void
pres_http_api_set_subscriber_count_func (PresHttpApi            *self,
                                         PresSubscriberCountFunc func,
                                         gpointer                user_data)
{
  self->subscriber_count = func;
  self->subscriber_count_data = user_data;
}

void
pres_http_api_set_conversation_window (PresHttpApi *self,
                                       guint        window_ms)
{
  g_return_if_fail (window_ms > 0);
  self->conversation_window_ms = window_ms;
}

static void
pres_http_api_dispose (GObject *object)
{
  PresHttpApi *self = PRES_HTTP_API (object);

  g_clear_object (&self->store);
  g_clear_object (&self->auth);

  G_OBJECT_CLASS (pres_http_api_parent_class)->dispose (object);
}

static void
pres_http_api_class_init (PresHttpApiClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pres_http_api_dispose;
}

static void
pres_http_api_init (PresHttpApi *self)
{
}

PresHttpApi *
pres_http_api_new (PresHttpServer *server,
                   PresStore      *store,
                   PresAuth       *auth,
                   PresRateLimit  *rate_limit,
                   PresMetrics    *metrics,
                   guint           ttl_ms,
                   guint           interval_ms)
{
  PresHttpApi *self = g_object_new (PRES_TYPE_HTTP_API, NULL);

  self->store = g_object_ref (store);
  self->auth = g_object_ref (auth);
  self->rate_limit = rate_limit;
  self->metrics = metrics;
  self->ttl_ms = ttl_ms;
  self->interval_ms = interval_ms;
  self->conversation_window_ms = PRES_HTTP_DEFAULT_CONVERSATION_WINDOW_MS;

  pres_http_server_set_max_body (server, PRES_WIRE_MAX_BODY_BYTES);
  pres_http_server_set_reject_func (server, front_end_reject_cb, metrics);
  pres_http_server_add_handler (server, NULL, not_found_cb, self);
  pres_http_server_add_handler (server, INSTANCES_PATH, instances_cb, self);
  pres_http_server_add_handler (server, "/v1/presence", pres_read_api_presence_cb, self);
  pres_http_server_add_handler (server, "/v1/members", pres_read_api_members_cb, self);
  pres_http_server_add_handler (server, "/v1/conversations", pres_conversation_api_cb, self);
  pres_http_server_add_handler (server, "/healthz", healthz_cb, self);
  pres_http_server_add_handler (server, "/metrics", metrics_cb, self);
  return self;
}
