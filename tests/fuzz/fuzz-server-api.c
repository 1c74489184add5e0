#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "pres-http-api.h"
#include "pres-http-private.h"
#include "pres-memory-store.h"
#include "pres-stream.h"

/* presence-server's API and stream as a client uses them, with the input
 * in every place a client fills: a heartbeat's body (PUT), a leave's query
 * (DELETE), a read's ids, and each line of it as a WebSocket message on
 * the stream (subscription ops).  Through real connections (socket pairs)
 * into the front end, the memory store behind; every connection must be
 * closed by the server once the client has hung up. */

#define MAX_ITERATIONS 100000

static PresHttpServer *http;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  PresStore *store = pres_memory_store_new (75000, 1000);
  PresAuth *auth = pres_auth_new_dev ();
  /* Never limited: the limit is not what is fuzzed. */
  PresRateLimit *rate_limit = pres_rate_limit_new (1e9, 1000000, 16);
  PresMetrics *metrics = pres_metrics_new ();

  http = pres_http_server_new ("fuzz/1");
  /* For the life of the process, as in presence-server. */
  (void) pres_http_api_new (http, store, auth, rate_limit, metrics, 75000, 30000);
  (void) pres_stream_new (http, store, auth, rate_limit, metrics);
  return 0;
}

static int
connect_client (void)
{
  struct sockaddr_un peer = { .sun_family = AF_UNIX };
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), ==,
                   0);
  pres_http_connection_accepted (http, fds[0], (struct sockaddr *) &peer, sizeof peer);
  return fds[1];
}

/* A client frame: text, masked as clients must. */
static void
append_frame (GString    *out,
              const char *payload,
              gsize       length)
{
  const guint8 mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

  g_string_append_c (out, (char) 0x81);
  if (length < 126)
    g_string_append_c (out, (char) (0x80 | length));
  else
    {
      g_string_append_c (out, (char) (0x80 | 126));
      g_string_append_c (out, (char) (length >> 8));
      g_string_append_c (out, (char) (length & 0xff));
    }
  g_string_append_len (out, (const char *) mask, 4);
  for (gsize i = 0; i < length; i++)
    g_string_append_c (out, (char) (payload[i] ^ mask[i % 4]));
}

static GString *
http_requests (const char *text,
               gsize       size)
{
  g_autofree char *escaped = NULL;
  GString *out = g_string_new (NULL);

  g_string_append_printf (out,
                          "PUT /v1/instances/laptop HTTP/1.1\r\nHost: x\r\n"
                          "Authorization: Bearer lena\r\nContent-Length: %" G_GSIZE_FORMAT
                          "\r\n\r\n",
                          size);
  g_string_append_len (out, text, size);
  /* The query and the ids as a client would encode them: the server
   * decodes them back to the input. */
  escaped = g_uri_escape_bytes ((const guint8 *) text, MIN (size, 2048), "=&,");
  g_string_append_printf (out,
                          "DELETE /v1/instances/laptop?%s HTTP/1.1\r\nHost: x\r\n"
                          "Authorization: Bearer lena\r\n\r\n"
                          "GET /v1/presence?ids=%s HTTP/1.1\r\nHost: x\r\n"
                          "Authorization: Bearer bob\r\n\r\n"
                          "GET /v1/instances HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer lena\r\n\r\n",
                          escaped, escaped);
  return out;
}

static GString *
stream_messages (const char *text,
                 gsize       size)
{
  GString *out = g_string_new ("GET /v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nAuthorization: Bearer lena\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                               "Sec-WebSocket-Version: 13\r\n\r\n");
  const char *line = text, *end = text + size;

  append_frame (out, text, MIN (size, 65535));
  while (line < end)
    {
      const char *eol = memchr (line, '\n', end - line);
      gsize length = (eol != NULL ? eol : end) - line;

      append_frame (out, line, MIN (length, 65535));
      line += length + 1;
    }
  return out;
}

/* Sends what the client has to say, hangs up its side, reads the answers
 * until the server has closed every connection. */
static void
exchange (GString **sends,
          guint     n)
{
  int fds[2];
  gsize sent[2] = { 0, 0 };
  char buf[65536];

  for (guint c = 0; c < n; c++)
    fds[c] = connect_client ();
  for (guint i = 0; i < MAX_ITERATIONS && pres_http_server_get_n_connections (http) > 0; i++)
    {
      for (guint c = 0; c < n; c++)
        {
          if (sent[c] < sends[c]->len)
            {
              ssize_t k = send (fds[c], sends[c]->str + sent[c], sends[c]->len - sent[c],
                                MSG_NOSIGNAL);

              if (k > 0)
                sent[c] += k;
              else if (k < 0 && errno != EAGAIN)
                sent[c] = sends[c]->len;
              if (sent[c] == sends[c]->len)
                shutdown (fds[c], SHUT_WR);
            }
          while (recv (fds[c], buf, sizeof buf, MSG_DONTWAIT) > 0)
            ;
        }
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_cmpuint (pres_http_server_get_n_connections (http), ==, 0);
  for (guint c = 0; c < n; c++)
    close (fds[c]);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  GString *sends[2];

  if (size > 16 * 1024)
    return 0;
  sends[0] = http_requests ((const char *) data, size);
  sends[1] = stream_messages ((const char *) data, size);
  exchange (sends, 2);
  g_string_free (sends[0], TRUE);
  g_string_free (sends[1], TRUE);
  return 0;
}
