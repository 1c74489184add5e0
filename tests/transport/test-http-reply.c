#include <libsoup/soup.h>

#include "pres-http-reply.h"

static GBytes *
bytes (const char *text)
{
  return g_bytes_new (text, strlen (text));
}

static void
test_ok (void)
{
  g_autoptr (GBytes) body = bytes (
    "{\"participant_id\":\"lena\",\"state\":\"busy\",\"ttl_ms\":75000,\"interval_ms\":30000}");
  g_autoptr (PresHttpOutcome) outcome = pres_http_outcome_for_heartbeat (200, NULL, body);

  g_assert_cmpint (outcome->kind, ==, PRES_HTTP_OUTCOME_OK);
  g_assert_null (outcome->message);
  g_assert_cmpuint (outcome->reply->interval_ms, ==, 30000);
}

static void
test_interval_bounds (void)
{
  g_autoptr (GBytes) fast
    = bytes ("{\"participant_id\":\"a\",\"state\":\"online\",\"ttl_ms\":1000,\"interval_ms\":1}");
  g_autoptr (GBytes) slow = bytes (
    "{\"participant_id\":\"a\",\"state\":\"online\",\"ttl_ms\":1000,\"interval_ms\":86400000}");
  g_autoptr (PresHttpOutcome) fast_outcome = pres_http_outcome_for_heartbeat (200, NULL, fast);
  g_autoptr (PresHttpOutcome) slow_outcome = pres_http_outcome_for_heartbeat (200, NULL, slow);

  /* A server can neither make the agent hammer it nor fall silent for
   * hours: the first is no valid reply, the second is cut to 10 min. */
  g_assert_cmpint (fast_outcome->kind, ==, PRES_HTTP_OUTCOME_FAILED);
  g_assert_cmpint (slow_outcome->kind, ==, PRES_HTTP_OUTCOME_OK);
  g_assert_cmpuint (slow_outcome->reply->interval_ms, ==, PRES_HTTP_MAX_INTERVAL_MS);
}

static void
test_garbage (void)
{
  static const char *const bodies[]
    = { "", "hello", "<html>502</html>", "[]", "{}", "{\"state\":\"online\"}", "\xff\xfe" };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr (GBytes) body = bytes (bodies[i]);
      g_autoptr (PresHttpOutcome) outcome = pres_http_outcome_for_heartbeat (200, NULL, body);

      g_assert_cmpint (outcome->kind, ==, PRES_HTTP_OUTCOME_FAILED);
      g_assert_nonnull (strstr (outcome->message, "not a presence reply"));
      g_assert_true (g_utf8_validate (outcome->message, -1, NULL));
    }
}

static void
test_unauthorized (void)
{
  g_autoptr (GBytes) body
    = bytes ("{\"error\":{\"code\":\"unauthorized\",\"message\":\"bad token\"}}");
  guint statuses[] = { 401, 403 };

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      g_autoptr (PresHttpOutcome) outcome
        = pres_http_outcome_for_heartbeat (statuses[i], NULL, body);

      g_assert_cmpint (outcome->kind, ==, PRES_HTTP_OUTCOME_UNAUTHORIZED);
      g_assert_nonnull (strstr (outcome->message, "refused the token"));
      g_assert_nonnull (strstr (outcome->message, "presencectl login"));
      g_assert_nonnull (strstr (outcome->message, "bad token"));
    }
}

static void
test_busy (void)
{
  g_autoptr (GBytes) body
    = bytes ("{\"error\":{\"code\":\"rate_limited\",\"message\":\"slow down\"}}");
  g_autoptr (PresHttpOutcome) limited = pres_http_outcome_for_heartbeat (429, "7", body);
  g_autoptr (PresHttpOutcome) unavailable = pres_http_outcome_for_heartbeat (503, NULL, NULL);

  g_assert_cmpint (limited->kind, ==, PRES_HTTP_OUTCOME_RETRY_AFTER);
  g_assert_cmpuint (limited->retry_after_ms, ==, 7000);
  g_assert_cmpint (unavailable->kind, ==, PRES_HTTP_OUTCOME_RETRY_AFTER);
  g_assert_cmpuint (unavailable->retry_after_ms, ==, 0);
}

