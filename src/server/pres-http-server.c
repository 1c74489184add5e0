#define G_LOG_DOMAIN "pres-http"
#define _GNU_SOURCE /* accept4 */

#include <glib-unix.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pres-deadline-index.h"
#include "pres-http-parser.h"
#include "pres-http-server.h"
#include "pres-wire.h"

#define DEFAULT_IDLE_TIMEOUT_MS (60 * 1000)
#define DEFAULT_MAX_CONNECTIONS 100000
#define MAX_EVENTS              256
#define MAX_ACCEPTS             256 /* per dispatch, so one busy listener cannot starve the rest */
#define READ_CHUNK              (64 * 1024)
/* Reading pauses while this many pipelined requests wait for their answers,
 * or while this much output waits for a slow reader. */
#define MAX_IN_FLIGHT           16
#define MAX_OUTPUT_FOR_READING  (256 * 1024)
/* A closing connection gets this long to take its last bytes. */
#define CLOSE_TIMEOUT_US        (5 * G_USEC_PER_SEC)
/* Idle deadlines move at most once a second: fewer heap updates. */
#define DEADLINE_SLACK_US       G_USEC_PER_SEC

typedef struct
{
  char *prefix; /* NULL: the fallback */
  PresHttpHandler handler;
  gpointer user_data;
} Route;

struct _PresHttpConnection
{
  gint ref_count;
  PresHttpServer *server; /* NULL once closed */
  int fd;
  guint32 events; /* registered with epoll */
  PresDeadlineNode deadline;
  GList link;       /* in server->conns */
  GList dirty_link; /* in server->dirty while output waits */
  GByteArray *in;   /* received and not used yet; NULL when empty */
  gsize head_scanned;
  PresHttpRequest *partial; /* head parsed, body still arriving */
  gsize partial_have;
  GString *out; /* NULL when empty */
  gsize out_sent;
  GQueue in_flight; /* PresHttpRequest *, owned, in arrival order */
  const PresHttpUpgradeFuncs *upgrade_funcs;
  gpointer upgrade_data;
  GDestroyNotify upgrade_destroy;
  guint awaiting_upgrade : 1; /* nothing after an upgrade request is HTTP */
  guint no_more_requests : 1;
  guint peer_closed : 1;
  guint closing : 1;   /* close once the output is out */
  guint lingering : 1; /* write side shut, reading until EOF */
  guint blocked : 1;   /* the kernel took only part of the output */
  guint in_input : 1;
  union
  {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
  } peer;
  socklen_t peer_len;
};

struct _PresHttpRequest
{
  gint ref_count;
  PresHttpConnection *conn;
  PresHttpHead head;
  GHashTable *query;
  GString *extra_headers;
  GString *response; /* waiting for the requests before it */
  const PresHttpUpgradeFuncs *upgrade_funcs;
  gpointer upgrade_data;
  GDestroyNotify upgrade_destroy;
  gboolean responded;
  gboolean close_after;
  char *body;
  gsize body_length;
  char data[]; /* head, NUL, body, NUL */
};

typedef struct
{
  GSource source;
  PresHttpServer *server;
} ServerSource;

struct _PresHttpServer
{
  GObject parent_instance;

  char *server_header;
  guint idle_timeout_ms;
  guint max_connections;
  gsize max_body;
  PresHttpRejectFunc reject;
  gpointer reject_data;
  GArray *routes; /* of Route */

  int listen_fd;
  int epoll_fd;
  int reserve_fd; /* given up to accept and refuse when out of descriptors */
  GSource *source;
  gpointer epoll_tag;
  gint64 ready_time;
  GQueue conns;
  GQueue dirty;
  PresDeadlineIndex *deadlines;
  char *scratch;
  char head_buf[PRES_HTTP_MAX_HEAD_BYTES + 1];
  char date[40];
  gint64 date_second;
};

G_DEFINE_TYPE (PresHttpServer, pres_http_server, G_TYPE_OBJECT)

static void conn_flush (PresHttpConnection *conn);
static void conn_resume (PresHttpConnection *conn);

