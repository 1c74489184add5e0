#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <glib-unix.h>

#include "http-test-client.h"

/* The client side of the front end's tests: plain non-blocking sockets on
 * loopback, read while this thread's main loop turns (the server runs on
 * it), until a condition holds or the deadline fails the test. */

#define DEADLINE_S 10

int
client_connect (guint16 port)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = g_htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  addr.sin_addr.s_addr = g_htonl (INADDR_LOOPBACK);
  g_assert_cmpint (fd, >=, 0);
  /* The backlog takes it; the server accepts when its loop turns. */
  g_assert_cmpint (connect (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_true (g_unix_set_fd_nonblocking (fd, TRUE, NULL));
  return fd;
}

void
client_send (int         fd,
             const char *data,
             gsize       length)
{
  g_assert_cmpint (send (fd, data, length, MSG_NOSIGNAL), ==, (gssize) length);
}

void
client_send_text (int         fd,
                  const char *text)
{
  client_send (fd, text, strlen (text));
}

/* Turns the loop and reads into buf until done (buf) is true; FALSE at EOF
 * when eof is set, which then counts as done. */
gboolean
client_wait (int       fd,
             GString  *buf,
             gboolean (*done) (GString *buf, gpointer data),
             gpointer  data,
             gboolean *eof)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;

  while (done == NULL || !done (buf, data))
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      char chunk[65536];
      ssize_t n;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (poll (&pfd, 1, 1) <= 0)
        continue;
      n = recv (fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EAGAIN)
        continue;
      if (n <= 0)
        {
          g_assert_nonnull (eof);
          *eof = TRUE;
          return FALSE;
        }
      g_string_append_len (buf, chunk, n);
    }
  return TRUE;
}

/* One complete response from the front of buf: its status, head and body. */
gboolean
take_response (GString *buf,
               guint   *status,
               char   **head,
               char   **body)
{
  const char *end = strstr (buf->str, "\r\n\r\n");
  const char *length_header;
  gsize head_len, body_len = 0;

  if (end == NULL)
    return FALSE;
  head_len = end + 4 - buf->str;
  length_header = g_strstr_len (buf->str, head_len, "Content-Length: ");
  if (length_header != NULL)
    body_len = g_ascii_strtoull (length_header + 16, NULL, 10);
  if (buf->len < head_len + body_len)
    return FALSE;
  g_assert_true (g_str_has_prefix (buf->str, "HTTP/1.1 "));
  *status = g_ascii_strtoull (buf->str + 9, NULL, 10);
  *head = g_strndup (buf->str, head_len);
  *body = g_strndup (buf->str + head_len, body_len);
  g_string_erase (buf, 0, head_len + body_len);
  return TRUE;
}

gboolean
has_responses (GString *buf,
               gpointer data)
{
  g_autoptr (GString) copy = g_string_new_len (buf->str, buf->len);
  guint want = GPOINTER_TO_UINT (data);

  for (guint i = 0; i < want; i++)
    {
      g_autofree char *head = NULL, *body = NULL;
      guint status;

      if (!take_response (copy, &status, &head, &body))
        return FALSE;
    }
  return TRUE;
}

/* Waits for one response; returns its body and sets status (and head). */
char *
client_response (int     fd,
                 GString *buf,
                 guint   *status,
                 char   **head_out)
{
  g_autofree char *head = NULL;
  char *body = NULL;

  client_wait (fd, buf, has_responses, GUINT_TO_POINTER (1), NULL);
  g_assert_true (take_response (buf, status, &head, &body));
  if (head_out != NULL)
    *head_out = g_steal_pointer (&head);
  return body;
}

void
client_expect_eof (int      fd,
                   GString *buf)
{
  gboolean eof = FALSE;

  client_wait (fd, buf, NULL, NULL, &eof);
  g_assert_true (eof);
}

/* Sends text a byte at a time, a byte every 20 ms, until a response
 * comes; the deadline fails the test. */
char *
client_trickle (int         fd,
                const char *text,
                GString    *buf,
                guint      *status,
                gsize      *sent)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_S * G_USEC_PER_SEC;
  g_autofree char *head = NULL;
  char *body = NULL;

  for (*sent = 0; !has_responses (buf, GUINT_TO_POINTER (1)); (*sent)++)
    {
      gint64 next = g_get_monotonic_time () + 20 * 1000;
      struct pollfd pfd = { .fd = fd, .events = POLLIN };

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      client_send (fd, text + *sent % strlen (text), 1);
      while (g_get_monotonic_time () < next)
        {
          char chunk[4096];
          ssize_t n;

          while (g_main_context_iteration (NULL, FALSE))
            ;
          if (poll (&pfd, 1, 1) <= 0)
            continue;
          n = recv (fd, chunk, sizeof chunk, 0);
          if (n > 0)
            g_string_append_len (buf, chunk, n);
        }
    }
  g_assert_true (take_response (buf, status, &head, &body));
  return body;
}
