#define G_LOG_DOMAIN "pres-server"

#include <string.h>

#include "pres-http-api.h"

#define INSTANCES_PATH "/v1/instances"
#define STORE_FULL_RETRY_AFTER_S 30
#define STORE_UNAVAILABLE_RETRY_AFTER_S 5

struct _PresHttpApi
{
  GObject parent_instance;

  PresStore *store;
  PresAuth *auth;
  PresRateLimit *rate_limit; /* not owned */
  PresMetrics *metrics;      /* not owned */
  guint ttl_ms;
  guint interval_ms;
  PresSubscriberCountFunc subscriber_count;
  gpointer subscriber_count_data;
};

G_DEFINE_TYPE (PresHttpApi, pres_http_api, G_TYPE_OBJECT)

static void
reply_json (SoupServerMessage *msg,
            guint              status,
            char              *body)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, body,
                                    strlen (body));
}

static void
reply_error (PresHttpApi       *self,
             SoupServerMessage *msg,
             guint              status,
             const char        *code,
             const char        *message)
{
  g_debug ("%s %s → %u %s: %s", soup_server_message_get_method (msg),
           g_uri_get_path (soup_server_message_get_uri (msg)), status, code, message);
  pres_metrics_reject (self->metrics, status);
  reply_json (msg, status, pres_wire_error_to_json (code, message));
}

static void
reply_wire_error (PresHttpApi       *self,
                  SoupServerMessage *msg,
                  const GError      *error)
{
  guint status = error->code == PRES_WIRE_ERROR_TOO_LARGE ? SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE
                                                           : SOUP_STATUS_BAD_REQUEST;

  reply_error (self, msg, status, pres_wire_error_code_to_string (error->code), error->message);
}

static void
set_retry_after (SoupServerMessage *msg,
                 guint              seconds)
{
  char value[16];

  g_snprintf (value, sizeof value, "%u", seconds);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                value);
}

/* A request waiting for the store.  The store may answer before its call
 * returns (memory) or later (Redis): the message is paused only in the
 * latter case, and whichever of the two ends last frees this. */
typedef struct
{
  PresHttpApi *self;
  SoupServerMessage *msg;
  char *participant_id;
  GPtrArray *ids; /* of a read, unique */
  guint refs;
  gboolean answered;
  gboolean paused;
} Pending;

static Pending *
pending_new (PresHttpApi       *self,
             SoupServerMessage *msg,
             const char        *participant_id)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->self = g_object_ref (self);
  pending->msg = g_object_ref (msg);
  pending->participant_id = g_strdup (participant_id);
  pending->refs = 2; /* the caller's and the callback's */
  return pending;
}

static void
pending_unref (Pending *pending)
{
  if (--pending->refs > 0)
    return;
  g_object_unref (pending->msg);
  g_object_unref (pending->self);
  g_free (pending->participant_id);
  g_clear_pointer (&pending->ids, g_ptr_array_unref);
  g_free (pending);
}

/* The caller, once the store call has returned. */
static void
pending_started (Pending *pending)
{
  if (!pending->answered)
    {
      soup_server_message_pause (pending->msg);
      pending->paused = TRUE;
    }
  pending_unref (pending);
}

/* The callback, once the response is set. */
static void
pending_answered (Pending *pending)
{
  pending->answered = TRUE;
  if (pending->paused)
    soup_server_message_unpause (pending->msg);
  pending_unref (pending);
}

static void
reply_unavailable (PresHttpApi       *self,
                   SoupServerMessage *msg,
                   const GError      *error)
{
  set_retry_after (msg, STORE_UNAVAILABLE_RETRY_AFTER_S);
  reply_error (self, msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "unavailable", error->message);
}

/* Authentication, then the caller's rate limit: both before anything else
 * is looked at, so a rejected caller learns nothing and costs little. */
