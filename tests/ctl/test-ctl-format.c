/* Unit tests of presencectl's output: the status table, status --json and
 * the lines of watch, from hand-made property sets and a pinned clock. */
#include <string.h>
#include <json-glib/json-glib.h>

#include "pres-ctl-format.h"
#include "pres-ctl-words.h"

/* 2026-11-23 16:30:00 UTC */
#define NOW_UNIX G_GINT64_CONSTANT (1795451400)

static GDateTime *
pinned_now (void)
{
  return g_date_time_new_from_unix_utc (NOW_UNIX);
}

static GVariant *
full_props (const char *manual,
            gint64      until,
            const char *last_error,
            gint64      heartbeat_ms)
{
  g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (&b, "{sv}", "State", g_variant_new_string (*manual ? manual : "online"));
  g_variant_builder_add (&b, "{sv}", "AutoState", g_variant_new_string ("online"));
  g_variant_builder_add (&b, "{sv}", "ManualState", g_variant_new_string (manual));
  g_variant_builder_add (&b, "{sv}", "ManualUntil", g_variant_new_int64 (until));
  g_variant_builder_add (&b, "{sv}", "StatusText", g_variant_new_string ("In a “meeting”"));
  g_variant_builder_add (&b, "{sv}", "IdleTimeout", g_variant_new_uint32 (300));
  g_variant_builder_add (&b, "{sv}", "IdleSource", g_variant_new_string ("mutter"));
  g_variant_builder_add (&b, "{sv}", "Locked", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&b, "{sv}", "Connection", g_variant_new_string ("error"));
  g_variant_builder_add (&b, "{sv}", "LastError", g_variant_new_string (last_error));
  g_variant_builder_add (&b, "{sv}", "LastHeartbeat", g_variant_new_int64 (heartbeat_ms));
  g_variant_builder_add (&b, "{sv}", "InstanceId",
                         g_variant_new_string ("0f8fad5b-d9cb-469f-a165-70867728950e"));
  g_variant_builder_add (&b, "{sv}", "Server", g_variant_new_string ("https://presence.example"));
  g_variant_builder_add (&b, "{sv}", "Version", g_variant_new_string ("0.1.0"));
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

static void
test_status_full (void)
{
  g_autoptr (GDateTime) now = pinned_now ();
  g_autoptr (GVariant) props = full_props ("busy", NOW_UNIX + 5400, "connection refused",
                                           (NOW_UNIX - 12) * 1000 + 500);
  g_autofree char *out = pres_ctl_format_status (props, now);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  const char *expected =
    "State:          busy\n"
    "Manual:         busy until 18:00 (in 1 h 30 min)\n"
    "Auto state:     online\n"
    "Status text:    In a “meeting”\n"
    "Idle source:    mutter\n"
    "Idle timeout:   5 min\n"
    "Locked:         yes\n"
    "Connection:     error (connection refused)\n"
    "Last heartbeat: 2026-11-23 16:29:48 (12s ago)\n"
    "Server:         https://presence.example\n"
    "Instance id:    0f8fad5b-d9cb-469f-a165-70867728950e\n"
    "Agent version:  0.1.0\n";

  g_assert_cmpstr (out, ==, expected);
  g_assert_cmpuint (g_strv_length (lines), ==, 13);
}

static void
test_status_auto (void)
{
  g_autoptr (GDateTime) now = pinned_now ();
  g_autoptr (GVariant) props = full_props ("", 0, "", 0);
  g_autofree char *out = pres_ctl_format_status (props, now);

  g_assert_nonnull (strstr (out, "State:          online\n"));
  g_assert_nonnull (strstr (out, "Manual:         none (automatic)\n"));
  g_assert_nonnull (strstr (out, "Connection:     error\n"));
  g_assert_nonnull (strstr (out, "Last heartbeat: never\n"));
}

static void
test_status_until_auto (void)
{
  g_autoptr (GDateTime) now = pinned_now ();
  g_autoptr (GVariant) props = full_props ("appear_offline", 0, "", 0);
  g_autofree char *out = pres_ctl_format_status (props, now);

  g_assert_nonnull (strstr (out, "Manual:         appear offline until you run “presencectl auto”"));
}

static void
test_status_tray (void)
{
  g_autoptr (GDateTime) now = pinned_now ();
  GVariantBuilder b;
  g_autoptr (GVariant) shown = NULL;
  g_autoptr (GVariant) missing = NULL;
  g_autofree char *out_shown = NULL;
  g_autofree char *out_missing = NULL;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "State", g_variant_new_string ("online"));
  g_variant_builder_add (&b, "{sv}", "TrayHint", g_variant_new_string (""));
  shown = g_variant_ref_sink (g_variant_builder_end (&b));
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "State", g_variant_new_string ("online"));
  g_variant_builder_add (&b, "{sv}", "TrayHint",
                         g_variant_new_string ("GNOME Shell shows tray icons only with …"));
  missing = g_variant_ref_sink (g_variant_builder_end (&b));

  /* A shown icon needs no line; a missing one says what to do. */
  out_shown = pres_ctl_format_status (shown, now);
  out_missing = pres_ctl_format_status (missing, now);
  g_assert_cmpstr (out_shown, ==, "State: online\n");
  g_assert_cmpstr (out_missing, ==,
                   "State: online\nTray:  GNOME Shell shows tray icons only with …\n");
}

