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
};

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

  if (connection == NULL)
    return;
  g_ptr_array_add (((PresRecordingServer *)user_data)->hung, connection);
  accept_next (user_data);
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

  if (mode == PRES_RECORDING_HANG)
    {
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
  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  if (self->hang_listener != NULL)
    g_socket_listener_close (self->hang_listener);
  g_clear_object (&self->hang_listener);
  g_ptr_array_unref (self->hung);
  g_ptr_array_unref (self->requests);
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