/* --- output ---------------------------------------------------------------- */

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

static void
append_head (PresHttpServer *self,
             GString        *out,
             guint           status,
             const GString  *extra_headers)
{
  g_string_append_printf (out, "HTTP/1.1 %u %s\r\nServer: %s\r\nDate: %s\r\n", status,
                          reason_phrase (status), self->server_header, http_date (self));
  if (extra_headers != NULL)
    g_string_append_len (out, extra_headers->str, extra_headers->len);
}

static void
mark_dirty (PresHttpConnection *conn)
{
  if (conn->dirty_link.data == NULL)
    {
      conn->dirty_link.data = conn;
      g_queue_push_tail_link (&conn->server->dirty, &conn->dirty_link);
    }
}

static void
unmark_dirty (PresHttpConnection *conn)
{
  if (conn->dirty_link.data != NULL)
    {
      g_queue_unlink (&conn->server->dirty, &conn->dirty_link);
      conn->dirty_link.data = NULL;
    }
}

static void
conn_append (PresHttpConnection *conn,
             const char         *data,
             gsize               length)
{
  if (conn->out == NULL)
    conn->out = g_string_sized_new (MAX (length, 256));
  g_string_append_len (conn->out, data, length);
  mark_dirty (conn);
}

static gsize
conn_queued (PresHttpConnection *conn)
{
  return conn->out != NULL ? conn->out->len - conn->out_sent : 0;
}

/* --- connection state -------------------------------------------------------- */

static void
arm_timer (PresHttpServer *self)
{
  PresDeadlineNode *next = pres_deadline_index_peek (self->deadlines);
  gint64 ready_time = next != NULL ? next->deadline : -1;

  if (ready_time != self->ready_time && self->source != NULL)
    {
      self->ready_time = ready_time;
      g_source_set_ready_time (self->source, ready_time);
    }
}

static void
conn_set_deadline (PresHttpConnection *conn,
                   gint64              deadline)
{
  PresHttpServer *self = conn->server;

  pres_deadline_index_set (self->deadlines, &conn->deadline, deadline);
  if (self->ready_time < 0 || deadline < self->ready_time)
    arm_timer (self);
}

/* HTTP connections idle out; taken-over ones (WebSocket) keep themselves
 * alive, and closing ones have their own deadline. */
static void
conn_touch (PresHttpConnection *conn)
{
  gint64 deadline;

  if (conn->upgrade_funcs != NULL || conn->closing)
    return;
  deadline = g_get_monotonic_time () + (gint64) conn->server->idle_timeout_ms * 1000;
  if (conn->deadline.slot == 0 || deadline - conn->deadline.deadline > DEADLINE_SLACK_US)
    conn_set_deadline (conn, deadline);
}

static void
conn_update_events (PresHttpConnection *conn)
{
  guint32 events = 0;
  gboolean reading;

  if (conn->server == NULL)
    return;
  if (conn->upgrade_funcs != NULL)
    reading = !conn->closing;
  else
    reading = !conn->no_more_requests && !conn->awaiting_upgrade &&
              conn->in_flight.length < MAX_IN_FLIGHT && conn_queued (conn) < MAX_OUTPUT_FOR_READING;
  if ((reading || conn->lingering) && !conn->peer_closed)
    events |= EPOLLIN;
  if (conn->blocked)
    events |= EPOLLOUT;
  if (events != conn->events)
    {
      struct epoll_event ev = { .events = events, .data.ptr = conn };

      epoll_ctl (conn->server->epoll_fd, EPOLL_CTL_MOD, conn->fd, &ev);
      conn->events = events;
    }
}

/* Closes at once: the descriptor, the queues, and the owner of a taken-over
 * connection is told. */
