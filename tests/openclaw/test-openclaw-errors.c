#define G_LOG_DOMAIN "test-openclaw"

#include "pres-openclaw-errors.h"

/* Every error frame of research/openclaw.md §9, as the gateway sent it,
 * and what the user is told. No refusal that needs the user to act may be
 * retried sooner than once a minute, but a pairing, which the user approves
 * on the gateway and then waits for, every 30 s. */

typedef struct
{
  const char *name;
  const char *error; /* the response's "error" object */
  gboolean in_connect;
  PresConnection connection;
  PresOpenclawRetry retry;
  guint min_retry_ms;
  const char *says; /* part of the LastError text */
} Case;

static const Case cases[] = {
  { "first-not-connect",
    "{\"code\":\"INVALID_REQUEST\",\"message\":\"invalid handshake: first request must be "
    "connect\"}",
    TRUE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, 60000, "first request must be" },
  { "unknown-client-id",
    "{\"code\":\"INVALID_REQUEST\",\"message\":\"invalid connect params: at /client/id: must be "
    "equal to one of the allowed values\"}",
    TRUE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, 60000, "/client/id" },
  { "protocol-mismatch",
    "{\"code\":\"INVALID_REQUEST\",\"message\":\"protocol mismatch\",\"details\":{\"code\":"
    "\"PROTOCOL_MISMATCH\",\"expectedProtocol\":4,\"minimumProbeProtocol\":3}}",
    TRUE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, 60000, "another protocol version" },
  { "token-mismatch",
    "{\"code\":\"INVALID_REQUEST\",\"message\":\"unauthorized: gateway token mismatch\","
    "\"details\":{\"code\":\"AUTH_TOKEN_MISMATCH\",\"authReason\":\"token_mismatch\","
    "\"canRetryWithDeviceToken\":true,\"recommendedNextStep\":\"retry_with_device_token\"}}",
    TRUE, PRES_CONNECTION_UNAUTHORIZED, PRES_OPENCLAW_RETRY_DEVICE_TOKEN, 60000,
    "refused the token" },
  { "token-missing",
    "{\"code\":\"INVALID_REQUEST\",\"message\":\"unauthorized\",\"details\":{\"code\":"
    "\"AUTH_TOKEN_MISSING\",\"recommendedNextStep\":\"update_auth_configuration\"}}",
    TRUE, PRES_CONNECTION_UNAUTHORIZED, PRES_OPENCLAW_RETRY_AFTER, 60000, "wants a token" },
  { "signature-invalid",
    "{\"code\":\"INVALID_REQUEST\",\"message\":\"device signature invalid\",\"details\":"
    "{\"code\":\"DEVICE_AUTH_SIGNATURE_INVALID\",\"reason\":\"device-signature\"}}",
    TRUE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, 60000, "device proof" },
  { "signature-expired",
    "{\"code\":\"INVALID_REQUEST\",\"message\":\"device signature expired\",\"details\":"
    "{\"code\":\"DEVICE_AUTH_SIGNATURE_EXPIRED\",\"reason\":\"device-signature-stale\"}}",
    TRUE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, 60000, "clock" },
  { "nonce-mismatch",
    "{\"code\":\"INVALID_REQUEST\",\"message\":\"device nonce mismatch\",\"details\":{\"code\":"
    "\"DEVICE_AUTH_NONCE_MISMATCH\"}}",
    TRUE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, 60000, "nonce mismatch" },
  { "device-id-mismatch",
    "{\"code\":\"INVALID_REQUEST\",\"message\":\"device identity mismatch\",\"details\":"
    "{\"code\":\"DEVICE_AUTH_DEVICE_ID_MISMATCH\"}}",
    TRUE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, 60000, "DEVICE_AUTH_DEVICE_ID" },
  { "identity-required",
    "{\"code\":\"NOT_PAIRED\",\"message\":\"device identity required\",\"details\":{\"code\":"
    "\"DEVICE_IDENTITY_REQUIRED\"}}",
    TRUE, PRES_CONNECTION_UNAUTHORIZED, PRES_OPENCLAW_RETRY_AFTER, 30000, "device identity" },
  { "pairing-metadata-upgrade",
    "{\"code\":\"NOT_PAIRED\",\"message\":\"pairing required: device identity changed and must "
    "be re-approved\",\"details\":{\"code\":\"PAIRING_REQUIRED\",\"reason\":\"metadata-upgrade\","
    "\"requestId\":\"req-77\"}}",
    TRUE, PRES_CONNECTION_UNAUTHORIZED, PRES_OPENCLAW_RETRY_AFTER, 30000,
    "openclaw devices approve req-77" },
  { "pairing-not-paired",
    "{\"code\":\"NOT_PAIRED\",\"message\":\"pairing required: device is not approved yet\","
    "\"details\":{\"code\":\"PAIRING_REQUIRED\",\"reason\":\"not-paired\"}}",
    TRUE, PRES_CONNECTION_UNAUTHORIZED, PRES_OPENCLAW_RETRY_AFTER, 30000,
    "openclaw devices approve --latest" },
  /* The request id goes into a command the user copies: a hostile one is
   * left out. */
  { "pairing-hostile-request-id",
    "{\"code\":\"NOT_PAIRED\",\"message\":\"pairing required\",\"details\":{\"code\":"
    "\"PAIRING_REQUIRED\",\"requestId\":\"x; rm -rf ~\"}}",
    TRUE, PRES_CONNECTION_UNAUTHORIZED, PRES_OPENCLAW_RETRY_AFTER, 30000,
    "openclaw devices approve --latest" },
  { "origin-not-allowed",
    "{\"code\":\"INVALID_REQUEST\",\"message\":\"origin not allowed\",\"details\":{\"code\":"
    "\"CONTROL_UI_ORIGIN_NOT_ALLOWED\"}}",
    TRUE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, 60000, "Origin" },
  { "unavailable-startup",
    "{\"code\":\"UNAVAILABLE\",\"message\":\"gateway starting\",\"retryable\":true,"
    "\"retryAfterMs\":1500,\"details\":{\"reason\":\"startup-sidecars\"}}",
    TRUE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_BACKOFF, 1500, "not ready" },
  { "missing-scope",
    "{\"code\":\"FORBIDDEN\",\"message\":\"missing scope: operator.admin\",\"details\":{\"code\":"
    "\"MISSING_SCOPE\",\"missingScope\":\"operator.admin\"}}",
    FALSE, PRES_CONNECTION_UNAUTHORIZED, PRES_OPENCLAW_RETRY_AFTER, 60000, "operator.admin" },
  { "unauthorized-role", "{\"code\":\"INVALID_REQUEST\",\"message\":\"unauthorized role: node\"}",
    FALSE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_BACKOFF, 0, "unauthorized role" },
  { "bad-params",
    "{\"code\":\"INVALID_REQUEST\",\"message\":\"invalid system-event params: at "
    "/lastInputSeconds: must be number\"}",
    FALSE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_BACKOFF, 0, "must be number" },
  { "no-error-at-all", "{}", TRUE, PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, 60000,
    "UNKNOWN" },
  { "hostile-message",
    "{\"code\":[1],\"message\":\"line\\nbreak\\u0007 and more\",\"details\":\"x\"}", TRUE,
    PRES_CONNECTION_ERROR, PRES_OPENCLAW_RETRY_AFTER, 60000, "line break  and more" },
};