static void
test_retry_after (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_utc (2026, 11, 23, 12, 0, 0);

  g_assert_cmpuint (pres_http_parse_retry_after (NULL, now), ==, 0);
  g_assert_cmpuint (pres_http_parse_retry_after ("soon", now), ==, 0);
  g_assert_cmpuint (pres_http_parse_retry_after ("-5", now), ==, 0);
  g_assert_cmpuint (pres_http_parse_retry_after ("3", now), ==, 3000);
  g_assert_cmpuint (pres_http_parse_retry_after ("0", now), ==, 1000);
  g_assert_cmpuint (pres_http_parse_retry_after ("999999999", now), ==,
                    PRES_HTTP_MAX_RETRY_AFTER_MS);
  g_assert_cmpuint (pres_http_parse_retry_after ("Mon, 23 Nov 2026 12:00:42 GMT", now), ==, 42000);
  g_assert_cmpuint (pres_http_parse_retry_after ("Mon, 23 Nov 2026 11:00:00 GMT", now), ==, 1000);
}

static void
test_other_errors (void)
{
  g_autoptr (GBytes) body
    = bytes ("{\"error\":{\"code\":\"invalid_state\",\"message\":\"state must be one of…\"}}");
  g_autoptr (GBytes) control = bytes ("{\"error\":{\"code\":\"x\",\"message\":\"line\\nbreak\"}}");
  g_autoptr (PresHttpOutcome) outcome = pres_http_outcome_for_heartbeat (400, NULL, body);
  g_autoptr (PresHttpOutcome) odd = pres_http_outcome_for_heartbeat (400, NULL, control);
  g_autoptr (PresHttpOutcome) server_error = pres_http_outcome_for_heartbeat (500, NULL, NULL);
  g_autoptr (GError) timeout = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "x");
  g_autoptr (PresHttpOutcome) hung = pres_http_outcome_for_error (timeout, TRUE);

  g_assert_cmpint (outcome->kind, ==, PRES_HTTP_OUTCOME_FAILED);
  g_assert_nonnull (strstr (outcome->message, "“state must be one of…” (HTTP 400)"));
  /* Server text with control characters never reaches LastError. */
  g_assert_null (strchr (odd->message, '\n'));
  g_assert_nonnull (strstr (odd->message, "HTTP 400"));
  g_assert_nonnull (strstr (server_error->message, "HTTP 500"));
  g_assert_nonnull (strstr (hung->message, "did not answer"));
}

static void
test_leave (void)
{
  g_autoptr (PresHttpOutcome) ok = pres_http_outcome_for_leave (200, NULL, NULL);
  g_autoptr (PresHttpOutcome) gone = pres_http_outcome_for_leave (404, NULL, NULL);
  g_autoptr (PresHttpOutcome) refused = pres_http_outcome_for_leave (401, NULL, NULL);

  g_assert_cmpint (ok->kind, ==, PRES_HTTP_OUTCOME_OK);
  g_assert_cmpint (gone->kind, ==, PRES_HTTP_OUTCOME_OK);
  g_assert_cmpint (refused->kind, ==, PRES_HTTP_OUTCOME_UNAUTHORIZED);
}

static void
test_describe (void)
{
  g_autofree char *big = g_strnfill (2000, 'x');
  g_autoptr (GBytes) body = bytes (big);
  g_autoptr (GBytes) bad = bytes ("ok\xff");
  g_autofree char *text = pres_http_describe_reply (200, body);
  g_autofree char *bad_text = pres_http_describe_reply (502, bad);

  g_assert_cmpuint (strlen (text), <, 600);
  g_assert_true (g_str_has_prefix (text, "HTTP 200: xxx"));
  g_assert_true (g_utf8_validate (bad_text, -1, NULL));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/http-reply/ok", test_ok);
  g_test_add_func ("/http-reply/interval-bounds", test_interval_bounds);
  g_test_add_func ("/http-reply/garbage", test_garbage);
  g_test_add_func ("/http-reply/unauthorized", test_unauthorized);
  g_test_add_func ("/http-reply/busy", test_busy);
  g_test_add_func ("/http-reply/retry-after", test_retry_after);
  g_test_add_func ("/http-reply/other-errors", test_other_errors);
  g_test_add_func ("/http-reply/leave", test_leave);
  g_test_add_func ("/http-reply/describe", test_describe);
  return g_test_run ();
}
