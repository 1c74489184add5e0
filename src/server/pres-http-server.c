#define G_LOG_DOMAIN "pres-http"
#define _GNU_SOURCE /* accept4 */

#include <glib-unix.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "pres-http-private.h"
#include "pres-wire.h"

#define DEFAULT_IDLE_TIMEOUT_MS (60 * 1000)
#define DEFAULT_REQUEST_TIMEOUT_MS (10 * 1000)
#define DEFAULT_MAX_CONNECTIONS 100000
#define MAX_EVENTS              256
#define MAX_ACCEPTS             256 /* per dispatch, so one busy listener cannot starve the rest */

typedef struct
{
  char *prefix; /* NULL: the fallback */
  gboolean exact; /* the path itself, not a prefix: it wins over every prefix */
  PresHttpHandler handler;
  gpointer user_data;
} Route;

typedef struct
{
  GSource source;
  PresHttpServer *server;
} ServerSource;

G_DEFINE_TYPE (PresHttpServer, pres_http_server, G_TYPE_OBJECT)

/* --- responses and routes ---------------------------------------------------- */

static const char *
reason_phrase (guint status)
{
  switch (status)
    {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* Formatting the date once a second rather than per response. */
static const char *
http_date (PresHttpServer *self)
{
  gint64 second = g_get_real_time () / G_USEC_PER_SEC;

  if (second != self->date_second)
    {
      time_t t = (time_t) second;
      struct tm tm;

      gmtime_r (&t, &tm);
      strftime (self->date, sizeof self->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
      self->date_second = second;
    }
  return self->date;
}

void
pres_http_server_append_head (PresHttpServer *self,
                              GString        *out,
                              guint           status,
                              const GString  *extra_headers)
{
  g_string_append_printf (out, "HTTP/1.1 %u %s\r\nServer: %s\r\nDate: %s\r\n", status,
                          reason_phrase (status), self->server_header, http_date (self));
  if (extra_headers != NULL)
    g_string_append_len (out, extra_headers->str, extra_headers->len);
}

/* The source wakes for the earliest connection deadline. */
void
pres_http_server_arm_timer (PresHttpServer *self)
{
  PresDeadlineNode *next = pres_deadline_index_peek (self->deadlines);
  gint64 ready_time = next != NULL ? next->deadline : -1;

  if (ready_time != self->ready_time && self->source != NULL)
    {
      self->ready_time = ready_time;
      g_source_set_ready_time (self->source, ready_time);
    }
}

static Route *
find_route (PresHttpServer *self,
            const char     *path)
{
  Route *best = NULL;
  gsize best_len = 0;

  for (guint i = 0; i < self->routes->len; i++)
    {
      Route *route = &g_array_index (self->routes, Route, i);
      gsize len = route->prefix != NULL ? strlen (route->prefix) : 0;

      if (route->exact)
        {
          if (g_str_equal (path, route->prefix))
            return route;
          continue;
        }
      if (route->prefix != NULL && strncmp (path, route->prefix, len) != 0)
        continue;
      if (best == NULL || len > best_len)
        {
          best = route;
          best_len = len;
        }
    }
  return best;
}

void
pres_http_server_route (PresHttpServer  *self,
                        PresHttpRequest *req)
{
  Route *route = find_route (self, req->path);

  if (route == NULL)
    {
      pres_http_request_respond_error (req, 404, "not_found", "no such endpoint");
      return;
    }
  pres_http_request_ref (req);
  route->handler (self, req, route->user_data);
  pres_http_request_unref (req);
}

/* --- the listener ------------------------------------------------------------- */

static void
refuse (PresHttpServer *self,
        int             fd)
{
  g_autofree char *body =
    pres_wire_error_to_json ("too_many_connections", "the server is full, try again later");
  g_autoptr (GString) out = g_string_new (NULL);
  char discard[4096];

  pres_http_server_append_head (self, out, 503, NULL);
  g_string_append_printf (out,
                          "Content-Type: application/json\r\nContent-Length: %" G_GSIZE_FORMAT
                          "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s",
                          strlen (body), body);
  /* Best effort: reading what already came avoids a reset that would
   * destroy the answer. */
  if (recv (fd, discard, sizeof discard, 0) < 0)
    g_debug ("refused a connection before it sent anything");
  if (send (fd, out->str, out->len, MSG_NOSIGNAL) < 0)
    g_debug ("refused a connection without an answer: %s", g_strerror (errno));
  close (fd);
}
static void
accept_connections (PresHttpServer *self)
{
  for (guint i = 0; i < MAX_ACCEPTS; i++)
    {
      struct sockaddr_storage peer;
      socklen_t peer_len = sizeof peer;
      int fd = accept4 (self->listen_fd, (struct sockaddr *) &peer, &peer_len,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if ((errno == EMFILE || errno == ENFILE) && self->reserve_fd >= 0)
            {
              /* Out of descriptors: free the reserve to take one connection
               * and tell it, rather than leaving it in the backlog. */
              close (self->reserve_fd);
              fd = accept4 (self->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
              if (fd >= 0)
                refuse (self, fd);
              self->reserve_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
              g_warning ("out of file descriptors with %u connections", self->conns.length);
            }
          else if (errno != EAGAIN && errno != EWOULDBLOCK)
            g_warning ("accept: %s", g_strerror (errno));
          return;
        }
      if (self->conns.length >= self->max_connections)
        refuse (self, fd);
      else
        pres_http_connection_accepted (self, fd, (struct sockaddr *) &peer, peer_len);
    }
}

/* --- the main-loop source ------------------------------------------------------ */

static void
handle_events (PresHttpServer *self)
{
  struct epoll_event events[MAX_EVENTS];
  int n = epoll_wait (self->epoll_fd, events, MAX_EVENTS, 0);

  for (int i = 0; i < n; i++)
    {
      if (events[i].data.ptr == NULL)
        accept_connections (self);
      else
        pres_http_connection_ready (events[i].data.ptr, events[i].events);
    }
}

static void
expire_connections (PresHttpServer *self)
{
  gint64 now = g_get_monotonic_time ();
  PresDeadlineNode *node;

  while ((node = pres_deadline_index_pop_expired (self->deadlines, now)) != NULL)
    {
      PresHttpConnection *conn =
        (PresHttpConnection *) ((char *) node - G_STRUCT_OFFSET (PresHttpConnection, deadline));

      pres_http_connection_expired (conn);
    }
}

static void
flush_dirty (PresHttpServer *self)
{
  GList *link;

  while ((link = g_queue_peek_head_link (&self->dirty)) != NULL)
    {
      PresHttpConnection *conn = pres_http_connection_ref (link->data);

      /* Unlinks it in every case. */
      pres_http_connection_flush (conn);
      pres_http_connection_unref (conn);
    }
}

static gboolean
source_prepare (GSource *source,
                int     *timeout)
{
  PresHttpServer *self = ((ServerSource *) source)->server;

  *timeout = -1;
  /* Output queued since the last dispatch goes out in this iteration. */
  return self->dirty.length > 0;
}

static gboolean
source_dispatch (GSource    *source,
                 GSourceFunc callback,
                 gpointer    user_data)
{
  PresHttpServer *self = ((ServerSource *) source)->server;

  if (g_source_query_unix_fd (source, self->epoll_tag) & G_IO_IN)
    handle_events (self);
  if (self->ready_time >= 0 && g_get_monotonic_time () >= self->ready_time)
    expire_connections (self);
  flush_dirty (self);
  pres_http_server_arm_timer (self);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs source_funcs = {
  .prepare = source_prepare,
  .dispatch = source_dispatch,
};

GSocketAddress *
pres_http_server_listen (PresHttpServer *self,
                         GSocketAddress *address,
                         int             backlog,
                         GError        **error)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  int fd;

  g_return_val_if_fail (self->listen_fd < 0, NULL);
  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_DEFAULT, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_listen_backlog (socket, backlog);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    return NULL;
  bound = g_socket_get_local_address (socket, error);
  if (bound == NULL)
    return NULL;
  fd = fcntl (g_socket_get_fd (socket), F_DUPFD_CLOEXEC, 0);
  if (fd < 0 || !g_unix_set_fd_nonblocking (fd, TRUE, error) ||
      epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
    {
      if (fd >= 0)
        close (fd);
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "listening: %s",
                     g_strerror (errno));
      return NULL;
    }
  self->listen_fd = fd;
  return g_steal_pointer (&bound);
}

void
pres_http_server_add_handler (PresHttpServer *self,
                              const char     *prefix,
                              PresHttpHandler handler,
                              gpointer        user_data)
{
  Route route = { g_strdup (prefix), FALSE, handler, user_data };

  g_array_append_val (self->routes, route);
}

void
pres_http_server_add_exact_handler (PresHttpServer *self,
                                    const char     *path,
                                    PresHttpHandler handler,
                                    gpointer        user_data)
{
  Route route = { g_strdup (path), TRUE, handler, user_data };

  g_return_if_fail (path != NULL);
  g_array_append_val (self->routes, route);
}

void
pres_http_server_set_idle_timeout (PresHttpServer *self,
                                   guint           timeout_ms)
{
  self->idle_timeout_ms = timeout_ms;
}

void
pres_http_server_set_request_timeout (PresHttpServer *self,
                                      guint           timeout_ms)
{
  self->request_timeout_ms = timeout_ms;
}

void
pres_http_server_set_max_connections (PresHttpServer *self,
                                      guint           max_connections)
{
  self->max_connections = max_connections;
}

void
pres_http_server_set_max_body (PresHttpServer *self,
                               gsize           max_body)
{
  self->max_body = max_body;
}

void
pres_http_server_set_reject_func (PresHttpServer    *self,
                                  PresHttpRejectFunc func,
                                  gpointer           user_data)
{
  self->reject = func;
  self->reject_data = user_data;
}

guint
pres_http_server_get_n_connections (PresHttpServer *self)
{
  return self->conns.length;
}

void
pres_http_server_disconnect (PresHttpServer *self)
{
  GList *link;

  while ((link = g_queue_peek_head_link (&self->conns)) != NULL)
    pres_http_connection_abort (link->data);
}

static void
clear_route (gpointer data)
{
  g_free (((Route *) data)->prefix);
}

static void
pres_http_server_dispose (GObject *object)
{
  PresHttpServer *self = PRES_HTTP_SERVER (object);

  pres_http_server_disconnect (self);
  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  if (self->listen_fd >= 0)
    close (self->listen_fd);
  self->listen_fd = -1;

  G_OBJECT_CLASS (pres_http_server_parent_class)->dispose (object);
}

static void
pres_http_server_finalize (GObject *object)
{
  PresHttpServer *self = PRES_HTTP_SERVER (object);

  if (self->epoll_fd >= 0)
    close (self->epoll_fd);
  if (self->reserve_fd >= 0)
    close (self->reserve_fd);
  g_clear_pointer (&self->deadlines, pres_deadline_index_free);
  g_clear_pointer (&self->routes, g_array_unref);
  g_free (self->scratch);
  g_free (self->server_header);

  G_OBJECT_CLASS (pres_http_server_parent_class)->finalize (object);
}

static void
pres_http_server_class_init (PresHttpServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pres_http_server_dispose;
  object_class->finalize = pres_http_server_finalize;
}

static void
pres_http_server_init (PresHttpServer *self)
{
  self->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
  self->request_timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS;
  self->max_connections = DEFAULT_MAX_CONNECTIONS;
  self->max_body = PRES_WIRE_MAX_BODY_BYTES;
  self->routes = g_array_new (FALSE, FALSE, sizeof (Route));
  g_array_set_clear_func (self->routes, clear_route);
  self->listen_fd = -1;
  self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  self->reserve_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  self->ready_time = -1;
  self->deadlines = pres_deadline_index_new ();
  self->scratch = g_malloc (PRES_HTTP_READ_CHUNK);
  g_queue_init (&self->conns);
  g_queue_init (&self->dirty);
}

PresHttpServer *
pres_http_server_new (const char *server_header)
{
  PresHttpServer *self = g_object_new (PRES_TYPE_HTTP_SERVER, NULL);
  ServerSource *source;

  self->server_header = g_strdup (server_header);
  if (self->epoll_fd < 0)
    g_error ("epoll_create1: %s", g_strerror (errno));
  source = (ServerSource *) g_source_new (&source_funcs, sizeof (ServerSource));
  source->server = self;
  self->source = &source->source;
  g_source_set_name (self->source, "[pres-http] connections");
  self->epoll_tag = g_source_add_unix_fd (self->source, self->epoll_fd, G_IO_IN);
  g_source_attach (self->source, NULL);
  return self;
}

