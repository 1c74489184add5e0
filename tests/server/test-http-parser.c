#include <string.h>

#include "pres-http-parser.h"

/* The head's length as pres_http_find_head_end sees it when the bytes come
 * one at a time, which must match what it sees in one piece. */
static gssize
find_end_byte_by_byte (const char *text)
{
  gsize len = strlen (text), scanned = 0;

  for (gsize have = 1; have <= len; have++)
    {
      gssize end = pres_http_find_head_end (text, have, &scanned);

      if (end != 0)
        return end;
    }
  return 0;
}

static gssize
find_end (const char *text)
{
  gsize scanned = 0;
  gssize end = pres_http_find_head_end (text, strlen (text), &scanned);

  g_assert_cmpint (find_end_byte_by_byte (text), ==, end);
  return end;
}

/* Parses the head at the start of text; FALSE with error on a refusal. */
static gboolean
parse (const char         *text,
       char              **copy,
       PresHttpHead       *head,
       PresHttpParseError *error)
{
  gssize end = find_end (text);

  g_assert_cmpint (end, >, 0);
  *copy = g_strndup (text, end);
  return pres_http_parse_head (*copy, end, head, error);
}

static void
test_simple (void)
{
  const char *text = "PUT /v1/instances/Laptop-1 HTTP/1.1\r\n"
                     "Host: 127.0.0.1\r\n"
                     "authorization:   Bearer tok  \r\n"
                     "Content-Length: 12\r\n"
                     "\r\n"
                     "{\"a\": true}\n";
  g_autofree char *copy = NULL;
  PresHttpHead head;
  PresHttpParseError error;

  g_assert_cmpint (find_end (text), ==, strlen (text) - 12);
  g_assert_true (parse (text, &copy, &head, &error));
  g_assert_cmpstr (head.method, ==, "PUT");
  g_assert_cmpstr (head.path, ==, "/v1/instances/Laptop-1");
  g_assert_null (head.query);
  g_assert_cmpuint (head.minor_version, ==, 1);
  g_assert_cmpint (head.content_length, ==, 12);
  g_assert_true (head.keep_alive);
  g_assert_false (head.upgrade);
  g_assert_cmpuint (head.n_headers, ==, 3);
  /* Names are case-insensitive; values lose the whitespace around them. */
  g_assert_cmpstr (pres_http_head_get_header (&head, "Authorization"), ==, "Bearer tok");
  g_assert_cmpstr (pres_http_head_get_header (&head, "HOST"), ==, "127.0.0.1");
  g_assert_null (pres_http_head_get_header (&head, "Cookie"));
}

static void
test_pipelined (void)
{
  const char *text = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                     "\r\n" /* an empty line before a request line is allowed */
                     "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
  gsize scanned = 0;
  gssize first = pres_http_find_head_end (text, strlen (text), &scanned);
  gssize second;
  g_autofree char *copy = NULL;
  PresHttpHead head;
  PresHttpParseError error;

  g_assert_cmpint (first, ==, 34);
  scanned = 0;
  second = pres_http_find_head_end (text + first, strlen (text) - first, &scanned);
  g_assert_cmpint (first + second, ==, strlen (text));
  copy = g_strndup (text + first, second);
  g_assert_true (pres_http_parse_head (copy, second, &head, &error));
  g_assert_cmpstr (head.path, ==, "/metrics");
}

static void
test_split_headers (void)
{
  const char *text = "GET /v1/presence?ids=a,b HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, "
                     "Upgrade\r\nUpgrade: websocket\r\n\r\n";
  gsize len = strlen (text), scanned = 0;

  /* Every prefix is incomplete, the whole is complete. */
  for (gsize have = 0; have < len; have++)
    g_assert_cmpint (pres_http_find_head_end (text, have, &scanned), ==, 0);
  g_assert_cmpint (pres_http_find_head_end (text, len, &scanned), ==, len);
}

static void
test_oversize_head (void)
{
  g_autoptr (GString) text = g_string_new ("GET / HTTP/1.1\r\nHost: x\r\n");
  gsize scanned = 0;

  while (text->len <= PRES_HTTP_MAX_HEAD_BYTES)
    g_string_append (text, "X-Filler: 0123456789012345678901234567890123456789\r\n");
  /* Refused before its end arrives, and with its end too. */
  g_assert_cmpint (pres_http_find_head_end (text->str, text->len, &scanned), ==, -1);
  g_string_append (text, "\r\n");
  scanned = 0;
  g_assert_cmpint (pres_http_find_head_end (text->str, text->len, &scanned), ==, -1);
  g_assert_cmpint (find_end_byte_by_byte (text->str), ==, -1);
}

