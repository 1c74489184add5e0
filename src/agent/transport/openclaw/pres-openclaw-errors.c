#define G_LOG_DOMAIN "pres-openclaw"

#include "pres-openclaw-errors.h"

#include "pres-openclaw-frames.h"
#include "pres-openclaw-node-frames.h"

/*
 * The gateway's refusals (research/openclaw.md §9) as something the user can
 * act on. The gateway's own message is quoted after ours, cleaned and cut,
 * since it comes from the network.
 */

#define MAX_MESSAGE_CHARS 200

static char *
clean_message (const char *text)
{
  GString *out = g_string_new (NULL);
  glong n = 0;

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return g_string_free (out, FALSE);
  for (const char *p = text; *p != '\0' && n < MAX_MESSAGE_CHARS; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);

      g_string_append_unichar (out, g_unichar_iscntrl (c) ? ' ' : c);
    }
  if (*text != '\0' && n == MAX_MESSAGE_CHARS)
    g_string_append (out, "…");
  return g_string_free (out, FALSE);
}

static JsonObject *
get_details (JsonObject *error)
{
  JsonNode *node = json_object_get_member (error, "details");

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static guint
get_retry_after (JsonObject *error)
{
  JsonNode *node = json_object_get_member (error, "retryAfterMs");
  gint64 ms;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return 0;
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    ms = json_node_get_int (node);
  else if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    ms = (gint64)CLAMP (json_node_get_double (node), 0, G_MAXINT32);
  else
    return 0;
  /* A server that asks for an hour gets it, up to a point. */
  return (guint)CLAMP (ms, 0, 60 * 60 * 1000);
}

static gboolean
get_bool (JsonObject *object, const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_BOOLEAN && json_node_get_boolean (node);
}

static void
set (PresOpenclawFailure *failure,
     PresConnection connection,
     PresOpenclawRetry retry,
     guint retry_ms,
     char *message)
{
  failure->connection = connection;
  failure->retry = retry;
  failure->retry_ms = retry_ms;
  failure->message = message;
}

PresOpenclawFailure *
pres_openclaw_failure_new (JsonObject *error, gboolean in_connect)
{
  PresOpenclawFailure *failure = g_new0 (PresOpenclawFailure, 1);
  JsonObject *details = get_details (error);
  const char *top = pres_openclaw_get_string (error, "code", 64);
  const char *sub = pres_openclaw_get_string (details, "code", 64);
  const char *code = sub ? sub : top ? top : "UNKNOWN";
  g_autofree char *said = clean_message (pres_openclaw_get_string (error, "message", 4096));
  const char *request_id = pres_openclaw_get_string (details, "requestId", 128);
  guint retry_after = get_retry_after (error);

  failure->code = g_strdup (code);
  /* It goes into a command line the user copies. */
  if (!pres_openclaw_request_id_is_safe (request_id))
    request_id = NULL;

  if (g_str_equal (code, "AUTH_TOKEN_MISMATCH") || g_str_equal (code, "AUTH_DEVICE_TOKEN_MISMATCH")
      || g_str_equal (code, "AUTH_UNAUTHORIZED"))
    set (failure, PRES_CONNECTION_UNAUTHORIZED,
         get_bool (details, "canRetryWithDeviceToken") ? PRES_OPENCLAW_RETRY_DEVICE_TOKEN
                                                       : PRES_OPENCLAW_RETRY_AFTER,
         PRES_OPENCLAW_RETRY_AUTH_MS,
         g_strdup_printf ("The gateway refused the token (%s): give the agent the gateway's "
                          "token (gateway.auth.token) with --token-file or “presencectl login”",
                          code));
  else if (g_str_equal (code, "AUTH_TOKEN_MISSING") || g_str_equal (code, "AUTH_REQUIRED"))
    set (failure, PRES_CONNECTION_UNAUTHORIZED, PRES_OPENCLAW_RETRY_AFTER,
         PRES_OPENCLAW_RETRY_AUTH_MS,
         g_strdup ("The gateway wants a token: give the agent the gateway's token "
                   "(gateway.auth.token) with --token-file or “presencectl login”"));
  else if (g_str_equal (code, "PAIRING_REQUIRED") || g_str_equal (code, "PAIRING_CHANGED"))
    set (failure, PRES_CONNECTION_UNAUTHORIZED, PRES_OPENCLAW_RETRY_AFTER,
         PRES_OPENCLAW_RETRY_PAIRING_MS,
         request_id != NULL
           ? g_strdup_printf ("The gateway must approve this device (pairing request %s): run "
                              "“openclaw devices approve %s” on the gateway",
                              request_id, request_id)
           : g_strdup ("The gateway must approve this device: run “openclaw devices approve "
                       "--latest” on the gateway"));
  else if (g_str_equal (code, "DEVICE_IDENTITY_REQUIRED")
           || (top && g_str_equal (top, "NOT_PAIRED")))
    set (failure, PRES_CONNECTION_UNAUTHORIZED, PRES_OPENCLAW_RETRY_AFTER,
         PRES_OPENCLAW_RETRY_PAIRING_MS,
         g_strdup_printf ("The gateway does not accept this device (%s): %s", code, said));
  else if (g_str_equal (code, "PROTOCOL_MISMATCH"))
    set (failure, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, PRES_OPENCLAW_RETRY_MISMATCH_MS,
         g_strdup_printf ("The gateway speaks another protocol version (this agent speaks %d): "
                          "update the agent or the gateway",
                          PRES_OPENCLAW_PROTOCOL));
  else if (g_str_equal (code, "CONTROL_UI_ORIGIN_NOT_ALLOWED"))
    set (failure, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, PRES_OPENCLAW_RETRY_MISMATCH_MS,
         g_strdup ("The gateway refused the connection's origin: connect to it directly, not "
                   "through a web proxy that adds an Origin header"));
  else if (g_str_equal (code, "DEVICE_AUTH_SIGNATURE_EXPIRED"))
    set (failure, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, PRES_OPENCLAW_RETRY_AUTH_MS,
         g_strdup ("The gateway found the device signature too old: check that this computer's "
                   "clock and the gateway's agree"));
  else if (g_str_has_prefix (code, "DEVICE_AUTH_"))
    set (failure, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, PRES_OPENCLAW_RETRY_AUTH_MS,
         g_strdup_printf ("The gateway refused the device proof (%s): %s", code, said));
  else if (g_str_equal (code, "MISSING_SCOPE") || (top && g_str_equal (top, "FORBIDDEN")))
    set (failure, PRES_CONNECTION_UNAUTHORIZED, PRES_OPENCLAW_RETRY_AFTER,
         PRES_OPENCLAW_RETRY_AUTH_MS,
         g_strdup_printf ("The gateway did not grant this device the operator.admin scope that "
                          "presence beacons need (%s): approve it again with "
                          "“openclaw devices approve” on the gateway",
                          said));
  else if ((top && g_str_equal (top, "UNAVAILABLE")) || get_bool (error, "retryable"))
    set (failure, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_BACKOFF, retry_after,
         g_strdup_printf ("The gateway is not ready (%s)", said));
  else
    set (failure, PRES_CONNECTION_ERROR,
         in_connect ? PRES_OPENCLAW_RETRY_AFTER : PRES_OPENCLAW_RETRY_BACKOFF,
         in_connect ? PRES_OPENCLAW_RETRY_AUTH_MS : retry_after,
         g_strdup_printf ("The gateway refused the %s (%s): %s",
                          in_connect ? "connection" : "beacon", code, said));
  return failure;
}

void
pres_openclaw_failure_free (PresOpenclawFailure *failure)
{
  if (failure == NULL)
    return;
  g_free (failure->code);
  g_free (failure->message);
  g_free (failure);
}
