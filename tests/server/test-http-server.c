#include <glib-unix.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http-test-client.h"
#include "pres-http-server.h"
#include "pres-websocket.h"

/* PresHttpServer and PresWebSocket through real loopback sockets.  The
 * server runs on this thread's main loop; the client side is plain
 * non-blocking sockets, read while the loop turns, until a condition holds
 * or a deadline passes. */

#define DEADLINE_S 10

typedef struct
{
  PresHttpServer *server;
  guint16 port;
  GPtrArray *held; /* requests answered later by the test */
  char *peer;
  PresWebSocket *ws;
  gboolean ws_closed;
} Fixture;

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Turns the main loop until cond holds; a tick keeps it from blocking past
 * the deadline. */
#define LOOP_UNTIL(cond)                                                       \
  G_STMT_START                                                                 \
  {                                                                            \
    gint64 deadline_ = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC; \
    guint tick_ = g_timeout_add (50, tick_cb, NULL);                           \
                                                                               \
    while (!(cond))                                                            \
      {                                                                        \
        g_assert_cmpint (g_get_monotonic_time (), <, deadline_);               \
        g_main_context_iteration (NULL, TRUE);                                 \
      }                                                                        \
    g_source_remove (tick_);                                                   \
  }                                                                            \
  G_STMT_END

static void
respond_text (PresHttpRequest *req,
              const char      *text)
{
  pres_http_request_respond (req, 200, "text/plain", text, strlen (text));
}

/* "METHOD PATH [body]" */
static void
echo_cb (PresHttpServer  *server,
         PresHttpRequest *req,
         gpointer         user_data)
{
  Fixture *f = user_data;
  g_autoptr (GSocketAddress) peer = pres_http_request_dup_peer_address (req);
  g_autofree char *text = NULL;
  gsize length;
  const char *body = pres_http_request_get_body (req, &length);

  g_free (f->peer);
  f->peer = g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (peer)));
  text = g_strdup_printf ("%s %s%s%s", pres_http_request_get_method (req),
                          pres_http_request_get_path (req), length > 0 ? " " : "", body);
  respond_text (req, text);
}

static void
later_cb (PresHttpServer  *server,
          PresHttpRequest *req,
          gpointer         user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->held, pres_http_request_ref (req));
}

static void
ws_message_cb (PresWebSocket        *ws,
               PresWebSocketDataType type,
               const char           *data,
               gsize                 length,
               gpointer              user_data)
{
  pres_websocket_send_text (ws, data, length);
}

static void
ws_closed_cb (PresWebSocket *ws,
              gpointer       user_data)
{
  Fixture *f = user_data;

  f->ws_closed = TRUE;
  g_clear_pointer (&f->ws, pres_websocket_unref);
}

static const PresWebSocketFuncs ws_funcs = { ws_message_cb, ws_closed_cb };

static void
ws_cb (PresHttpServer  *server,
       PresHttpRequest *req,
       gpointer         user_data)
{
  Fixture *f = user_data;
  PresWebSocket *ws = pres_websocket_accept (req, &ws_funcs, f);

  if (ws != NULL)
    {
      g_assert_null (f->ws);
      f->ws = ws;
    }
}