static void
test_idle_time (void)
{
  g_autofree char *exact = pres_ctl_format_idle_time (TRUE, 42, "mutter", FALSE);
  g_autofree char *estimate = pres_ctl_format_idle_time (TRUE, 0, "ext-idle-notify", FALSE);
  g_autofree char *unknown = pres_ctl_format_idle_time (FALSE, 0, "none", FALSE);
  g_autofree char *json_estimate = pres_ctl_format_idle_time (TRUE, 300, "kde-idle", TRUE);
  g_autofree char *json_exact = pres_ctl_format_idle_time (TRUE, 7, "x11-sync", TRUE);
  g_autofree char *json_unknown = pres_ctl_format_idle_time (FALSE, 0, "none", TRUE);

  g_assert_cmpstr (exact, ==, "42");
  g_assert_true (g_str_has_prefix (estimate, "0 (an estimate: the ext-idle-notify idle source"));
  g_assert_true (g_str_has_prefix (unknown, "unknown ("));
  g_assert_cmpstr (json_estimate, ==, "{\"seconds\":300,\"estimate\":true,\"source\":\"kde-idle\"}");
  g_assert_cmpstr (json_exact, ==, "{\"seconds\":7,\"estimate\":false,\"source\":\"x11-sync\"}");
  g_assert_cmpstr (json_unknown, ==, "{\"seconds\":null,\"estimate\":false,\"source\":\"none\"}");
}

static void
test_words (void)
{
  g_autoptr (GDateTime) now = pinned_now ();
  gint64 at = g_date_time_to_unix (now);
  g_autofree char *forever = pres_ctl_format_manual ("appear_offline", 0, now);
  g_autofree char *today = pres_ctl_format_manual ("busy", at + 2 * 3600 + 50 * 60, now);
  g_autofree char *tomorrow = pres_ctl_format_manual ("busy", at + 20 * 3600, now);
  g_autofree char *later = pres_ctl_format_manual ("busy", at + 3 * 86400 + 3600, now);

  g_assert_cmpstr (pres_ctl_state_words ("appear_offline"), ==, "appear offline");
  g_assert_cmpstr (pres_ctl_state_words ("from-a-newer-agent"), ==, "from-a-newer-agent");
  g_assert_cmpstr (forever, ==, "appear offline until you run “presencectl auto”");
  /* pinned_now() is 2026-11-23 16:30:00 UTC. */
  g_assert_cmpstr (today, ==, "busy until 19:20 (in 2 h 50 min)");
  g_assert_cmpstr (tomorrow, ==, "busy until tomorrow 12:30 (in 20 h)");
  g_assert_cmpstr (later, ==, "busy until 2026-11-26 17:30 (in 3 d 1 h)");
  for (guint i = 0; i < 5; i++)
    {
      static const guint64 spans[] = { 0, 45, 90, 3600, 93784 };
      static const char *const words[] = { "0 s", "45 s", "1 min 30 s", "1 h", "1 d 2 h" };
      g_autofree char *span = pres_ctl_format_span (spans[i]);

      g_assert_cmpstr (span, ==, words[i]);
    }
}

