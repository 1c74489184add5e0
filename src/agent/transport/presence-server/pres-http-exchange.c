#define G_LOG_DOMAIN "pres-http"

#include "pres-http-exchange.h"

typedef struct
{
  SoupMessage *msg;
  GCancellable *cancellable; /* ours: the deadline cancels it too */
  GCancellable *caller_cancellable;
  gulong caller_handler;
  guint deadline_id;
  gboolean timed_out;
  GByteArray *body; /* as it arrives, at most PRES_HTTP_MAX_REPLY_BYTES + 1 */
  char *reply;
} Exchange;

static void
exchange_free (Exchange *exchange)
{
  g_clear_handle_id (&exchange->deadline_id, g_source_remove);
  if (exchange->caller_cancellable != NULL)
    g_cancellable_disconnect (exchange->caller_cancellable, exchange->caller_handler);
  g_clear_object (&exchange->caller_cancellable);
  g_clear_object (&exchange->cancellable);
  g_clear_object (&exchange->msg);
  g_clear_pointer (&exchange->body, g_byte_array_unref);
  g_free (exchange->reply);
  g_free (exchange);
}

static char *
instance_url (const char *base_url, const char *instance_id)
{
  g_autofree char *id = g_uri_escape_string (instance_id, NULL, FALSE);

  return g_strconcat (base_url, "/v1/instances/", id, NULL);
}

SoupMessage *
pres_http_exchange_new_heartbeat (const char *base_url,
                                  const char *instance_id,
                                  const PresHeartbeat *hb)
{
  g_autofree char *url = instance_url (base_url, instance_id);
  char *json = pres_heartbeat_to_json (hb);
  g_autoptr (GBytes) body = g_bytes_new_take (json, strlen (json));
  SoupMessage *msg = soup_message_new (SOUP_METHOD_PUT, url);

  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  return msg;
}

SoupMessage *
pres_http_exchange_new_leave (const char *base_url,
                              const char *instance_id,
                              const char *session,
                              const char *reason)
{
  g_autofree char *base = instance_url (base_url, instance_id);
  g_autofree char *session_arg = g_uri_escape_string (session, NULL, FALSE);
  g_autofree char *reason_arg = g_uri_escape_string (reason, NULL, FALSE);
  g_autofree char *url = g_strdup_printf ("%s?session=%s&reason=%s", base, session_arg, reason_arg);

  return soup_message_new (SOUP_METHOD_DELETE, url);
}

