/* Unit tests of `presencectl destinations`: the listing and its JSON form,
 * from a hand-made Destinations property and a pinned clock. */
#include <json-glib/json-glib.h>

#include "pres-ctl-destinations.h"

/* 2026-11-23 16:30:00 UTC */
#define NOW_UNIX G_GINT64_CONSTANT (1795451400)

static void
add_destination (GVariantBuilder *list,
                 const char      *name,
                 const char      *kind,
                 const char      *url,
                 const char      *connection,
                 const char      *last_error,
                 gint64           delivered_ms,
                 const char      *known_as)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "Name", "s", name);
  g_variant_dict_insert (&dict, "Kind", "s", kind);
  g_variant_dict_insert (&dict, "Url", "s", url);
  g_variant_dict_insert (&dict, "Connection", "s", connection);
  g_variant_dict_insert (&dict, "LastError", "s", last_error);
  g_variant_dict_insert (&dict, "LastDelivered", "x", delivered_ms);
  g_variant_dict_insert (&dict, "KnownAs", "s", known_as);
  g_variant_builder_add_value (list, g_variant_dict_end (&dict));
}

static GVariant *
two_destinations (void)
{
  g_auto (GVariantBuilder) list = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));

  add_destination (&list, "team", "http", "https://presence.example", "connected", "",
                   (NOW_UNIX - 12) * 1000 + 500, "0f8fad5b-d9cb-469f-a165-70867728950e");
  add_destination (&list, "claw", "openclaw", "ws://127.0.0.1:18789", "error",
                   "the gateway did not answer; next attempt in 3 s", 0, "");
  return g_variant_ref_sink (g_variant_builder_end (&list));
}

static void
test_listing (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_from_unix_utc (NOW_UNIX);
  g_autoptr (GVariant) destinations = two_destinations ();
  g_autofree char *out = pres_ctl_format_destinations (destinations, now);

  g_assert_cmpstr (out, ==,
                   "team (http, https://presence.example)\n"
                   "  Connection:     connected\n"
                   "  Last delivered: 2026-11-23 16:29:48 (12s ago)\n"
                   "  Known as:       0f8fad5b-d9cb-469f-a165-70867728950e\n"
                   "claw (openclaw, ws://127.0.0.1:18789)\n"
                   "  Connection:     error (the gateway did not answer; next attempt in 3 s)\n"
                   "  Last delivered: never\n"
                   "  Known as:       (not yet known)\n");
}

static void
test_empty (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_from_unix_utc (NOW_UNIX);
  g_autoptr (GVariant) none = g_variant_ref_sink (g_variant_new ("aa{sv}", NULL));
  g_autofree char *out = pres_ctl_format_destinations (none, now);

  g_assert_cmpstr (out, ==, "No destinations: the agent sends presence nowhere.\n");
}

static void
test_json (void)
{
  g_autoptr (GVariant) destinations = two_destinations ();
  g_autofree char *out = pres_ctl_format_destinations_json (destinations);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonArray *array;
  JsonObject *first;

  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  array = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (array), ==, 2);
  first = json_array_get_object_element (array, 0);
  g_assert_cmpstr (json_object_get_string_member (first, "Name"), ==, "team");
  g_assert_cmpstr (json_object_get_string_member (first, "Connection"), ==, "connected");
  g_assert_cmpint (json_object_get_int_member (first, "LastDelivered"), ==,
                   (NOW_UNIX - 12) * 1000 + 500);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (array, 1),
                                                  "LastError"),
                   ==, "the gateway did not answer; next attempt in 3 s");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ctl/destinations/listing", test_listing);
  g_test_add_func ("/ctl/destinations/empty", test_empty);
  g_test_add_func ("/ctl/destinations/json", test_json);

  return g_test_run ();
}
