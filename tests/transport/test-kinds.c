#include "pres-transport-factory.h"

/* Each kind is found by its name and by its URL's scheme. */
static void
test_lookup (void)
{
  const PresTransportKind *http = pres_transport_kind_lookup ("http");
  const PresTransportKind *openclaw = pres_transport_kind_lookup ("openclaw");
  g_autofree char *names = pres_transport_kind_names ();

  g_assert_nonnull (http);
  g_assert_nonnull (openclaw);
  g_assert_cmpstr (http->kind, ==, "http");
  g_assert_cmpstr (openclaw->label, ==, "OpenClaw gateway");
  g_assert_null (pres_transport_kind_lookup ("HTTP"));
  g_assert_null (pres_transport_kind_lookup (""));
  g_assert_null (pres_transport_kind_lookup ("carrier-pigeon"));

  g_assert_true (pres_transport_kind_for_url ("https://presence.example.org") == http);
  g_assert_true (pres_transport_kind_for_url ("http://127.0.0.1:8787") == http);
  g_assert_true (pres_transport_kind_for_url ("wss://gw.example.org") == openclaw);
  g_assert_true (pres_transport_kind_for_url ("ws://127.0.0.1:18789") == openclaw);
  g_assert_null (pres_transport_kind_for_url ("gopher://example.org"));
  g_assert_null (pres_transport_kind_for_url ("not a url"));
  g_assert_null (pres_transport_kind_for_url (""));

  g_assert_nonnull (strstr (names, "http"));
  g_assert_nonnull (strstr (names, "openclaw"));
}

/* An unknown kind is refused in words that name the known ones. */
static void
test_unknown (void)
{
  g_autoptr (GError) error = NULL;
  PresTransportSetup setup = { 0 };

  g_assert_null (pres_transport_new ("carrier-pigeon", &setup, &error));
  g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
  g_assert_nonnull (strstr (error->message, "carrier-pigeon"));
  g_assert_nonnull (strstr (error->message, "openclaw"));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/kinds/lookup", test_lookup);
  g_test_add_func ("/kinds/unknown", test_unknown);
  return g_test_run ();
}