static void
test_case (gconstpointer data)
{
  const Case *c = data;
  g_autoptr (JsonNode) node = json_from_string (c->error, NULL);
  g_autoptr (PresOpenclawFailure) failure
    = pres_openclaw_failure_new (json_node_get_object (node), c->in_connect);

  g_test_message ("%s → %s", c->name, failure->message);
  g_assert_cmpint (failure->connection, ==, c->connection);
  g_assert_cmpint (failure->retry, ==, c->retry);
  if (c->retry == PRES_OPENCLAW_RETRY_BACKOFF)
    g_assert_cmpuint (failure->retry_ms, ==, c->min_retry_ms);
  else
    g_assert_cmpuint (failure->retry_ms, >=, c->min_retry_ms);
  g_assert_nonnull (strstr (failure->message, c->says));
  g_assert_null (strchr (failure->message, '\n'));
}

static void
test_long_message (void)
{
  g_autofree char *filler = g_strnfill (5000, 'x');
  g_autofree char *text
    = g_strdup_printf ("{\"code\":\"INVALID_REQUEST\",\"message\":\"%s\"}", filler);
  g_autoptr (JsonNode) node = json_from_string (text, NULL);
  g_autoptr (PresOpenclawFailure) failure
    = pres_openclaw_failure_new (json_node_get_object (node), TRUE);

  /* Too long to quote whole: the gateway's message is left out. */
  g_assert_cmpuint (strlen (failure->message), <, 400);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/openclaw-errors/%s", cases[i].name);

      g_test_add_data_func (path, &cases[i], test_case);
    }
  g_test_add_func ("/openclaw-errors/long-message", test_long_message);
  return g_test_run ();
}
