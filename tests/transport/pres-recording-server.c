#include "pres-recording-server.h"

struct _PresRecordingServer
{
  SoupServer *server;
  GSocketListener *hang_listener;
  GPtrArray *hung; /* connections held open, never answered */
  char *url;
  PresRecordingMode mode;
  guint interval_ms;
  GPtrArray *requests;
  char *flood_chunk; /* one chunk of body, sent again and again */
  gsize flooded;
  gboolean flood_refused;
  GCancellable *flooding; /* cancelled when the server goes */
};

#define FLOOD_CHUNK_BYTES (64 * 1024)

static void
recorded_request_free (PresRecordedRequest *request)
{
  g_free (request->method);
  g_free (request->path);
  g_free (request->query);
  g_free (request->authorization);
  g_free (request->body);
  g_free (request);
}

static void
handle (SoupServer *server,
        SoupServerMessage *msg,
        const char *path,
        GHashTable *query,
        gpointer user_data)
{
  PresRecordingServer *self = user_data;
  PresRecordedRequest *request = g_new0 (PresRecordedRequest, 1);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) data = soup_message_body_flatten (body);
  g_autofree char *reply = NULL;

  request->method = g_strdup (soup_server_message_get_method (msg));
  request->path = g_strdup (path);
  request->query = g_strdup (g_uri_get_query (soup_server_message_get_uri (msg)));
  request->authorization = g_strdup (
    soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Authorization"));
  request->body = g_strndup (g_bytes_get_data (data, NULL), g_bytes_get_size (data));
  request->when = g_get_monotonic_time ();
  g_ptr_array_add (self->requests, request);

  switch (self->mode)
    {
      case PRES_RECORDING_GOOD:
        reply = g_strdup_printf ("{\"participant_id\":\"lena\",\"state\":\"online\","
                                 "\"ttl_ms\":75000,\"interval_ms\":%u}",
                                 self->interval_ms);
        if (g_str_equal (request->method, "DELETE"))
          g_clear_pointer (&reply, g_free);
        soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                          reply ? reply : "{}", strlen (reply ? reply : "{}"));
        soup_server_message_set_status (msg, 200, NULL);
        break;
      case PRES_RECORDING_GARBAGE:
        soup_server_message_set_response (msg, "text/html", SOUP_MEMORY_STATIC, "<h1>hi</h1>", 11);
        soup_server_message_set_status (msg, 200, NULL);
        break;
      case PRES_RECORDING_UNAUTHORIZED:
        reply = g_strdup ("{\"error\":{\"code\":\"unauthorized\",\"message\":\"unknown token\"}}");
        soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, reply,
                                          strlen (reply));
        soup_server_message_set_status (msg, 401, NULL);
        break;
      case PRES_RECORDING_RATE_LIMITED:
        soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After",
                                      "2");
        soup_server_message_set_status (msg, 429, "Too Many Requests");
        break;
      case PRES_RECORDING_UNAVAILABLE:
      case PRES_RECORDING_HANG:
      default:
        soup_server_message_set_status (msg, 503, NULL);
        break;
    }
}

/* --- flooding: a reply body larger than any client should read -------------- */

typedef struct
{
  PresRecordingServer *self;
  GSocketConnection *connection;
  GString *out; /* what is being written now */
  gboolean in_body;
  char request[4096];
} Flood;

static void
flood_free (Flood *flood)
{
  g_io_stream_close (G_IO_STREAM (flood->connection), NULL, NULL);
  g_object_unref (flood->connection);
  g_string_free (flood->out, TRUE);
  g_free (flood);
}

static void flood_write (Flood *flood);

static void
on_flood_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Flood *flood = user_data;
  PresRecordingServer *self = flood->self;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        self->flood_refused = TRUE;
      flood_free (flood);
      return;
    }
  if (flood->in_body)
    self->flooded += FLOOD_CHUNK_BYTES;
  flood->in_body = TRUE;
  if (self->flooded >= PRES_RECORDING_FLOOD_BYTES)
    {
      /* Content-Length promised more: hold the connection open. */
      if (self->mode == PRES_RECORDING_FLOOD_CHUNKED)
        g_output_stream_write_all (G_OUTPUT_STREAM (source), "0\r\n\r\n", 5, NULL, NULL, NULL);
      g_ptr_array_add (self->hung, g_object_ref (flood->connection));
      flood_free (flood);
      return;
    }
  flood_write (flood);
}

static void
flood_write (Flood *flood)
{
  PresRecordingServer *self = flood->self;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (flood->connection));

  g_string_truncate (flood->out, 0);
  if (self->mode == PRES_RECORDING_FLOOD_CHUNKED)
    g_string_append_printf (flood->out, "%x\r\n", FLOOD_CHUNK_BYTES);
  g_string_append_len (flood->out, self->flood_chunk, FLOOD_CHUNK_BYTES);
  if (self->mode == PRES_RECORDING_FLOOD_CHUNKED)
    g_string_append (flood->out, "\r\n");
  g_output_stream_write_all_async (out, flood->out->str, flood->out->len, G_PRIORITY_DEFAULT,
                                   self->flooding, on_flood_written, flood);
}