static gboolean
authorize (PresHttpApi       *self,
           SoupServerMessage *msg,
           PresIdentity      *identity)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  guint retry_after_s = 1;

  if (!pres_auth_check (self->auth, soup_message_headers_get_one (headers, "Authorization"),
                        identity))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Bearer");
      reply_error (self, msg, SOUP_STATUS_UNAUTHORIZED, "unauthorized",
                   "Authorization: a valid bearer token is required");
      return FALSE;
    }
  if (!pres_rate_limit_take (self->rate_limit, identity->token, g_get_monotonic_time (),
                             &retry_after_s))
    {
      set_retry_after (msg, retry_after_s);
      reply_error (self, msg, 429, "rate_limited",
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
  Pending *pending = user_data;
  PresHttpApi *self = pending->self;
  SoupServerMessage *msg = pending->msg;
  g_autoptr (PresHeartbeatReply) reply = NULL;

  if (g_error_matches (error, PRES_STORE_ERROR, PRES_STORE_ERROR_FULL))
    {
      set_retry_after (msg, STORE_FULL_RETRY_AFTER_S);
      reply_error (self, msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "server_full", error->message);
    }
  else if (g_error_matches (error, PRES_STORE_ERROR, PRES_STORE_ERROR_TOO_MANY_INSTANCES))
    reply_error (self, msg, SOUP_STATUS_CONFLICT, "too_many_instances", error->message);
  else if (error != NULL)
    reply_unavailable (self, msg, error);
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
      reply->ttl_ms = self->ttl_ms;
      reply->interval_ms = self->interval_ms;
      reply_json (msg, SOUP_STATUS_OK, pres_heartbeat_reply_to_json (reply));
    }
  pending_answered (pending);
}

static void
handle_put (PresHttpApi       *self,
            SoupServerMessage *msg,
            const PresIdentity *identity,
            const char        *instance_id)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr (PresHeartbeat) hb = NULL;
  g_autoptr (GError) error = NULL;
  Pending *pending;
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);

  hb = pres_heartbeat_parse (data != NULL ? data : "", length, &error);
  if (hb == NULL)
    {
      reply_wire_error (self, msg, error);
      return;
    }
  pending = pending_new (self, msg, identity->participant_id);
  pres_store_upsert (self->store, identity->participant_id, instance_id, g_steal_pointer (&hb),
                     upsert_cb, pending);
  pending_started (pending);
}

static void
leave_cb (gboolean      removed,
          const GError *error,
          gpointer      user_data)
{
  Pending *pending = user_data;

  if (error != NULL)
    reply_unavailable (pending->self, pending->msg, error);
  else
    {
      if (removed)
        pending->self->metrics->leaves++;
      /* A late or repeated leave is not an error: the outcome is the same. */
      reply_json (pending->msg, SOUP_STATUS_OK, g_strdup ("{}"));
    }
  pending_answered (pending);
}

static void
handle_delete (PresHttpApi       *self,
               SoupServerMessage *msg,
               const PresIdentity *identity,
               const char        *instance_id,
               GHashTable        *query)
{
  const char *session = query != NULL ? g_hash_table_lookup (query, "session") : NULL;
  const char *reason = query != NULL ? g_hash_table_lookup (query, "reason") : NULL;
  Pending *pending;

  if (session == NULL || *session == '\0' || strlen (session) > PRES_WIRE_MAX_STRING_BYTES)
    {
      reply_error (self, msg, SOUP_STATUS_BAD_REQUEST, "invalid_field",
                   "session: the query parameter is required (at most 256 bytes)");
      return;
    }
  g_debug ("instance %s of %s leaves (%s)", instance_id, identity->participant_id,
           reason != NULL ? reason : "no reason");
  pending = pending_new (self, msg, identity->participant_id);
  pres_store_leave (self->store, identity->participant_id, instance_id, session, leave_cb,
                    pending);
  pending_started (pending);
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
  g_string_append_printf (out, ",\"ts\":%" G_GINT64_FORMAT "}", info->last_seen_ms);
}

static void
list_cb (GPtrArray    *infos,
         const GError *error,
         gpointer      user_data)
{
  Pending *pending = user_data;
  GString *out;

  if (error != NULL)
    {
      reply_unavailable (pending->self, pending->msg, error);
      pending_answered (pending);
      return;
    }
  out = g_string_new ("{\"instances\":[");
  for (guint i = 0; i < infos->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      append_instance (out, infos->pdata[i]);
    }
  g_string_append (out, "]}");
  pending->self->metrics->reads++;
  reply_json (pending->msg, SOUP_STATUS_OK, g_string_free (out, FALSE));
  pending_answered (pending);
}