static void
test_too_many_headers (void)
{
  g_autoptr (GString) text = g_string_new ("GET / HTTP/1.1\r\nHost: x\r\n");
  g_autofree char *copy = NULL;
  PresHttpHead head;
  PresHttpParseError error;

  for (guint i = 0; i < PRES_HTTP_MAX_HEADERS; i++)
    g_string_append_printf (text, "X-%u: y\r\n", i);
  g_string_append (text, "\r\n");
  g_assert_false (parse (text->str, &copy, &head, &error));
  g_assert_cmpuint (error.status, ==, 431);
}

static void
expect_refused (const char *text,
                guint       status,
                const char *code)
{
  g_autofree char *copy = NULL;
  PresHttpHead head;
  PresHttpParseError error = { 0 };

  g_test_message ("%s", text);
  g_assert_false (parse (text, &copy, &head, &error));
  g_assert_cmpuint (error.status, ==, status);
  g_assert_cmpstr (error.code, ==, code);
  g_assert_true (error.message != NULL && *error.message != '\0');
}

static void
test_bad_request_lines (void)
{
  const char *bad[] = {
    "GET\r\n\r\n",
    "GET /\r\nHost: x\r\n\r\n",
    "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
    "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET noslash HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET / HTTX/1.1\r\nHost: x\r\n\r\n",
    "GET / HTTP/1.10\r\nHost: x\r\n\r\n",
    "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET / HTTP/1.1\nHost: x\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\n\n",
    "GET / HTTP/1.1\r\nHost: x\r\r\n\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    expect_refused (bad[i], 400, "bad_request");
  expect_refused ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported");
}

static void
test_bad_headers (void)
{
  const char *bad[] = {
    "GET / HTTP/1.1\r\n\r\n",                                     /* no Host */
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",               /* two */
    "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n folded\r\n\r\n",     /* obs-fold */
    "GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n",               /* space before colon */
    "GET / HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\x01\r\n\r\n",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
  };
  g_autofree char *copy = NULL;
  PresHttpHead head;
  PresHttpParseError error;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    expect_refused (bad[i], 400, "bad_request");
  /* The same length twice is one length. */
  g_assert_true (parse ("PUT / HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 5\r\nContent-length: 5\r\n\r\n",
                        &copy, &head, &error));
  g_assert_cmpint (head.content_length, ==, 5);
}

/* Methods are case-sensitive: a lower-case one is not served as its
 * upper-case namesake. */
static void
test_lowercase_method (void)
{
  const char *bad[] = {
    "get /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "Get /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "pUT /v1/instances/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
  };
  g_autofree char *copy = NULL;
  PresHttpHead head;
  PresHttpParseError error;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    expect_refused (bad[i], 400, "bad_request");
  g_assert_true (parse ("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &copy, &head, &error));
  g_assert_cmpstr (head.method, ==, "GET");
}

/* Two credentials: which one counts would be a guess. */
static void
test_two_authorizations (void)
{
  const char *bad[] = {
    "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nauthorization: Bearer a\r\n\r\n",
  };
  g_autofree char *copy = NULL;
  PresHttpHead head;
  PresHttpParseError error;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    expect_refused (bad[i], 400, "bad_request");
  g_assert_true (parse ("GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n\r\n", &copy,
                        &head, &error));
}

static void
test_chunked (void)
{
  expect_refused ("PUT /v1/instances/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                  411, "length_required");
  expect_refused ("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                  "Transfer-Encoding: gzip, chunked\r\n\r\n",
                  411, "length_required");
}

static void
test_connection (void)
{
  struct
  {
    const char *text;
    gboolean keep_alive, upgrade, expect_continue;
  } cases[] = {
    { "GET / HTTP/1.1\r\nHost: x\r\n\r\n", TRUE, FALSE, FALSE },
    { "GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n", FALSE, FALSE, FALSE },
    { "GET / HTTP/1.1\r\nHost: x\r\nConnection: te, close\r\n\r\n", FALSE, FALSE, FALSE },
    /* HTTP/1.0 closes, keep-alive or not; it needs no Host. */
    { "GET / HTTP/1.0\r\n\r\n", FALSE, FALSE, FALSE },
    { "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", FALSE, FALSE, FALSE },
    { "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", TRUE,
      TRUE, FALSE },
    { "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", TRUE, FALSE, FALSE },
    { "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n", TRUE,
      FALSE, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *copy = NULL;
      PresHttpHead head;
      PresHttpParseError error;

      g_test_message ("%s", cases[i].text);
      g_assert_true (parse (cases[i].text, &copy, &head, &error));
      g_assert_cmpint (head.keep_alive, ==, cases[i].keep_alive);
      g_assert_cmpint (head.upgrade, ==, cases[i].upgrade);
      g_assert_cmpint (head.expect_continue, ==, cases[i].expect_continue);
    }
}

static void
test_targets (void)
{
  struct
  {
    const char *text, *path, *query;
  } cases[] = {
    { "DELETE /v1/instances/a?session=s%201&reason=sleep HTTP/1.1\r\nHost: x\r\n\r\n",
      "/v1/instances/a", "session=s%201&reason=sleep" },
    { "GET /v1/instances/lap%74op%2D1 HTTP/1.1\r\nHost: x\r\n\r\n", "/v1/instances/laptop-1",
      NULL },
    { "GET /a+b? HTTP/1.1\r\nHost: x\r\n\r\n", "/a+b", "" },
    { "GET http://example.org/healthz?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", "/healthz", "x=1" },
    { "GET http://example.org HTTP/1.1\r\nHost: x\r\n\r\n", "/", NULL },
    { "GET http://example.org?y=2 HTTP/1.1\r\nHost: x\r\n\r\n", "/", "y=2" },
    { "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "*", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *copy = NULL;
      PresHttpHead head;
      PresHttpParseError error;

      g_test_message ("%s", cases[i].text);
      g_assert_true (parse (cases[i].text, &copy, &head, &error));
      g_assert_cmpstr (head.path, ==, cases[i].path);
      g_assert_cmpstr (head.query, ==, cases[i].query);
    }
}

static void
test_percent_decoding (void)
{
  g_autoptr (GHashTable) query = pres_http_parse_query ("session=4f%201&reason=a+b&flag&&x=1&x=2");
  char text[] = "%41%62c%2f%C3%A9+";

  g_assert_nonnull (query);
  g_assert_cmpuint (g_hash_table_size (query), ==, 4);
  g_assert_cmpstr (g_hash_table_lookup (query, "session"), ==, "4f 1");
  g_assert_cmpstr (g_hash_table_lookup (query, "reason"), ==, "a b");
  g_assert_cmpstr (g_hash_table_lookup (query, "flag"), ==, "");
  g_assert_cmpstr (g_hash_table_lookup (query, "x"), ==, "2");

  g_assert_true (pres_http_percent_decode (text, FALSE));
  g_assert_cmpstr (text, ==, "Abc/é+");

  g_assert_null (pres_http_parse_query ("a=%"));
  g_assert_null (pres_http_parse_query ("a=%4"));
  g_assert_null (pres_http_parse_query ("a=%g1"));
  g_assert_null (pres_http_parse_query ("a%00=1"));
}

static void
test_header_tokens (void)
{
  g_assert_true (pres_http_header_has_token ("keep-alive, Upgrade", "upgrade"));
  g_assert_true (pres_http_header_has_token ("close", "close"));
  g_assert_true (pres_http_header_has_token (" ,close ,", "close"));
  g_assert_false (pres_http_header_has_token ("closed", "close"));
  g_assert_false (pres_http_header_has_token ("", "close"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/http-parser/simple", test_simple);
  g_test_add_func ("/http-parser/pipelined", test_pipelined);
  g_test_add_func ("/http-parser/split-headers", test_split_headers);
  g_test_add_func ("/http-parser/oversize-head", test_oversize_head);
  g_test_add_func ("/http-parser/too-many-headers", test_too_many_headers);
  g_test_add_func ("/http-parser/bad-request-lines", test_bad_request_lines);
  g_test_add_func ("/http-parser/bad-headers", test_bad_headers);
  g_test_add_func ("/http-parser/lowercase-method", test_lowercase_method);
  g_test_add_func ("/http-parser/two-authorizations", test_two_authorizations);
  g_test_add_func ("/http-parser/chunked", test_chunked);
  g_test_add_func ("/http-parser/connection", test_connection);
  g_test_add_func ("/http-parser/targets", test_targets);
  g_test_add_func ("/http-parser/percent-decoding", test_percent_decoding);
  g_test_add_func ("/http-parser/header-tokens", test_header_tokens);
  return g_test_run ();
}