static void
on_flood_request (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Flood *flood = user_data;
  PresRecordingServer *self = flood->self;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (flood->connection));
  PresRecordedRequest *request = g_new0 (PresRecordedRequest, 1);

  if (g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL) <= 0)
    {
      g_free (request);
      flood_free (flood);
      return;
    }
  /* Only the server's end of it is tested: the request is not parsed. */
  request->method = g_strdup ("flood");
  request->when = g_get_monotonic_time ();
  g_ptr_array_add (self->requests, request);
  g_string_assign (flood->out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
  if (self->mode == PRES_RECORDING_FLOOD_CHUNKED)
    g_string_append (flood->out, "Transfer-Encoding: chunked\r\n\r\n");
  else
    g_string_append (flood->out, "Content-Length: 209715200\r\n\r\n");
  g_output_stream_write_all_async (out, flood->out->str, flood->out->len, G_PRIORITY_DEFAULT,
                                   self->flooding, on_flood_written, flood);
}

static void
flood_start (PresRecordingServer *self, GSocketConnection *connection)
{
  Flood *flood = g_new0 (Flood, 1);

  flood->self = self;
  flood->connection = connection;
  flood->out = g_string_new (NULL);
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                             flood->request, sizeof flood->request, G_PRIORITY_DEFAULT,
                             self->flooding, on_flood_request, flood);
}

gsize
pres_recording_server_get_flooded (PresRecordingServer *self)
{
  return self->flooded;
}

gboolean
pres_recording_server_flood_refused (PresRecordingServer *self)
{
  return self->flood_refused;
}

static void on_hang_accept (GObject *source, GAsyncResult *result, gpointer user_data);

static void
accept_next (PresRecordingServer *self)
{
  g_socket_listener_accept_async (self->hang_listener, NULL, on_hang_accept, self);
}

static void
on_hang_accept (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GSocketConnection *connection
    = g_socket_listener_accept_finish (G_SOCKET_LISTENER (source), result, NULL, NULL);

  PresRecordingServer *self = user_data;

  if (connection == NULL)
    return;
  if (self->mode == PRES_RECORDING_HANG)
    g_ptr_array_add (self->hung, connection);
  else
    flood_start (self, connection);
  accept_next (self);
}

PresRecordingServer *
pres_recording_server_new (PresRecordingMode mode)
{
  PresRecordingServer *self = g_new0 (PresRecordingServer, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GSocket) listener = NULL;

  self->mode = mode;
  self->interval_ms = 30000;
  self->requests = g_ptr_array_new_with_free_func ((GDestroyNotify)recorded_request_free);
  self->hung = g_ptr_array_new_with_free_func (g_object_unref);

  if (mode == PRES_RECORDING_HANG || mode == PRES_RECORDING_FLOOD_LENGTH
      || mode == PRES_RECORDING_FLOOD_CHUNKED)
    {
      self->flood_chunk = g_strnfill (FLOOD_CHUNK_BYTES, ' ');
      self->flooding = g_cancellable_new ();
      self->hang_listener = g_socket_listener_new ();
      g_socket_listener_add_address (self->hang_listener, address, G_SOCKET_TYPE_STREAM,
                                     G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
      g_assert_no_error (error);
      self->url = g_strdup_printf ("http://127.0.0.1:%u",
                                   g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
      accept_next (self);
      return self;
    }

  /* Our own socket: libsoup 3.2's soup_server_get_uris() leaks. */
  listener
    = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (listener, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (listener, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (listener, &error);
  g_assert_no_error (error);
  self->url = g_strdup_printf ("http://127.0.0.1:%u",
                               g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  self->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (self->server, NULL, handle, self, NULL);
  soup_server_listen_socket (self->server, listener, 0, &error);
  g_assert_no_error (error);
  return self;
}

void
pres_recording_server_free (PresRecordingServer *self)
{
  if (self->flooding != NULL)
    {
      g_cancellable_cancel (self->flooding);
      /* The cancelled writes finish now, while self is still there. */
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_object_unref (self->flooding);
    }
  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  if (self->hang_listener != NULL)
    g_socket_listener_close (self->hang_listener);
  g_clear_object (&self->hang_listener);
  g_ptr_array_unref (self->hung);
  g_ptr_array_unref (self->requests);
  g_free (self->flood_chunk);
  g_free (self->url);
  g_free (self);
}

const char *
pres_recording_server_get_url (PresRecordingServer *self)
{
  return self->url;
}

void
pres_recording_server_set_mode (PresRecordingServer *self, PresRecordingMode mode)
{
  g_assert (mode != PRES_RECORDING_HANG && self->server != NULL);
  self->mode = mode;
}

void
pres_recording_server_set_interval (PresRecordingServer *self, guint interval_ms)
{
  self->interval_ms = interval_ms;
}

guint
pres_recording_server_count (PresRecordingServer *self)
{
  return self->requests->len;
}

const PresRecordedRequest *
pres_recording_server_get (PresRecordingServer *self, guint index)
{
  g_assert_cmpuint (index, <, self->requests->len);
  return g_ptr_array_index (self->requests, index);
}

const PresRecordedRequest *
pres_recording_server_last (PresRecordingServer *self)
{
  g_assert_cmpuint (self->requests->len, >, 0);
  return g_ptr_array_index (self->requests, self->requests->len - 1);
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

/* One iteration that never blocks past DEADLINE. */
void
pres_test_iterate (gint64 deadline)
{
  gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
  gboolean fired = FALSE;
  guint id = g_timeout_add (MAX (left_ms, 0) + 1, set_flag, &fired);

  g_main_context_iteration (NULL, TRUE);
  if (!fired)
    g_source_remove (id);
}

void
pres_test_run_for (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)ms * 1000;

  while (g_get_monotonic_time () < deadline)
    pres_test_iterate (deadline);
}

guint
pres_test_slowdown (void)
{
  /* Set by the valgrind test setup of tests/meson.build. */
  return g_getenv ("PRES_TEST_WRAPPER") != NULL ? 10 : 1;
}
