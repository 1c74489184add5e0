#include <libsoup/soup.h>
#include <string.h>

#include "fuzz.h"
#include "pres-http-reply.h"

/* The agent's reading of a server's answer, on any status, Retry-After and
 * body: the outcome for a heartbeat and for a leave, and the reply as
 * Explain shows it.  Whatever the server sends, the words that reach a
 * D-Bus property are valid UTF-8 and bounded.
 *
 * Input: two bytes of status (big-endian), Retry-After up to a NUL, body. */

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  return 0;
}

static void
check_outcome (PresHttpOutcome *outcome)
{
  g_assert_nonnull (outcome);
  if (outcome->kind == PRES_HTTP_OUTCOME_OK)
    return;
  g_assert_nonnull (outcome->message);
  g_assert_true (g_utf8_validate (outcome->message, -1, NULL));
  /* A server's message is cut to 200 characters; our words around it are few. */
  g_assert_cmpint (g_utf8_strlen (outcome->message, -1), <, 600);
  g_assert_cmpuint (outcome->retry_after_ms, <=, PRES_HTTP_MAX_RETRY_AFTER_MS);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree char *retry_after = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autofree char *described = NULL;
  g_autoptr (PresHttpOutcome) beat = NULL;
  g_autoptr (PresHttpOutcome) leave = NULL;
  const guint8 *nul;
  guint status;

  if (size < 2)
    return 0;
  status = (data[0] << 8 | data[1]) % 1000;
  data += 2;
  size -= 2;
  nul = memchr (data, '\0', size);
  if (nul != NULL)
    {
      retry_after = g_strndup ((const char *) data, nul - data);
      size -= nul + 1 - data;
      data = nul + 1;
    }
  body = g_bytes_new (data, size);

  beat = pres_http_outcome_for_heartbeat (status, retry_after, body);
  check_outcome (beat);
  if (beat->kind == PRES_HTTP_OUTCOME_OK)
    {
      g_assert_nonnull (beat->reply);
      g_assert_cmpuint (beat->reply->interval_ms, >=, PRES_HTTP_MIN_INTERVAL_MS);
      g_assert_cmpuint (beat->reply->interval_ms, <=, PRES_HTTP_MAX_INTERVAL_MS);
    }
  leave = pres_http_outcome_for_leave (status, retry_after, body);
  check_outcome (leave);
  described = pres_http_describe_reply (status, body);
  g_assert_true (g_utf8_validate (described, -1, NULL));
  return 0;
}