static void
exact_cb (PresHttpServer  *server,
          PresHttpRequest *req,
          gpointer         user_data)
{
  respond_text (req, "exact");
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  f->server = pres_http_server_new ("test-server/1");
  f->held = g_ptr_array_new_with_free_func ((GDestroyNotify) pres_http_request_unref);
  pres_http_server_add_handler (f->server, "/echo", echo_cb, f);
  pres_http_server_add_handler (f->server, "/later", later_cb, f);
  pres_http_server_add_handler (f->server, "/ws", ws_cb, f);
  /* "/" only itself: /nowhere stays a 404 (test_not_found). */
  pres_http_server_add_exact_handler (f->server, "/", exact_cb, f);
  pres_http_server_add_exact_handler (f->server, "/echo/exact", exact_cb, f);
  bound = pres_http_server_listen (f->server, address, 128, &error);
  g_assert_no_error (error);
  f->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_ptr_array_unref (f->held);
  g_clear_object (&f->server);
  g_assert_null (f->ws);
  g_free (f->peer);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_keep_alive (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr (GString) buf = g_string_new (NULL);
  const char *split = "PUT /echo/c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  int fd = client_connect (f->port);
  guint status;
  g_autofree char *head = NULL;
  g_autofree char *body = NULL;

  client_send_text (fd, "GET /echo/a HTTP/1.1\r\nHost: x\r\n\r\n");
  body = client_response (fd, buf, &status, &head);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (body, ==, "GET /echo/a");
  g_assert_nonnull (strstr (head, "\r\nServer: test-server/1\r\n"));
  g_assert_nonnull (strstr (head, "\r\nContent-Type: text/plain\r\n"));
  g_assert_null (strstr (head, "Connection: close"));
  g_assert_cmpstr (f->peer, ==, "127.0.0.1");
  g_clear_pointer (&body, g_free);

  /* The same connection, a request arriving in pieces. */
  for (gsize i = 0; i < strlen (split); i += 7)
    {
      client_send (fd, split + i, MIN (7, strlen (split + i)));
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  body = client_response (fd, buf, &status, NULL);
  g_assert_cmpstr (body, ==, "PUT /echo/c hello");
  g_assert_cmpuint (pres_http_server_get_n_connections (f->server), ==, 1);
  close (fd);
}

static void
test_pipelined (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr (GString) buf = g_string_new (NULL);
  const char *requests = "GET /later/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /echo/2 HTTP/1.1\r\nHost: x\r\n\r\n"
                         "GET /later/3 HTTP/1.1\r\nHost: x\r\n\r\n";
  int fd = client_connect (f->port);

  client_send_text (fd, requests);
  LOOP_UNTIL (f->held->len == 2);
  /* Answered in reverse: they still go out in order. */
  respond_text (f->held->pdata[1], "three");
  respond_text (f->held->pdata[0], "one");
  client_wait (fd, buf, has_responses, GUINT_TO_POINTER (3), NULL);
  for (guint i = 0; i < 3; i++)
    {
      const char *expected[] = { "one", "GET /echo/2", "three" };
      g_autofree char *head = NULL, *body = NULL;
      guint status;

      g_assert_true (take_response (buf, &status, &head, &body));
      g_assert_cmpstr (body, ==, expected[i]);
    }
  close (fd);
}

static void
test_idle_timeout (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr (GString) buf = g_string_new (NULL);
  g_autofree char *body = NULL;
  guint status;
  gint64 sent;
  int fd;

  pres_http_server_set_idle_timeout (f->server, 300);
  fd = client_connect (f->port);
  /* The idle time starts after the answer, so after this: a bound that holds
   * however late this process sees the answer (valgrind, a loaded machine). */
  sent = g_get_monotonic_time ();
  client_send_text (fd, "GET /echo/a HTTP/1.1\r\nHost: x\r\n\r\n");
  body = client_response (fd, buf, &status, NULL);
  client_expect_eof (fd, buf);
  /* Not at once: after the idle time (less the timer's millisecond rounding). */
  g_assert_cmpint (g_get_monotonic_time () - sent, >=, 299 * 1000);
  g_assert_cmpuint (pres_http_server_get_n_connections (f->server), ==, 0);
  close (fd);
}

/* A request trickling in a byte at a time is cut off at a fixed time from
 * its first byte, head or body, although every byte comes well within the
 * idle timeout. */
static void
test_request_timeout (Fixture       *f,
                      gconstpointer  data)
{
  const char *heads[] = {
    "GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    NULL,
  };
  const char *body_head = "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n";

  pres_http_server_set_idle_timeout (f->server, 2000);
  pres_http_server_set_request_timeout (f->server, 300);
  heads[1] = body_head;
  for (guint i = 0; i < G_N_ELEMENTS (heads); i++)
    {
      g_autoptr (GString) buf = g_string_new (NULL);
      g_autofree char *body = NULL;
      guint status;
      gsize sent;
      int fd = client_connect (f->port);

      if (heads[i] == body_head)
        {
          client_send_text (fd, body_head);
          body = client_trickle (fd, "x", buf, &status, &sent);
        }
      else
        body = client_trickle (fd, heads[i], buf, &status, &sent);
      g_test_message ("answered %u after %" G_GSIZE_FORMAT " bytes", status, sent);
      g_assert_cmpuint (status, ==, 408);
      g_assert_nonnull (strstr (body, "\"request_timeout\""));
      /* Cut off long before the idle timeout could have been reached. */
      g_assert_cmpuint (sent, <, 2000 / 20);
      client_expect_eof (fd, buf);
      close (fd);
    }
  LOOP_UNTIL (pres_http_server_get_n_connections (f->server) == 0);
}

static void
test_connection_close (Fixture       *f,
                       gconstpointer  data)
{
  const char *requests[] = {
    "GET /echo/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "GET /echo/a HTTP/1.0\r\n\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
    {
      g_autoptr (GString) buf = g_string_new (NULL);
      g_autofree char *head = NULL, *body = NULL;
      guint status;
      int fd = client_connect (f->port);

      client_send_text (fd, requests[i]);
      body = client_response (fd, buf, &status, &head);
      g_assert_cmpstr (body, ==, "GET /echo/a");
      g_assert_nonnull (strstr (head, "\r\nConnection: close\r\n"));
      client_expect_eof (fd, buf);
      close (fd);
    }
}

static void
test_refusals (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *big_head = NULL;
  struct
  {
    const char *request;
    guint status;
    const char *code;
  } cases[] = {
    { "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413, "too_large" },
    { "PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      411, "length_required" },
    { "hello\r\n\r\n", 400, "bad_request" },
    { "GET /echo?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request" },
    { NULL, 431, "header_too_large" },
  };

  big_head = g_strdup_printf ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: %0*d\r\n\r\n", 9000, 0);
  cases[G_N_ELEMENTS (cases) - 1].request = big_head;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GString) buf = g_string_new (NULL);
      g_autofree char *head = NULL, *body = NULL, *code = NULL;
      guint status;
      int fd = client_connect (f->port);

      g_test_message ("expecting %u", cases[i].status);
      client_send (fd, cases[i].request, strlen (cases[i].request));
      body = client_response (fd, buf, &status, &head);
      g_assert_cmpuint (status, ==, cases[i].status);
      g_assert_nonnull (strstr (head, "\r\nContent-Type: application/json\r\n"));
      code = g_strdup_printf ("\"code\":\"%s\"", cases[i].code);
      g_assert_nonnull (strstr (body, code));
      client_expect_eof (fd, buf);
      close (fd);
    }
}

static void
test_not_found (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr (GString) buf = g_string_new (NULL);
  g_autofree char *body = NULL;
  guint status;
  int fd = client_connect (f->port);

  client_send_text (fd, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
  body = client_response (fd, buf, &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  g_assert_nonnull (strstr (body, "\"not_found\""));
  close (fd);
}

/* An exact path wins over a prefix that matches it too, and only it. */
static void
test_exact_route (Fixture       *f,
                  gconstpointer  data)
{
  const char *expected[][2] = {
    { "/", "exact" },
    { "/echo/exact", "exact" },
    { "/echo/exact?x=1", "exact" },
    { "/echo/exactly", "GET /echo/exactly" },
    { "/echo/exact/", "GET /echo/exact/" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr (GString) buf = g_string_new (NULL);
      g_autofree char *request =
        g_strdup_printf ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n", expected[i][0]);
      g_autofree char *body = NULL;
      guint status;
      int fd = client_connect (f->port);

      client_send_text (fd, request);
      body = client_response (fd, buf, &status, NULL);
      g_assert_cmpuint (status, ==, 200);
      g_assert_cmpstr (body, ==, expected[i][1]);
      close (fd);
    }
}

static void
test_expect_continue (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr (GString) buf = g_string_new (NULL);
  const char *head = "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                     "Expect: 100-continue\r\n\r\n";
  g_autofree char *body = NULL;
  guint status;
  int fd = client_connect (f->port);

  client_send_text (fd, head);
  body = client_response (fd, buf, &status, NULL);
  g_assert_cmpuint (status, ==, 100);
  client_send (fd, "ok", 2);
  g_clear_pointer (&body, g_free);
  body = client_response (fd, buf, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (body, ==, "PUT /echo ok");
  close (fd);
}

static void
test_max_connections (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr (GString) buf = g_string_new (NULL);
  g_autofree char *head = NULL, *body = NULL;
  guint status;
  int fds[3];

  pres_http_server_set_max_connections (f->server, 2);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *answer = NULL;

      fds[i] = client_connect (f->port);
      client_send_text (fds[i], "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
      answer = client_response (fds[i], buf, &status, NULL);
      g_assert_cmpuint (status, ==, 200);
    }
  fds[2] = client_connect (f->port);
  body = client_response (fds[2], buf, &status, &head);
  g_assert_cmpuint (status, ==, 503);
  g_assert_nonnull (strstr (head, "\r\nRetry-After: 1\r\n"));
  g_assert_nonnull (strstr (body, "\"too_many_connections\""));
  client_expect_eof (fds[2], buf);
  g_assert_cmpuint (pres_http_server_get_n_connections (f->server), ==, 2);
  for (guint i = 0; i < 3; i++)
    close (fds[i]);
}

static void
test_late_answer (Fixture       *f,
                  gconstpointer  data)
{
  struct linger reset = { .l_onoff = 1, .l_linger = 0 };
  int fd = client_connect (f->port);

  client_send_text (fd, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
  LOOP_UNTIL (f->held->len == 1);
  /* The client resets the connection: the answer is dropped, nothing breaks. */
  setsockopt (fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  close (fd);
  LOOP_UNTIL (pres_http_server_get_n_connections (f->server) == 0);
  respond_text (f->held->pdata[0], "too late");
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static char *
ws_handshake (const char *version)
{
  return g_strdup_printf ("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                          "Connection: keep-alive, Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: %s\r\n\r\n",
                          version);
}

static gboolean
has_bytes (GString *buf,
           gpointer data)
{
  return buf->len >= GPOINTER_TO_SIZE (data);
}

static void
test_websocket (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr (GString) buf = g_string_new (NULL);
  g_autofree char *bad = ws_handshake ("12");
  g_autofree char *good = ws_handshake ("13");
  g_autofree char *head = NULL, *body = NULL;
  /* "hi", masked with 0x00010203, right behind the handshake. */
  const char frame[] = { (char) 0x81, (char) 0x82, 0, 1, 2, 3, 'h', 'i' ^ 1 };
  g_autoptr (GString) request = g_string_new (good);
  guint status;
  int fd = client_connect (f->port);

  client_send_text (fd, bad);
  body = client_response (fd, buf, &status, &head);
  g_assert_cmpuint (status, ==, 400);
  g_assert_nonnull (strstr (body, "Sec-WebSocket-Version"));
  g_clear_pointer (&head, g_free);
  g_clear_pointer (&body, g_free);

  g_string_append_len (request, frame, sizeof frame);
  client_send (fd, request->str, request->len);
  body = client_response (fd, buf, &status, &head);
  g_assert_cmpuint (status, ==, 101);
  g_assert_nonnull (strstr (head, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  g_assert_nonnull (strstr (head, "\r\nUpgrade: websocket\r\n"));
  g_assert_nonnull (f->ws);
  /* The echo, unmasked. */
  client_wait (fd, buf, has_bytes, GSIZE_TO_POINTER (4), NULL);
  g_assert_cmpmem (buf->str, buf->len, "\x81\x02hi", 4);
  g_string_truncate (buf, 0);

  /* A close frame (1000) is answered and the connection goes. */
  client_send (fd, "\x88\x82\0\0\0\0\x03\xe8", 8);
  client_wait (fd, buf, has_bytes, GSIZE_TO_POINTER (4), NULL);
  g_assert_cmpmem (buf->str, 4, "\x88\x02\x03\xe8", 4);
  close (fd);
  LOOP_UNTIL (f->ws_closed);
}

static void
test_slow_consumer (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr (GString) buf = g_string_new (NULL);
  g_autofree char *handshake = ws_handshake ("13");
  g_autofree char *head = NULL, *body = NULL;
  g_autofree char *message = g_strnfill (16 * 1024, 'm');
  gint64 deadline = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;
  int small = 4096;
  guint status, sent = 0;
  int fd = client_connect (f->port);

  setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  client_send_text (fd, handshake);
  body = client_response (fd, buf, &status, &head);
  g_assert_cmpuint (status, ==, 101);
  pres_websocket_set_max_queued (f->ws, 256 * 1024);

  /* The client reads nothing: the queue fills and the server gives up. */
  while (f->ws != NULL && pres_websocket_is_open (f->ws))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      pres_websocket_send_text (f->ws, message, strlen (message));
      sent++;
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_cmpuint (sent, >, 16);
  /* And the connection is closed in bounded time, unread as it is. */
  LOOP_UNTIL (f->ws_closed);
  close (fd);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/http-server/keep-alive", test_keep_alive);
  ADD ("/http-server/pipelined", test_pipelined);
  ADD ("/http-server/idle-timeout", test_idle_timeout);
  ADD ("/http-server/request-timeout", test_request_timeout);
  ADD ("/http-server/connection-close", test_connection_close);
  ADD ("/http-server/refusals", test_refusals);
  ADD ("/http-server/not-found", test_not_found);
  ADD ("/http-server/exact-route", test_exact_route);
  ADD ("/http-server/expect-continue", test_expect_continue);
  ADD ("/http-server/max-connections", test_max_connections);
  ADD ("/http-server/late-answer", test_late_answer);
  ADD ("/http-server/websocket", test_websocket);
  ADD ("/http-server/slow-consumer", test_slow_consumer);
#undef ADD
  return g_test_run ();
}
