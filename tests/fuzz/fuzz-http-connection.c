#include <errno.h>
#include <glib-unix.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "pres-http-private.h"

/* presence-server's connections on any bytes, as a client would send them
 * and then hang up: heads, bodies by Content-Length, pipelining, 100
 * Continue, refusals.  Answers are read and dropped until the server has
 * closed the connection, which it must do for every input. */

/* Ten times what any input needs: a connection still open then is stuck. */
#define MAX_ITERATIONS 100000

static PresHttpServer *server;

static void
echo_cb (PresHttpServer  *http,
         PresHttpRequest *req,
         gpointer         user_data)
{
  gsize length;
  const char *body = pres_http_request_get_body (req, &length);

  (void) pres_http_request_get_header (req, "Authorization");
  (void) pres_http_request_get_query (req);
  pres_http_request_add_response_header (req, "X-Fuzz", "1");
  pres_http_request_respond (req, 200, "text/plain", body, length);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  server = pres_http_server_new ("fuzz/1");
  pres_http_server_set_max_body (server, 4096);
  pres_http_server_add_handler (server, NULL, echo_cb, NULL);
  return 0;
}

/* Reads whatever the server answered, so that it never blocks on output. */
static void
drain (int fd)
{
  char buf[65536];

  while (recv (fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
    ;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  struct sockaddr_un peer = { .sun_family = AF_UNIX };
  gsize sent = 0;
  int fds[2];

  /* More than the socket takes at once would need the loop to turn while
   * sending; inputs this large teach the fuzzer nothing more. */
  if (size > 64 * 1024)
    return 0;
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), ==,
                   0);
  pres_http_connection_accepted (server, fds[0], (struct sockaddr *) &peer, sizeof peer);
  for (guint i = 0; i < MAX_ITERATIONS; i++)
    {
      if (sent < size)
        {
          ssize_t n = send (fds[1], data + sent, size - sent, MSG_NOSIGNAL);

          if (n > 0)
            sent += n;
          else if (n < 0 && errno != EAGAIN)
            sent = size; /* the server has closed: the rest is not wanted */
          if (sent == size)
            shutdown (fds[1], SHUT_WR);
        }
      else if (size == 0 && i == 0)
        shutdown (fds[1], SHUT_WR);
      drain (fds[1]);
      if (pres_http_server_get_n_connections (server) == 0)
        break;
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_cmpuint (pres_http_server_get_n_connections (server), ==, 0);
  close (fds[1]);
  return 0;
}
