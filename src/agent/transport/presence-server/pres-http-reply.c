#define G_LOG_DOMAIN "pres-http-reply"

#include "pres-http-reply.h"

#include <libsoup/soup.h>

/* Enough for a server's error message, short enough for a tooltip. */
#define MAX_SERVER_TEXT_CHARS 200
#define MAX_REPLY_BYTES 512

void
pres_http_outcome_free (PresHttpOutcome *outcome)
{
  if (outcome == NULL)
    return;
  g_free (outcome->message);
  g_clear_pointer (&outcome->reply, pres_heartbeat_reply_free);
  g_free (outcome);
}

static PresHttpOutcome *
outcome_new (PresHttpOutcomeKind kind, char *message)
{
  PresHttpOutcome *outcome = g_new0 (PresHttpOutcome, 1);

  outcome->kind = kind;
  outcome->message = message;
  return outcome;
}

guint
pres_http_parse_retry_after (const char *value, GDateTime *now)
{
  g_autoptr (GDateTime) date = NULL;
  guint64 seconds;
  gint64 ms;

  if (value == NULL)
    return 0;
  if (g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &seconds, NULL))
    ms = (gint64)MIN (seconds, (guint64)PRES_HTTP_MAX_RETRY_AFTER_MS) * 1000;
  else if ((date = soup_date_time_new_from_http_string (value)) != NULL)
    ms = g_date_time_difference (date, now) / 1000;
  else
    return 0;
  return CLAMP (ms, 1000, PRES_HTTP_MAX_RETRY_AFTER_MS);
}

/* Server text goes to a D-Bus property and a tray tooltip: keep it valid
 * UTF-8, on one line and short. */
static char *
sanitize (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  g_autofree char *cut = NULL;

  for (char *p = valid; *p != '\0'; p++)
    if ((guchar)*p < ' ')
      *p = ' ';
  if (g_utf8_strlen (valid, -1) <= MAX_SERVER_TEXT_CHARS)
    return g_steal_pointer (&valid);
  cut = g_utf8_substring (valid, 0, MAX_SERVER_TEXT_CHARS);
  return g_strconcat (cut, "…", NULL);
}

char *
pres_http_describe_reply (guint status, GBytes *body)
{
  gsize size = 0;
  const char *data = body ? g_bytes_get_data (body, &size) : NULL;
  g_autofree char *text = NULL;

  text = g_utf8_make_valid (data ? data : "", MIN (size, MAX_REPLY_BYTES));
  return g_strdup_printf ("HTTP %u: %s%s", status, text, size > MAX_REPLY_BYTES ? "…" : "");
}

/* The server's own words when it sent a protocol error body. */
static char *
server_says (guint status, GBytes *body)
{
  g_autofree char *code = NULL;
  g_autofree char *message = NULL;
  gsize size = 0;
  const char *data = body ? g_bytes_get_data (body, &size) : NULL;
  g_autofree char *clean = NULL;

  if (data != NULL && pres_wire_error_parse (data, size, &code, &message))
    {
      clean = sanitize (*message ? message : code);
      return g_strdup_printf ("the server said “%s” (HTTP %u)", clean, status);
    }
  return g_strdup_printf ("the server answered HTTP %u %s", status,
                          soup_status_get_phrase (status));
}

static PresHttpOutcome *
outcome_for_status (guint status, const char *retry_after, GBytes *body)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *said = server_says (status, body);
  PresHttpOutcome *outcome;

  switch (status)
    {
      case SOUP_STATUS_UNAUTHORIZED:
      case SOUP_STATUS_FORBIDDEN:
        return outcome_new (PRES_HTTP_OUTCOME_UNAUTHORIZED,
                            g_strdup_printf ("The server refused the token (%s); run “presencectl "
                                             "login” to store a valid one",
                                             said));
      case 429: /* Too Many Requests: not in libsoup 3.2's enum */
      case SOUP_STATUS_SERVICE_UNAVAILABLE:
        outcome = outcome_new (PRES_HTTP_OUTCOME_RETRY_AFTER,
                               g_strdup_printf ("The server is busy (%s); retrying later", said));
        outcome->retry_after_ms = pres_http_parse_retry_after (retry_after, now);
        return outcome;
      default:
        return outcome_new (PRES_HTTP_OUTCOME_FAILED,
                            g_strdup_printf ("The server did not accept the update: %s", said));
    }
}

PresHttpOutcome *
pres_http_outcome_for_heartbeat (guint status, const char *retry_after, GBytes *body)
{
  g_autoptr (GError) error = NULL;
  PresHeartbeatReply *reply;
  PresHttpOutcome *outcome;
  gsize size = 0;
  const char *data;

  if (status != SOUP_STATUS_OK)
    return outcome_for_status (status, retry_after, body);

  data = body ? g_bytes_get_data (body, &size) : NULL;
  reply = pres_heartbeat_reply_parse (data ? data : "", size, &error);
  if (reply == NULL)
    return outcome_new (PRES_HTTP_OUTCOME_FAILED,
                        g_strdup_printf ("The server's reply is not a presence reply (%s); is "
                                         "server-url a presence-server?",
                                         error->message));

  reply->interval_ms
    = CLAMP (reply->interval_ms, PRES_HTTP_MIN_INTERVAL_MS, PRES_HTTP_MAX_INTERVAL_MS);
  outcome = outcome_new (PRES_HTTP_OUTCOME_OK, NULL);
  outcome->reply = reply;
  return outcome;
}

PresHttpOutcome *
pres_http_outcome_for_leave (guint status, const char *retry_after, GBytes *body)
{
  /* A 404 means the server had already forgotten us: what a leave wants. */
  if (status == SOUP_STATUS_OK || status == SOUP_STATUS_NO_CONTENT
      || status == SOUP_STATUS_NOT_FOUND)
    return outcome_new (PRES_HTTP_OUTCOME_OK, NULL);
  return outcome_for_status (status, retry_after, body);
}

PresHttpOutcome *
pres_http_outcome_for_oversize (guint status, goffset announced)
{
  g_autofree char *size = announced >= 0
                            ? g_strdup_printf ("%" G_GINT64_FORMAT " bytes announced", (gint64)announced)
                            : g_strdup ("more bytes than that sent");

  return outcome_new (PRES_HTTP_OUTCOME_FAILED,
                      g_strdup_printf ("The server's reply is too large (HTTP %u, %s; at most %d "
                                       "bytes are read); is server-url a presence-server?",
                                       status, size, PRES_HTTP_MAX_REPLY_BYTES));
}

PresHttpOutcome *
pres_http_outcome_for_error (const GError *error, gboolean timed_out)
{
  if (timed_out || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return outcome_new (
      PRES_HTTP_OUTCOME_FAILED,
      g_strdup_printf ("The server did not answer within %d s", PRES_HTTP_REQUEST_TIMEOUT_S));
  if (error->domain == G_TLS_ERROR)
    return outcome_new (
      PRES_HTTP_OUTCOME_FAILED,
      g_strdup_printf ("The server's TLS certificate is not trusted: %s", error->message));
  if (error->domain == SOUP_SESSION_ERROR)
    return outcome_new (
      PRES_HTTP_OUTCOME_FAILED,
      g_strdup_printf ("The server's reply is not valid HTTP: %s", error->message));
  return outcome_new (PRES_HTTP_OUTCOME_FAILED,
                      g_strdup_printf ("Cannot reach the server: %s", error->message));
}
