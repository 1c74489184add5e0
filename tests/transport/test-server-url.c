#include "pres-server-url.h"

static void
test_accepted (void)
{
  struct
  {
    const char *url;
    gboolean allow_insecure;
    const char *expected;
  } cases[] = {
    { "https://presence.example.org", FALSE, "https://presence.example.org" },
    { "https://presence.example.org/", FALSE, "https://presence.example.org" },
    { "https://presence.example.org:8443/base/", FALSE, "https://presence.example.org:8443/base" },
    { "http://127.0.0.1:8787", FALSE, "http://127.0.0.1:8787" },
    { "http://127.1.2.3:8787/", FALSE, "http://127.1.2.3:8787" },
    { "http://localhost:8787", FALSE, "http://localhost:8787" },
    { "http://[::1]:8787", FALSE, "http://[::1]:8787" },
    { "http://presence.example.org", TRUE, "http://presence.example.org" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *url = pres_server_url_check (cases[i].url, cases[i].allow_insecure, &error);

      g_test_message ("%s", cases[i].url);
      g_assert_no_error (error);
      g_assert_cmpstr (url, ==, cases[i].expected);
    }
}

static void
test_http_to_remote_refused (void)
{
  static const char *const urls[]
    = { "http://presence.example.org", "http://192.168.1.5:8787", "http://[2001:db8::1]:8787",
        "http://0.0.0.0:8787", "HTTP://presence.example.org" };

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *url = pres_server_url_check (urls[i], FALSE, &error);

      g_test_message ("%s", urls[i]);
      g_assert_null (url);
      g_assert_nonnull (error);
      /* Words the user can act on. */
      g_assert_nonnull (strstr (error->message, "https://"));
      g_assert_nonnull (strstr (error->message, "allow-insecure"));
    }
}

static void
test_malformed (void)
{
  static const char *const urls[] = { "",
                                      "presence.example.org",
                                      "ftp://example.org",
                                      "https://",
                                      "https://user:pw@example.org",
                                      "https://example.org/?token=x",
                                      "ws://127.0.0.1" };

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *url = pres_server_url_check (urls[i], TRUE, &error);

      g_test_message ("“%s”", urls[i]);
      g_assert_null (url);
      g_assert_nonnull (error);
      g_assert_null (strstr (error->message, "pw"));
    }
}

static void
test_loopback (void)
{
  g_assert_true (pres_server_url_host_is_loopback ("127.0.0.1"));
  g_assert_true (pres_server_url_host_is_loopback ("::1"));
  g_assert_true (pres_server_url_host_is_loopback ("LocalHost"));
  g_assert_true (pres_server_url_host_is_loopback ("a.localhost"));
  g_assert_false (pres_server_url_host_is_loopback ("localhost.example.org"));
  g_assert_false (pres_server_url_host_is_loopback ("10.0.0.1"));
  g_assert_false (pres_server_url_host_is_loopback (NULL));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/server-url/accepted", test_accepted);
  g_test_add_func ("/server-url/http-to-remote-refused", test_http_to_remote_refused);
  g_test_add_func ("/server-url/malformed", test_malformed);
  g_test_add_func ("/server-url/loopback", test_loopback);
  return g_test_run ();
}