static gboolean
on_deadline (gpointer user_data)
{
  Exchange *exchange = user_data;

  exchange->deadline_id = 0;
  exchange->timed_out = TRUE;
  g_cancellable_cancel (exchange->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_caller_cancelled (GCancellable *caller, GCancellable *ours)
{
  g_cancellable_cancel (ours);
}

/* The outcome of a request that got no usable answer: cancelled by the
 * caller (no outcome), timed out, or broken. */
static void
return_error (GTask *task, GError *error)
{
  Exchange *exchange = g_task_get_task_data (task);

  if (!exchange->timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, error);
  else
    {
      g_task_return_pointer (task, pres_http_outcome_for_error (error, exchange->timed_out),
                             (GDestroyNotify)pres_http_outcome_free);
      g_error_free (error);
    }
}

/* Gives up on the rest of a body.  Closing the stream as it is would read
 * the rest to keep the connection; cancelled first, the connection goes. */
static void
abandon_body (Exchange *exchange, GInputStream *stream)
{
  g_cancellable_cancel (exchange->cancellable);
  g_input_stream_close (stream, exchange->cancellable, NULL);
}

static void
return_oversize (GTask *task, GInputStream *stream, goffset announced)
{
  Exchange *exchange = g_task_get_task_data (task);
  guint status = soup_message_get_status (exchange->msg);

  abandon_body (exchange, stream);
  exchange->reply = g_strdup_printf ("HTTP %u: a body over %d bytes, not read", status,
                                     PRES_HTTP_MAX_REPLY_BYTES);
  g_task_return_pointer (task, pres_http_outcome_for_oversize (status, announced),
                         (GDestroyNotify)pres_http_outcome_free);
}

static void
return_reply (GTask *task, GBytes *body)
{
  Exchange *exchange = g_task_get_task_data (task);
  SoupMessage *msg = exchange->msg;
  guint status = soup_message_get_status (msg);
  const char *retry_after
    = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Retry-After");

  exchange->reply = pres_http_describe_reply (status, body);
  if (soup_message_get_method (msg) == SOUP_METHOD_DELETE)
    g_task_return_pointer (task, pres_http_outcome_for_leave (status, retry_after, body),
                           (GDestroyNotify)pres_http_outcome_free);
  else
    g_task_return_pointer (task, pres_http_outcome_for_heartbeat (status, retry_after, body),
                           (GDestroyNotify)pres_http_outcome_free);
}

static void read_more (GTask *task, GInputStream *stream);

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Exchange *exchange = g_task_get_task_data (task);
  GInputStream *stream = G_INPUT_STREAM (source);
  GError *error = NULL;
  g_autoptr (GBytes) chunk = g_input_stream_read_bytes_finish (stream, result, &error);

  if (chunk == NULL)
    {
      g_clear_handle_id (&exchange->deadline_id, g_source_remove);
      abandon_body (exchange, stream);
      return_error (task, error);
      return;
    }
  if (g_bytes_get_size (chunk) == 0)
    {
      g_autoptr (GBytes) body = g_byte_array_free_to_bytes (g_steal_pointer (&exchange->body));

      g_clear_handle_id (&exchange->deadline_id, g_source_remove);
      g_input_stream_close (stream, NULL, NULL);
      return_reply (task, body);
      return;
    }
  g_byte_array_append (exchange->body, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
  if (exchange->body->len > PRES_HTTP_MAX_REPLY_BYTES)
    {
      g_clear_handle_id (&exchange->deadline_id, g_source_remove);
      return_oversize (task, stream, -1);
      return;
    }
  read_more (g_steal_pointer (&task), stream);
}

/* At most one byte past the bound is asked for: enough to tell. */
static void
read_more (GTask *task, GInputStream *stream)
{
  Exchange *exchange = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (stream, PRES_HTTP_MAX_REPLY_BYTES + 1 - exchange->body->len,
                                   G_PRIORITY_DEFAULT, exchange->cancellable, on_read, task);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Exchange *exchange = g_task_get_task_data (task);
  SoupMessageHeaders *headers = soup_message_get_response_headers (exchange->msg);
  GError *error = NULL;
  g_autoptr (GInputStream) stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);

  if (stream == NULL)
    {
      g_clear_handle_id (&exchange->deadline_id, g_source_remove);
      return_error (task, error);
      return;
    }
  /* A server announcing more than any reply of ours is refused before a
   * byte of its body is read; one that does not say is cut while reading. */
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
      && soup_message_headers_get_content_length (headers) > PRES_HTTP_MAX_REPLY_BYTES)
    {
      g_clear_handle_id (&exchange->deadline_id, g_source_remove);
      return_oversize (task, stream, soup_message_headers_get_content_length (headers));
      return;
    }
  exchange->body = g_byte_array_new ();
  read_more (g_steal_pointer (&task), stream);
}

void
pres_http_exchange_send_async (SoupSession *soup,
                               SoupMessage *msg,
                               const char *token,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autofree char *auth = g_strdup_printf ("Bearer %s", token);
  Exchange *exchange = g_new0 (Exchange, 1);

  g_task_set_source_tag (task, pres_http_exchange_send_async);
  /* The task's own cancellation check would drop a timed-out outcome. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_set_task_data (task, exchange, (GDestroyNotify)exchange_free);

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  explicit_bzero (auth, strlen (auth));

  exchange->msg = g_object_ref (msg);
  exchange->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      exchange->caller_cancellable = g_object_ref (cancellable);
      exchange->caller_handler = g_cancellable_connect (
        cancellable, G_CALLBACK (on_caller_cancelled), exchange->cancellable, NULL);
    }
  exchange->deadline_id
    = g_timeout_add_seconds (PRES_HTTP_REQUEST_TIMEOUT_S, on_deadline, exchange);
  soup_session_send_async (soup, msg, G_PRIORITY_DEFAULT, exchange->cancellable, on_sent,
                           g_steal_pointer (&task));
}

PresHttpOutcome *
pres_http_exchange_send_finish (GAsyncResult *result, char **reply, GError **error)
{
  Exchange *exchange;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  exchange = g_task_get_task_data (G_TASK (result));
  if (reply != NULL)
    *reply = g_strdup (exchange->reply);
  return g_task_propagate_pointer (G_TASK (result), error);
}