static void
test_status_time_zone (void)
{
  g_autoptr (GTimeZone) tz = g_time_zone_new_identifier ("-03:30");
  g_autoptr (GDateTime) utc = pinned_now ();
  g_autoptr (GDateTime) now = g_date_time_to_timezone (utc, tz);
  g_autoptr (GVariant) props = full_props ("busy", NOW_UNIX - 60, "", 0);
  g_autofree char *out = pres_ctl_format_status (props, now);

  /* Times show in the caller's zone; a past expiry says how long ago. */
  g_assert_nonnull (strstr (out, "busy until 12:59 (ended 1 min ago)\n"));
}

static void
test_status_partial (void)
{
  g_autoptr (GDateTime) now = pinned_now ();
  g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GVariant) props = NULL;
  g_autofree char *out = NULL;

  /* An older agent, or a wrong type: the line is left out, no crash. */
  g_variant_builder_add (&b, "{sv}", "State", g_variant_new_string ("idle"));
  g_variant_builder_add (&b, "{sv}", "Locked", g_variant_new_string ("yes"));
  g_variant_builder_add (&b, "{sv}", "Future", g_variant_new_string ("x"));
  props = g_variant_ref_sink (g_variant_builder_end (&b));
  out = pres_ctl_format_status (props, now);
  g_assert_cmpstr (out, ==, "State: idle\n");
}

static void
test_status_empty (void)
{
  g_autoptr (GDateTime) now = pinned_now ();
  g_autoptr (GVariant) props = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"),
                                                                        NULL, 0));
  g_autofree char *out = pres_ctl_format_status (props, now);

  g_assert_cmpstr (out, ==, "");
}

static void
test_status_json (void)
{
  g_autoptr (GVariant) props = full_props ("busy", NOW_UNIX + 3600, "refused",
                                           G_GINT64_CONSTANT (1795451388123));
  g_autofree char *out = pres_ctl_format_status_json (props);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GList) members = NULL;
  JsonObject *obj;
  const char *order[] = {
    "State", "AutoState", "ManualState", "ManualUntil", "StatusText", "IdleTimeout", "IdleSource",
    "Locked", "Connection", "LastError", "LastHeartbeat", "InstanceId", "Server", "Version",
  };
  guint i = 0;

  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  obj = json_node_get_object (json_parser_get_root (parser));

  /* Every property, in the order of the interface. */
  members = json_object_get_members (obj);
  g_assert_cmpuint (g_list_length (members), ==, G_N_ELEMENTS (order));
  for (GList *l = members; l != NULL; l = l->next, i++)
    g_assert_cmpstr (l->data, ==, order[i]);

  /* With their JSON types. */
  g_assert_cmpstr (json_object_get_string_member (obj, "State"), ==, "busy");
  g_assert_cmpstr (json_object_get_string_member (obj, "StatusText"), ==, "In a “meeting”");
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (obj, "ManualUntil")), ==,
                   G_TYPE_INT64);
  g_assert_cmpint (json_object_get_int_member (obj, "ManualUntil"), ==, NOW_UNIX + 3600);
  g_assert_cmpint (json_object_get_int_member (obj, "LastHeartbeat"), ==,
                   G_GINT64_CONSTANT (1795451388123));
  g_assert_cmpint (json_object_get_int_member (obj, "IdleTimeout"), ==, 300);
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (obj, "Locked")), ==,
                   G_TYPE_BOOLEAN);
  g_assert_true (json_object_get_boolean_member (obj, "Locked"));
}

