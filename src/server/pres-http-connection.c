#define G_LOG_DOMAIN "pres-http"

#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "pres-http-private.h"
#include "pres-wire.h"

/* Reading pauses while this many pipelined requests wait for their answers,
 * or while this much output waits for a slow reader. */
#define MAX_IN_FLIGHT          16
#define MAX_OUTPUT_FOR_READING (256 * 1024)
/* A closing connection gets this long to take its last bytes. */
#define CLOSE_TIMEOUT_US       (5 * G_USEC_PER_SEC)
/* Idle deadlines move at most once a second: fewer heap updates. */
#define DEADLINE_SLACK_US      G_USEC_PER_SEC
static void conn_resume (PresHttpConnection *conn);

/* --- output ---------------------------------------------------------------- */

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
conn_set_deadline (PresHttpConnection *conn,
                   gint64              deadline)
{
  PresHttpServer *self = conn->server;

  pres_deadline_index_set (self->deadlines, &conn->deadline, deadline);
  if (self->ready_time < 0 || deadline < self->ready_time)
    pres_http_server_arm_timer (self);
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
void
pres_http_connection_abort (PresHttpConnection *conn)
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
      pres_http_connection_abort (conn);
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

void
pres_http_connection_flush (PresHttpConnection *conn)
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
          pres_http_connection_abort (conn);
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
      if (req->upgrade)
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

void
pres_http_connection_answered (PresHttpConnection *conn,
                               gboolean            upgrade)
{
  conn_emit (conn);
  /* Bytes after an upgrade go to the new owner once the caller has set it
   * up: from pres_http_connection_flush, as the 101 makes the connection dirty. */
  if (!conn->in_input && !upgrade)
    conn_resume (conn);
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
  PresHttpRequest *req = pres_http_request_new (conn, 0);

  g_debug ("refused a request: %u %s: %s", status, code, message);
  if (self->reject != NULL)
    self->reject (status, self->reject_data);
  conn->no_more_requests = TRUE;
  req->close_after = TRUE;
  g_queue_push_tail (&conn->in_flight, req);
  pres_http_request_respond_error (req, status, code, message);
}

static void
dispatch_request (PresHttpConnection *conn,
                  PresHttpRequest    *req)
{
  g_queue_push_tail (&conn->in_flight, req);
  if (req->upgrade)
    conn->awaiting_upgrade = TRUE;
  if (!req->keep_alive)
    conn->no_more_requests = TRUE;
  pres_http_server_route (conn->server, req);
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
 * its headers and body.  NULL when the connection refused it. */
static PresHttpRequest *
parse_request (PresHttpConnection *conn,
               const char         *data,
               gsize               head_len,
               gboolean           *expect_continue)
{
  PresHttpServer *self = conn->server;
  PresHttpHead head;
  PresHttpParseError error;
  PresHttpRequest *req;
  char *raw;

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

  req = pres_http_request_new (conn, head.n_headers * sizeof (PresHttpHeader) + head_len + 1 +
                             head.content_length + 1);
  raw = (char *) (req->headers + head.n_headers);
  memcpy (raw, self->head_buf, head_len + 1);
  req->method = rebase (head.method, self->head_buf, head_len, raw);
  req->path = rebase (head.path, self->head_buf, head_len, raw);
  req->query = rebase (head.query, self->head_buf, head_len, raw);
  req->keep_alive = head.keep_alive;
  req->upgrade = head.upgrade;
  req->n_headers = head.n_headers;
  for (guint i = 0; i < head.n_headers; i++)
    {
      req->headers[i].name = rebase (head.headers[i].name, self->head_buf, head_len, raw);
      req->headers[i].value = rebase (head.headers[i].value, self->head_buf, head_len, raw);
    }
  req->body = raw + head_len + 1;
  req->body_length = head.content_length;
  *expect_continue = head.expect_continue;
  if (req->query != NULL && (req->query_table = pres_http_parse_query (req->query)) == NULL)
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
      gboolean expect_continue;
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
      req = parse_request (conn, data + used, head_len, &expect_continue);
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
          if (expect_continue && used == len && conn->in_flight.length == 0)
            conn_append (conn, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
    }
  return used;
}

/* Bytes of a request have come and the rest is awaited: a head not yet
 * complete, or a body.  Bytes we have not looked at because answers are
 * backed up are not the client's delay. */
static gboolean
conn_request_under_way (PresHttpConnection *conn)
{
  return conn->partial != NULL || (conn->in != NULL && conn_takes_requests (conn));
}

/* Between requests a connection idles out.  A request must be complete
 * within the request timeout of its first byte, however its bytes trickle
 * in: a deadline pushed back per byte would let a client hold a connection
 * for ever at a byte a second.  Taken-over connections (WebSocket) keep
 * themselves alive, and closing ones have their own deadline. */
static void
conn_schedule (PresHttpConnection *conn)
{
  gint64 now, deadline;

  if (conn->server == NULL || conn->upgrade_funcs != NULL || conn->closing)
    return;
  now = g_get_monotonic_time ();
  if (conn_request_under_way (conn))
    {
      if (conn->request_deadline == 0)
        {
          conn->request_deadline = now + (gint64) conn->server->request_timeout_ms * 1000;
          conn_set_deadline (conn, conn->request_deadline);
        }
      return;
    }
  conn->request_deadline = 0;
  deadline = now + (gint64) conn->server->idle_timeout_ms * 1000;
  /* Earlier: a request's deadline gives way to a shorter idle timeout. */
  if (conn->deadline.slot == 0 || deadline < conn->deadline.deadline ||
      deadline - conn->deadline.deadline > DEADLINE_SLACK_US)
    conn_set_deadline (conn, deadline);
}

void
pres_http_connection_expired (PresHttpConnection *conn)
{
  g_autofree char *message = NULL;

  if (conn->request_deadline == 0 || conn->closing)
    {
      g_debug ("closing a connection: %s", conn->closing ? "it did not finish closing" : "idle");
      pres_http_connection_abort (conn);
      return;
    }
  message = g_strdup_printf ("request: the head and body must arrive within %g s of its first byte",
                             conn->server->request_timeout_ms / 1000.0);
  g_clear_pointer (&conn->partial, pres_http_request_unref);
  g_clear_pointer (&conn->in, g_byte_array_unref);
  conn->head_scanned = 0;
  conn->request_deadline = 0;
  conn_reject (conn, 408, "request_timeout", message);
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
  conn_schedule (conn);
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
  ssize_t n = recv (conn->fd, self->scratch, PRES_HTTP_READ_CHUNK, 0);

  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return;
  if (n <= 0)
    {
      /* The peer closed (or reset).  Requests it completed before are
       * still answered; a half-received one or a taken-over stream not. */
      if (n < 0 || conn->lingering || conn->partial != NULL || conn->upgrade_funcs != NULL)
        pres_http_connection_abort (conn);
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
  conn_input (conn, self->scratch, n);
}

void
pres_http_connection_accepted (PresHttpServer        *self,
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
      pres_http_connection_abort (conn);
      return;
    }
  conn_schedule (conn);
}


void
pres_http_connection_ready (PresHttpConnection *conn,
                            guint32             events)
{
  g_autoptr (PresHttpConnection) hold = pres_http_connection_ref (conn);

  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    conn_read (conn);
  /* Answer at once what the input produced: lower latency than waiting
   * for the end of the batch. */
  if (conn->server != NULL && (conn->dirty_link.data != NULL || (events & EPOLLOUT)))
    pres_http_connection_flush (conn);
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