static void
handle_list (PresHttpApi       *self,
             SoupServerMessage *msg,
             const PresIdentity *identity)
{
  Pending *pending = pending_new (self, msg, identity->participant_id);

  pres_store_list_instances (self->store, identity->admin ? NULL : identity->participant_id,
                             list_cb, pending);
  pending_started (pending);
}

static void
instances_cb (SoupServer        *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  PresHttpApi *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  const char *id_part = path + strlen (INSTANCES_PATH);
  g_autofree char *instance_id = NULL;
  g_autoptr (GError) error = NULL;
  PresIdentity identity;

  if (*id_part != '\0' && *id_part != '/')
    {
      reply_error (self, msg, SOUP_STATUS_NOT_FOUND, "not_found", "no such endpoint");
      return;
    }
  if (!authorize (self, msg, &identity))
    return;

  if (*id_part == '\0' || g_str_equal (id_part, "/"))
    {
      if (g_str_equal (method, "GET"))
        handle_list (self, msg, &identity);
      else
        reply_error (self, msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
                     "/v1/instances: only GET is allowed");
      return;
    }

  instance_id = pres_instance_id_normalize (id_part + 1, &error);
  if (instance_id == NULL)
    {
      reply_wire_error (self, msg, error);
      return;
    }
  if (g_str_equal (method, "PUT"))
    handle_put (self, msg, &identity, instance_id);
  else if (g_str_equal (method, "DELETE"))
    handle_delete (self, msg, &identity, instance_id, query);
  else
    reply_error (self, msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
                 "/v1/instances/{id}: only PUT and DELETE are allowed");
}

/* Without the store, a state is "unknown" rather than an invented offline. */
static void
states_cb (const PresState *states,
           const GError    *error,
           gpointer         user_data)
{
  Pending *pending = user_data;
  GString *out = g_string_new ("{");

  for (guint i = 0; i < pending->ids->len; i++)
    {
      const char *id = pending->ids->pdata[i];

      if (i > 0)
        g_string_append_c (out, ',');
      pres_wire_append_json_string (out, id);
      g_string_append_c (out, ':');
      pres_wire_append_json_string (
        out, states == NULL ? "unknown"
                            : pres_state_to_string (pres_store_state_for_viewer (
                                states[i], id, pending->participant_id)));
    }
  g_string_append_c (out, '}');
  pending->self->metrics->reads++;
  reply_json (pending->msg, SOUP_STATUS_OK, g_string_free (out, FALSE));
  pending_answered (pending);
}

static void
presence_cb (SoupServer        *server,
             SoupServerMessage *msg,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  PresHttpApi *self = user_data;
  const char *ids_param = query != NULL ? g_hash_table_lookup (query, "ids") : NULL;
  g_auto (GStrv) ids = NULL;
  g_autoptr (GHashTable) seen = NULL;
  PresIdentity identity;
  Pending *pending;

  if (!g_str_equal (path, "/v1/presence"))
    {
      reply_error (self, msg, SOUP_STATUS_NOT_FOUND, "not_found", "no such endpoint");
      return;
    }
  if (!authorize (self, msg, &identity))
    return;
  if (!g_str_equal (soup_server_message_get_method (msg), "GET"))
    {
      reply_error (self, msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method_not_allowed",
                   "/v1/presence: only GET is allowed");
      return;
    }
  if (ids_param == NULL || *ids_param == '\0')
    {
      reply_error (self, msg, SOUP_STATUS_BAD_REQUEST, "invalid_field",
                   "ids: a comma-separated list of participant ids is required");
      return;
    }
  ids = g_strsplit (ids_param, ",", PRES_HTTP_MAX_READ_IDS + 1);
  if (g_strv_length (ids) > PRES_HTTP_MAX_READ_IDS)
    {
      reply_error (self, msg, SOUP_STATUS_BAD_REQUEST, "invalid_field",
                   "ids: at most 500 ids are allowed");
      return;
    }
  for (guint i = 0; ids[i] != NULL; i++)
    {
      if (!pres_participant_id_is_valid (ids[i]))
        {
          reply_error (self, msg, SOUP_STATUS_BAD_REQUEST, "invalid_id",
                       "ids: each must match [A-Za-z0-9._:@-]{1,128}");
          return;
        }
    }

  /* A repeated id would be a repeated JSON key. */
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  pending = pending_new (self, msg, identity.participant_id);
  pending->ids = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; ids[i] != NULL; i++)
    {
      if (g_hash_table_add (seen, ids[i]))
        g_ptr_array_add (pending->ids, g_strdup (ids[i]));
    }
  pres_store_get_states (self->store, (const char *const *) pending->ids->pdata,
                         pending->ids->len, states_cb, pending);
  pending_started (pending);
}