static void
test_status_json_partial (void)
{
  g_auto (GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr (GVariant) props = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *out = NULL;
  JsonObject *obj;

  /* Unknown names and wrongly typed values stay out of the JSON. */
  g_variant_builder_add (&b, "{sv}", "State", g_variant_new_string ("online"));
  g_variant_builder_add (&b, "{sv}", "ManualUntil", g_variant_new_string ("soon"));
  g_variant_builder_add (&b, "{sv}", "Secret", g_variant_new_string ("x"));
  props = g_variant_ref_sink (g_variant_builder_end (&b));
  out = pres_ctl_format_status_json (props);

  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpuint (json_object_get_size (obj), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (obj, "State"), ==, "online");
}

static void
test_state_change (void)
{
  g_autoptr (GDateTime) now = pinned_now ();
  g_autofree char *line = pres_ctl_format_state_change (now, "busy", "online", "manual", FALSE);
  g_autofree char *json = pres_ctl_format_state_change (now, "idle", "busy", "expired", TRUE);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj;

  g_assert_cmpstr (line, ==, "16:30:00  busy (was online, reason: manual)");

  g_assert_null (strchr (json, '\n'));
  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (obj, "event"), ==, "state-changed");
  g_assert_cmpstr (json_object_get_string_member (obj, "state"), ==, "idle");
  g_assert_cmpstr (json_object_get_string_member (obj, "previous"), ==, "busy");
  g_assert_cmpstr (json_object_get_string_member (obj, "reason"), ==, "expired");
  g_assert_true (g_str_has_prefix (json_object_get_string_member (obj, "time"),
                                   "2026-11-23T16:30:00"));
}

static void
test_agent_event (void)
{
  g_autoptr (GDateTime) now = pinned_now ();
  g_autofree char *gone = pres_ctl_format_agent_event (now, FALSE, "busy", FALSE);
  g_autofree char *back = pres_ctl_format_agent_event (now, TRUE, "busy", FALSE);
  g_autofree char *unknown = pres_ctl_format_agent_event (now, TRUE, NULL, FALSE);
  g_autofree char *json = pres_ctl_format_agent_event (now, FALSE, "busy", TRUE);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj;

  g_assert_cmpstr (gone, ==, "16:30:00  presence-agent is not running");
  g_assert_cmpstr (back, ==, "16:30:00  presence-agent is running, state busy");
  g_assert_cmpstr (unknown, ==, "16:30:00  presence-agent is running");

  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  obj = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (obj, "event"), ==, "agent-stopped");
  g_assert_false (json_object_has_member (obj, "state"));
}

static void
test_time (void)
{
  g_autoptr (GDateTime) now = pinned_now ();
  g_autofree char *ahead = pres_ctl_format_time (NOW_UNIX + 86400 + 1, now);
  g_autofree char *past = pres_ctl_format_time (NOW_UNIX - 3600, now);
  g_autofree char *same = pres_ctl_format_time (NOW_UNIX, now);
  g_autofree char *absurd = pres_ctl_format_time (G_MAXINT64, now);

  g_assert_cmpstr (ahead, ==, "2026-11-24 16:30:01 (in 1d1s)");
  g_assert_cmpstr (past, ==, "2026-11-23 15:30:00 (1h ago)");
  g_assert_cmpstr (same, ==, "2026-11-23 16:30:00 (now)");
  /* Out of GDateTime's range: the number, not a crash. */
  g_assert_cmpstr (absurd, ==, "9223372036854775807");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ctl/format/status-full", test_status_full);
  g_test_add_func ("/ctl/format/status-auto", test_status_auto);
  g_test_add_func ("/ctl/format/status-until-auto", test_status_until_auto);
  g_test_add_func ("/ctl/format/words", test_words);
  g_test_add_func ("/ctl/format/idle-time", test_idle_time);
  g_test_add_func ("/ctl/format/status-tray", test_status_tray);
  g_test_add_func ("/ctl/format/status-time-zone", test_status_time_zone);
  g_test_add_func ("/ctl/format/status-partial", test_status_partial);
  g_test_add_func ("/ctl/format/status-empty", test_status_empty);
  g_test_add_func ("/ctl/format/status-json", test_status_json);
  g_test_add_func ("/ctl/format/status-json-partial", test_status_json_partial);
  g_test_add_func ("/ctl/format/state-change", test_state_change);
  g_test_add_func ("/ctl/format/agent-event", test_agent_event);
  g_test_add_func ("/ctl/format/time", test_time);

  return g_test_run ();
}