static void
conn_abort (PresHttpConnection *conn)
{
  PresHttpServer *self = conn->server;
  PresHttpRequest *req;

  if (self == NULL)
    return;
  close (conn->fd);
  conn->fd = -1;
  pres_deadline_index_remove (self->deadlines, &conn->deadline);
  unmark_dirty (conn);
  g_queue_unlink (&self->conns, &conn->link);
  conn->server = NULL;
  if (conn->out != NULL)
    g_string_free (g_steal_pointer (&conn->out), TRUE);
  g_clear_pointer (&conn->in, g_byte_array_unref);
  g_clear_pointer (&conn->partial, pres_http_request_unref);
  while ((req = g_queue_pop_head (&conn->in_flight)) != NULL)
    pres_http_request_unref (req);
  if (conn->upgrade_funcs != NULL)
    {
      conn->upgrade_funcs->closed (conn->upgrade_data);
      if (conn->upgrade_destroy != NULL)
        conn->upgrade_destroy (conn->upgrade_data);
    }
  pres_http_connection_unref (conn);
}

/* Done with the output and the requests: shut the write side and read
 * until the peer closes, so that a body it is still sending does not turn
 * our last answer into a reset. */
static void
conn_maybe_finish (PresHttpConnection *conn)
{
  if (conn->server == NULL || conn->lingering || conn->out != NULL ||
      conn->in_flight.length > 0)
    return;
  /* The peer has gone and every request it completed is answered. */
  if (conn->peer_closed)
    {
      conn_abort (conn);
      return;
    }
  if (!conn->closing)
    return;
  shutdown (conn->fd, SHUT_WR);
  conn->lingering = TRUE;
  g_clear_pointer (&conn->in, g_byte_array_unref);
  conn_update_events (conn);
}

static void
conn_close (PresHttpConnection *conn)
{
  if (conn->server == NULL || conn->closing)
    return;
  conn->closing = TRUE;
  conn->no_more_requests = TRUE;
  conn_set_deadline (conn, g_get_monotonic_time () + CLOSE_TIMEOUT_US);
  conn_update_events (conn);
  conn_maybe_finish (conn);
}

static void
conn_flush (PresHttpConnection *conn)
{
  while (conn->out != NULL)
    {
      ssize_t n = send (conn->fd, conn->out->str + conn->out_sent,
                        conn->out->len - conn->out_sent, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          conn->blocked = TRUE;
          unmark_dirty (conn);
          conn_update_events (conn);
          return;
        }
      if (n < 0)
        {
          g_debug ("send: %s", g_strerror (errno));
          conn_abort (conn);
          return;
        }
      conn->out_sent += n;
      if (conn->out_sent == conn->out->len)
        {
          g_string_free (g_steal_pointer (&conn->out), TRUE);
          conn->out_sent = 0;
        }
    }
  conn->blocked = FALSE;
  unmark_dirty (conn);
  /* Reading may have paused on the backlog. */
  conn_resume (conn);
  conn_maybe_finish (conn);
}

/* --- requests ---------------------------------------------------------------- */

static PresHttpRequest *
request_new (PresHttpConnection *conn,
             gsize               size)
{
  PresHttpRequest *req = g_malloc0 (sizeof (PresHttpRequest) + size);

  req->ref_count = 1;
  req->conn = pres_http_connection_ref (conn);
  return req;
}

PresHttpRequest *
pres_http_request_ref (PresHttpRequest *req)
{
  g_atomic_int_inc (&req->ref_count);
  return req;
}

void
pres_http_request_unref (PresHttpRequest *req)
{
  if (!g_atomic_int_dec_and_test (&req->ref_count))
    return;
  g_clear_pointer (&req->query, g_hash_table_unref);
  if (req->upgrade_destroy != NULL)
    req->upgrade_destroy (req->upgrade_data);
  if (req->extra_headers != NULL)
    g_string_free (req->extra_headers, TRUE);
  if (req->response != NULL)
    g_string_free (req->response, TRUE);
  pres_http_connection_unref (req->conn);
  g_free (req);
}