static void
healthz_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  reply_json (msg, SOUP_STATUS_OK, g_strdup ("{\"status\":\"ok\"}"));
}

static void
counts_cb (const PresStoreCounts *counts,
           const GError          *error,
           gpointer               user_data)
{
  Pending *pending = user_data;
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
  char *text = pres_metrics_render (self->metrics, &gauges);

  soup_server_message_set_status (pending->msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (pending->msg, "text/plain; version=0.0.4; charset=utf-8",
                                    SOUP_MEMORY_TAKE, text, strlen (text));
  pending_answered (pending);
}

static void
metrics_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  Pending *pending = pending_new (user_data, msg, NULL);

  pres_store_get_counts (PRES_HTTP_API (user_data)->store, counts_cb, pending);
  pending_started (pending);
}

static void
not_found_cb (SoupServer        *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  reply_error (user_data, msg, SOUP_STATUS_NOT_FOUND, "not_found", "no such endpoint");
}

/* Runs once the headers are in, before the body is read: an oversize body
 * is refused without buffering it.  A chunked body would be read whole
 * before its size is known, so a length is required. */
static void
early_cb (SoupServer        *server,
          SoupServerMessage *msg,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  goffset length = soup_message_headers_get_content_length (headers);

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CHUNKED)
    reply_error (user_data, msg, SOUP_STATUS_LENGTH_REQUIRED, "length_required",
                 "body: send a Content-Length (at most 4096 bytes), not a chunked body");
  else if (length > PRES_WIRE_MAX_BODY_BYTES)
    {
      g_autofree char *message =
        g_strdup_printf ("body: at most %d bytes are allowed", PRES_WIRE_MAX_BODY_BYTES);

      reply_error (user_data, msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "too_large", message);
    }
}

void
pres_http_api_set_subscriber_count_func (PresHttpApi            *self,
                                         PresSubscriberCountFunc func,
                                         gpointer                user_data)
{
  self->subscriber_count = func;
  self->subscriber_count_data = user_data;
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
pres_http_api_new (SoupServer    *server,
                   PresStore     *store,
                   PresAuth      *auth,
                   PresRateLimit *rate_limit,
                   PresMetrics   *metrics,
                   guint          ttl_ms,
                   guint          interval_ms)
{
  PresHttpApi *self = g_object_new (PRES_TYPE_HTTP_API, NULL);

  self->store = g_object_ref (store);
  self->auth = g_object_ref (auth);
  self->rate_limit = rate_limit;
  self->metrics = metrics;
  self->ttl_ms = ttl_ms;
  self->interval_ms = interval_ms;

  /* libsoup picks the most specific path's record, early handler included. */
  soup_server_add_early_handler (server, NULL, early_cb, self, NULL);
  soup_server_add_early_handler (server, INSTANCES_PATH, early_cb, self, NULL);
  soup_server_add_handler (server, NULL, not_found_cb, self, NULL);
  soup_server_add_handler (server, INSTANCES_PATH, instances_cb, self, NULL);
  soup_server_add_handler (server, "/v1/presence", presence_cb, self, NULL);
  soup_server_add_handler (server, "/healthz", healthz_cb, self, NULL);
  soup_server_add_handler (server, "/metrics", metrics_cb, self, NULL);
  return self;
}
