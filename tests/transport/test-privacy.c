#include <json-glib/json-glib.h>

#include "pres-host-info.h"

/* The heartbeat body as the server would see it. */
static JsonObject *
compose (const PresHostInfo *info,
         const PresHostPrivacy *privacy,
         PresState state,
         gint64 last_input_seconds)
{
  g_autoptr (PresHeartbeat) hb = pres_heartbeat_new ();
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *json = NULL;

  hb->session = g_strdup ("0123456789abcdef");
  hb->seq = 5;
  hb->reason = g_strdup ("periodic");
  pres_host_info_fill (info, privacy, state, last_input_seconds, "In a meeting", hb);
  json = pres_heartbeat_to_json (hb);
  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_states (void)
{
  g_autoptr (PresHostInfo) info = pres_host_info_new ("lena-laptop", "ThinkPad X1");
  PresHostPrivacy privacy = { .share_host_name = TRUE, .share_device_model = TRUE };
  static const PresState shared[] = { PRES_STATE_ONLINE, PRES_STATE_IDLE, PRES_STATE_BUSY };

  for (guint i = 0; i < G_N_ELEMENTS (shared); i++)
    {
      g_autoptr (JsonObject) body = compose (info, &privacy, shared[i], 12);

      g_assert_cmpstr (json_object_get_string_member (body, "state"), ==,
                       pres_state_to_string (shared[i]));
      g_assert_cmpint (json_object_get_int_member (body, "last_input_seconds"), ==, 12);
      g_assert_cmpstr (json_object_get_string_member (body, "host"), ==, "lena-laptop");
      g_assert_cmpstr (json_object_get_string_member (body, "model_identifier"), ==, "ThinkPad X1");
      g_assert_cmpstr (json_object_get_string_member (body, "device_family"), ==, "Linux");
      g_assert_cmpstr (json_object_get_string_member (body, "session"), ==, "0123456789abcdef");
      g_assert_cmpint (json_object_get_int_member (body, "seq"), ==, 5);
      g_assert_cmpstr (json_object_get_string_member (body, "reason"), ==, "periodic");
    }
}

static void
test_appear_offline (void)
{
  g_autoptr (PresHostInfo) info = pres_host_info_new ("lena-laptop", "ThinkPad X1");
  PresHostPrivacy privacy
    = { .share_host_name = TRUE, .host_alias = (char *)"desk", .share_device_model = TRUE };
  g_autoptr (JsonObject) body = compose (info, &privacy, PRES_STATE_APPEAR_OFFLINE, 3);

  /* Whatever the settings allow, none of this may leave the machine. */
  g_assert_cmpstr (json_object_get_string_member (body, "state"), ==, "appear_offline");
  g_assert_false (json_object_has_member (body, "last_input_seconds"));
  g_assert_false (json_object_has_member (body, "host"));
  g_assert_false (json_object_has_member (body, "model_identifier"));
  g_assert_false (json_object_has_member (body, "device_family"));
}

static void
test_settings (void)
{
  g_autoptr (PresHostInfo) info = pres_host_info_new ("lena-laptop", "ThinkPad X1");
  struct
  {
    gboolean share_host_name;
    const char *alias;
    gboolean share_device_model;
    const char *host;
    const char *model;
  } cases[] = {
    { TRUE, NULL, TRUE, "lena-laptop", "ThinkPad X1" },
    { FALSE, NULL, TRUE, NULL, "ThinkPad X1" },
    { TRUE, NULL, FALSE, "lena-laptop", NULL },
    { TRUE, "desk", TRUE, "desk", "ThinkPad X1" },
    { FALSE, "desk", FALSE, NULL, NULL },
    /* An alias that is an address is dropped, not replaced by the name. */
    { TRUE, "127.0.0.1", TRUE, NULL, "ThinkPad X1" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      PresHostPrivacy privacy = { .share_host_name = cases[i].share_host_name,
                                  .host_alias = (char *)cases[i].alias,
                                  .share_device_model = cases[i].share_device_model };
      g_autoptr (JsonObject) body = compose (info, &privacy, PRES_STATE_ONLINE, -1);

      g_test_message ("case %u", i);
      g_assert_false (json_object_has_member (body, "last_input_seconds"));
      if (cases[i].host != NULL)
        g_assert_cmpstr (json_object_get_string_member (body, "host"), ==, cases[i].host);
      else
        g_assert_false (json_object_has_member (body, "host"));
      if (cases[i].model != NULL)
        g_assert_cmpstr (json_object_get_string_member (body, "model_identifier"), ==,
                         cases[i].model);
      else
        g_assert_false (json_object_has_member (body, "model_identifier"));
    }
}

static void
test_never_loopback (void)
{
  static const char *const names[]
    = { "localhost", "LOCALHOST", "localhost.localdomain", "127.0.0.1", "::1",
        "127.0.1.1", "10.1.2.3",  "box.localhost",         "",          NULL };

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr (PresHostInfo) info = pres_host_info_new (names[i], NULL);
      PresHostPrivacy privacy = { .share_host_name = TRUE, .share_device_model = TRUE };
      g_autoptr (JsonObject) body = compose (info, &privacy, PRES_STATE_ONLINE, 1);

      g_test_message ("host name “%s”", names[i]);
      g_assert_false (json_object_has_member (body, "host"));
    }
  g_assert_false (pres_host_name_is_meaningless ("lena-laptop"));
}

static void
test_settings_keys (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("org.presence.Agent");
  g_auto (PresHostPrivacy) privacy = { 0 };

  g_settings_set_boolean (settings, "share-host-name", FALSE);
  g_settings_set_string (settings, "host-alias", "  desk  ");
  g_settings_set_boolean (settings, "share-device-model", FALSE);
  pres_host_privacy_init_from_settings (&privacy, settings);
  g_assert_false (privacy.share_host_name);
  g_assert_false (privacy.share_device_model);
  g_assert_cmpstr (privacy.host_alias, ==, "desk");
}

static void
test_long_strings_cut (void)
{
  g_autofree char *name = g_strnfill (400, 'a');
  g_autoptr (PresHostInfo) info = pres_host_info_new (name, "é");

  g_assert_cmpuint (strlen (info->host_name), ==, PRES_WIRE_MAX_STRING_BYTES);
  g_assert_cmpstr (info->model, ==, "é");
}

/* Status text is bounded in characters: 140 of three bytes each go out
 * whole and survive the server's parser, not cut at the 256 bytes of the
 * other strings. */
static void
test_status_text_whole (void)
{
  g_autoptr (PresHostInfo) info = pres_host_info_new ("lena-laptop", NULL);
  PresHostPrivacy privacy = { .share_host_name = TRUE };
  g_autoptr (PresHeartbeat) hb = pres_heartbeat_new ();
  g_autoptr (PresHeartbeat) parsed = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;

  for (guint i = 0; i < PRES_STATUS_TEXT_MAX_CHARS; i++)
    g_string_append (text, "日");
  hb->session = g_strdup ("0123456789abcdef");
  pres_host_info_fill (info, &privacy, PRES_STATE_BUSY, 3, text->str, hb);
  g_assert_cmpstr (hb->status_text, ==, text->str);
  json = pres_heartbeat_to_json (hb);
  parsed = pres_heartbeat_parse (json, strlen (json), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (parsed->status_text, ==, text->str);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/privacy/states", test_states);
  g_test_add_func ("/privacy/appear-offline", test_appear_offline);
  g_test_add_func ("/privacy/settings", test_settings);
  g_test_add_func ("/privacy/never-loopback", test_never_loopback);
  g_test_add_func ("/privacy/settings-keys", test_settings_keys);
  g_test_add_func ("/privacy/long-strings-cut", test_long_strings_cut);
  g_test_add_func ("/privacy/status-text-whole", test_status_text_whole);
  return g_test_run ();
}