/* Moves the answers that are next in line to the output. */
static void
conn_emit (PresHttpConnection *conn)
{
  PresHttpRequest *req;

  while ((req = g_queue_peek_head (&conn->in_flight)) != NULL && req->responded)
    {
      g_queue_pop_head (&conn->in_flight);
      if (conn->out == NULL)
        {
          conn->out = g_steal_pointer (&req->response);
          mark_dirty (conn);
        }
      else
        conn_append (conn, req->response->str, req->response->len);
      if (req->head.upgrade)
        conn->awaiting_upgrade = FALSE;
      if (req->upgrade_funcs != NULL)
        {
          conn->upgrade_funcs = req->upgrade_funcs;
          conn->upgrade_data = req->upgrade_data;
          conn->upgrade_destroy = g_steal_pointer (&req->upgrade_destroy);
          conn->no_more_requests = TRUE;
          pres_deadline_index_remove (conn->server->deadlines, &conn->deadline);
        }
      if (req->close_after)
        conn->no_more_requests = TRUE;
      pres_http_request_unref (req);
      if (conn->no_more_requests && conn->upgrade_funcs == NULL)
        {
          conn_close (conn);
          return;
        }
    }
}

static void
request_finish (PresHttpRequest *req,
                GString         *response)
{
  g_autoptr (PresHttpConnection) conn = pres_http_connection_ref (req->conn);
  gboolean upgrade = req->upgrade_funcs != NULL;

  req->responded = TRUE;
  req->response = response;
  /* req may be gone after this. */
  conn_emit (conn);
  /* Bytes after an upgrade go to the new owner once the caller has set it
   * up: from conn_flush, as the 101 makes the connection dirty. */
  if (!conn->in_input && !upgrade)
    conn_resume (conn);
}

void
pres_http_request_respond (PresHttpRequest *req,
                           guint            status,
                           const char      *content_type,
                           const char      *body,
                           gsize            length)
{
  PresHttpServer *self = req->conn->server;
  GString *out;

  g_return_if_fail (!req->responded);
  if (self == NULL)
    {
      /* The client has gone: nobody to answer. */
      req->responded = TRUE;
      return;
    }
  req->close_after |= !req->head.keep_alive;
  out = g_string_sized_new (200 + length);
  append_head (self, out, status, req->extra_headers);
  g_string_append_printf (out, "Content-Type: %s\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n%s\r\n",
                          content_type, length, req->close_after ? "Connection: close\r\n" : "");
  if (req->head.method == NULL || !g_str_equal (req->head.method, "HEAD"))
    g_string_append_len (out, body, length);
  request_finish (req, out);
}

PresHttpConnection *
pres_http_request_upgrade (PresHttpRequest            *req,
                           const PresHttpUpgradeFuncs *funcs,
                           gpointer                    user_data,
                           GDestroyNotify              destroy)
{
  PresHttpServer *self = req->conn->server;
  PresHttpConnection *conn;
  GString *out;

  g_return_val_if_fail (!req->responded && req->head.upgrade, NULL);
  if (self == NULL)
    {
      req->responded = TRUE;
      if (destroy != NULL)
        destroy (user_data);
      return NULL;
    }
  conn = pres_http_connection_ref (req->conn);
  out = g_string_new (NULL);
  append_head (self, out, 101, req->extra_headers);
  g_string_append (out, "\r\n");
  req->upgrade_funcs = funcs;
  req->upgrade_data = user_data;
  req->upgrade_destroy = destroy;
  request_finish (req, out);
  return conn;
}

/* An answer of the front end itself, in line after the requests before it;
 * the connection closes after it. */
static void
conn_reject (PresHttpConnection *conn,
             guint               status,
             const char         *code,
             const char         *message)
{
  PresHttpServer *self = conn->server;
  PresHttpRequest *req = request_new (conn, 1);
  g_autofree char *body = pres_wire_error_to_json (code, message);

  g_debug ("refused a request: %u %s: %s", status, code, message);
  if (self->reject != NULL)
    self->reject (status, self->reject_data);
  conn->no_more_requests = TRUE;
  req->close_after = TRUE;
  g_queue_push_tail (&conn->in_flight, req);
  pres_http_request_respond (req, status, "application/json", body, strlen (body));
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

static void
dispatch_request (PresHttpConnection *conn,
                  PresHttpRequest    *req)
{
  PresHttpServer *self = conn->server;
  Route *route = find_route (self, req->head.path);

  g_queue_push_tail (&conn->in_flight, req);
  if (req->head.upgrade)
    conn->awaiting_upgrade = TRUE;
  if (!req->head.keep_alive)
    conn->no_more_requests = TRUE;
  if (route == NULL)
    {
      g_autofree char *body = pres_wire_error_to_json ("not_found", "no such endpoint");

      pres_http_request_respond (req, 404, "application/json", body, strlen (body));
      return;
    }
  pres_http_request_ref (req);
  route->handler (self, req, route->user_data);
  pres_http_request_unref (req);
}

static gpointer
rebase (gconstpointer p,
        const char   *from,
        gsize         len,
        char         *to)
{
  if ((const char *) p >= from && (const char *) p <= from + len)
    return to + ((const char *) p - from);
  return (gpointer) p;
}

/* Parses a head in a scratch copy, then moves it into a request sized for
 * its body.  NULL when the connection refused it. */
static PresHttpRequest *
parse_request (PresHttpConnection *conn,
               const char         *data,
               gsize               head_len)
{
  PresHttpServer *self = conn->server;
  PresHttpHead head;
  PresHttpParseError error;
  PresHttpRequest *req;

  memcpy (self->head_buf, data, head_len);
  self->head_buf[head_len] = '\0';
  if (!pres_http_parse_head (self->head_buf, head_len, &head, &error))
    {
      conn_reject (conn, error.status, error.code, error.message);
      return NULL;
    }
  if (head.content_length > (gint64) self->max_body)
    {
      g_autofree char *message =
        g_strdup_printf ("body: at most %" G_GSIZE_FORMAT " bytes are allowed", self->max_body);

      conn_reject (conn, 413, "too_large", message);
      return NULL;
    }

  req = request_new (conn, head_len + 1 + head.content_length + 1);
  memcpy (req->data, self->head_buf, head_len + 1);
  req->head = head;
  req->head.method = rebase (head.method, self->head_buf, head_len, req->data);
  req->head.path = rebase (head.path, self->head_buf, head_len, req->data);
  req->head.query = rebase (head.query, self->head_buf, head_len, req->data);
  for (guint i = 0; i < head.n_headers; i++)
    {
      req->head.headers[i].name = rebase (head.headers[i].name, self->head_buf, head_len, req->data);
      req->head.headers[i].value =
        rebase (head.headers[i].value, self->head_buf, head_len, req->data);
    }
  req->body = req->data + head_len + 1;
  req->body_length = head.content_length;
  if (req->head.query != NULL && (req->query = pres_http_parse_query (req->head.query)) == NULL)
    {
      pres_http_request_unref (req);
      conn_reject (conn, 400, "bad_request", "request line: malformed percent-escape in the query");
      return NULL;
    }
  return req;
}

static gboolean
conn_takes_requests (PresHttpConnection *conn)
{
  return conn->server != NULL && !conn->no_more_requests && !conn->awaiting_upgrade &&
         conn->in_flight.length < MAX_IN_FLIGHT && conn_queued (conn) < MAX_OUTPUT_FOR_READING;
}

/* Takes as many requests from data as the connection accepts now. */
static gsize
http_input (PresHttpConnection *conn,
            const char         *data,
            gsize               len)
{
  gsize used = 0;

  while (used < len && conn_takes_requests (conn))
    {
      PresHttpRequest *req;
      gssize head_len;

      if (conn->partial != NULL)
        {
          gsize n = MIN (conn->partial->body_length - conn->partial_have, len - used);

          memcpy (conn->partial->body + conn->partial_have, data + used, n);
          conn->partial_have += n;
          used += n;
          if (conn->partial_have == conn->partial->body_length)
            dispatch_request (conn, g_steal_pointer (&conn->partial));
          continue;
        }

      head_len = pres_http_find_head_end (data + used, len - used, &conn->head_scanned);
      if (head_len == 0)
        break;
      conn->head_scanned = 0;
      if (head_len < 0)
        {
          conn_reject (conn, 431, "header_too_large", "request head: at most 8192 bytes");
          return len;
        }
      req = parse_request (conn, data + used, head_len);
      if (req == NULL)
        return len;
      used += head_len;
      if (req->body_length == 0)
        dispatch_request (conn, req);
      else
        {
          conn->partial = req;
          conn->partial_have = 0;
          /* Only when nothing is in line before it, so answers keep their order. */
          if (req->head.expect_continue && used == len && conn->in_flight.length == 0)
            conn_append (conn, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
    }
  return used;
}

/* Offers buffered and new bytes to the HTTP parser or the connection's new
 * owner, and keeps what neither used. */
static void
conn_input (PresHttpConnection *conn,
            char               *data,
            gsize               len)
{
  gsize used = 0;

  conn->in_input = TRUE;
  if (conn->in != NULL)
    {
      g_byte_array_append (conn->in, (guint8 *) data, len);
      data = (char *) conn->in->data;
      len = conn->in->len;
    }
  while (conn->server != NULL)
    {
      if (conn->upgrade_funcs != NULL)
        {
          if (!conn->closing)
            used += conn->upgrade_funcs->input ((guint8 *) data + used, len - used,
                                                conn->upgrade_data);
          break;
        }
      used += http_input (conn, data + used, len - used);
      /* An upgrade answered at once takes the bytes after it. */
      if (conn->upgrade_funcs == NULL || used == len)
        break;
    }
  conn->in_input = FALSE;
  if (conn->server == NULL)
    return;

  if (conn->in != NULL)
    {
      g_byte_array_remove_range (conn->in, 0, used);
      if (conn->in->len == 0)
        g_clear_pointer (&conn->in, g_byte_array_unref);
    }
  else if (used < len)
    {
      conn->in = g_byte_array_sized_new (len - used);
      g_byte_array_append (conn->in, (guint8 *) data + used, len - used);
    }
  conn_update_events (conn);
}

/* Continues with buffered input once answers let reading go on. */
static void
conn_resume (PresHttpConnection *conn)
{
  if (conn->server == NULL || conn->in_input)
    return;
  if (conn->in != NULL && conn->in->len > 0 && !conn->closing &&
      (conn->upgrade_funcs != NULL || conn_takes_requests (conn)))
    conn_input (conn, "", 0);
  else
    conn_update_events (conn);
}

static void
conn_read (PresHttpConnection *conn)
{
  PresHttpServer *self = conn->server;
  ssize_t n = recv (conn->fd, self->scratch, READ_CHUNK, 0);

  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return;
  if (n <= 0)
    {
      /* The peer closed (or reset).  Requests it completed before are
       * still answered; a half-received one or a taken-over stream not. */
      if (n < 0 || conn->lingering || conn->partial != NULL || conn->upgrade_funcs != NULL)
        conn_abort (conn);
      else
        {
          conn->peer_closed = TRUE;
          conn_update_events (conn);
          conn_maybe_finish (conn);
        }
      return;
    }
  if (conn->lingering)
    return;
  conn_touch (conn);
  conn_input (conn, self->scratch, n);
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

  append_head (self, out, 503, NULL);
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
add_connection (PresHttpServer        *self,
                int                    fd,
                const struct sockaddr *peer,
                socklen_t              peer_len)
{
  PresHttpConnection *conn = g_new0 (PresHttpConnection, 1);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = conn };
  int one = 1;

  if (peer->sa_family == AF_INET || peer->sa_family == AF_INET6)
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  conn->ref_count = 1;
  conn->server = self;
  conn->fd = fd;
  conn->events = EPOLLIN;
  memcpy (&conn->peer, peer, MIN (peer_len, sizeof conn->peer));
  conn->peer_len = MIN (peer_len, sizeof conn->peer);
  conn->link.data = conn;
  g_queue_init (&conn->in_flight);
  g_queue_push_tail_link (&self->conns, &conn->link);
  if (epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
    {
      g_warning ("epoll_ctl: %s", g_strerror (errno));
      conn_abort (conn);
      return;
    }
  conn_touch (conn);
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
        add_connection (self, fd, (struct sockaddr *) &peer, peer_len);
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
      PresHttpConnection *conn = events[i].data.ptr;

      if (conn == NULL)
        {
          accept_connections (self);
          continue;
        }
      pres_http_connection_ref (conn);
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        conn_read (conn);
      /* Answer at once what the input produced: lower latency than waiting
       * for the end of the batch. */
      if (conn->server != NULL && (conn->dirty_link.data != NULL || (events[i].events & EPOLLOUT)))
        conn_flush (conn);
      pres_http_connection_unref (conn);
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

      g_debug ("closing a connection: %s", conn->closing ? "it did not finish closing" : "idle");
      conn_abort (conn);
    }
}

static void
flush_dirty (PresHttpServer *self)
{
  GList *link;

  while ((link = g_queue_peek_head_link (&self->dirty)) != NULL)
    {
      PresHttpConnection *conn = pres_http_connection_ref (link->data);

      conn_flush (conn);
      /* conn_flush unlinks it in every case. */
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
  arm_timer (self);
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
  Route route = { g_strdup (prefix), handler, user_data };

  g_array_append_val (self->routes, route);
}

void
pres_http_server_set_idle_timeout (PresHttpServer *self,
                                   guint           timeout_ms)
{
  self->idle_timeout_ms = timeout_ms;
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
    conn_abort (link->data);
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
  self->max_connections = DEFAULT_MAX_CONNECTIONS;
  self->max_body = PRES_WIRE_MAX_BODY_BYTES;
  self->routes = g_array_new (FALSE, FALSE, sizeof (Route));
  g_array_set_clear_func (self->routes, clear_route);
  self->listen_fd = -1;
  self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  self->reserve_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  self->ready_time = -1;
  self->deadlines = pres_deadline_index_new ();
  self->scratch = g_malloc (READ_CHUNK);
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

/* --- accessors ------------------------------------------------------------------ */

const char *
pres_http_request_get_method (PresHttpRequest *req)
{
  return req->head.method;
}

const char *
pres_http_request_get_path (PresHttpRequest *req)
{
  return req->head.path;
}

GHashTable *
pres_http_request_get_query (PresHttpRequest *req)
{
  return req->query;
}

const char *
pres_http_request_get_header (PresHttpRequest *req,
                              const char      *name)
{
  return pres_http_head_get_header (&req->head, name);
}

const char *
pres_http_request_get_body (PresHttpRequest *req,
                            gsize           *length)
{
  if (length != NULL)
    *length = req->body_length;
  return req->body != NULL ? req->body : "";
}

GSocketAddress *
pres_http_request_dup_peer_address (PresHttpRequest *req)
{
  return g_socket_address_new_from_native (&req->conn->peer, req->conn->peer_len);
}

void
pres_http_request_add_response_header (PresHttpRequest *req,
                                       const char      *name,
                                       const char      *value)
{
  if (req->extra_headers == NULL)
    req->extra_headers = g_string_new (NULL);
  g_string_append_printf (req->extra_headers, "%s: %s\r\n", name, value);
}

PresHttpConnection *
pres_http_connection_ref (PresHttpConnection *conn)
{
  conn->ref_count++;
  return conn;
}

void
pres_http_connection_unref (PresHttpConnection *conn)
{
  if (--conn->ref_count > 0)
    return;
  g_assert (conn->server == NULL);
  g_free (conn);
}

void
pres_http_connection_write (PresHttpConnection *conn,
                            const void         *data,
                            gsize               length)
{
  if (conn->server == NULL || conn->lingering)
    return;
  conn_append (conn, data, length);
}

gsize
pres_http_connection_get_queued (PresHttpConnection *conn)
{
  return conn->server != NULL ? conn_queued (conn) : 0;
}

void
pres_http_connection_close (PresHttpConnection *conn)
{
  conn_close (conn);
}
