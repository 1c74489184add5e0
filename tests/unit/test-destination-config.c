/* Unit tests of reading the destinations from the settings (a memory
 * backend): the old keys as the one destination, named ones, and the ones
 * that cannot run. */
#include <string.h>

#include "pres-destination-config.h"
#include "pres-settings.h"

static GSettings *
fresh_settings (void)
{
  g_autoptr (GError) error = NULL;
  GSettings *settings = pres_settings_new (&error);

  g_assert_no_error (error);
  g_settings_reset (settings, "destinations");
  g_settings_reset (settings, "transport");
  g_settings_reset (settings, "server-url");
  return settings;
}

static void
set_destination (GSettings *settings, const char *name, const char *kind, const char *url)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSettings) own = pres_destination_settings_new (settings, name, &error);

  g_assert_no_error (error);
  g_settings_set_string (own, "kind", kind);
  g_settings_set_string (own, "url", url);
}

static PresDestinationConfig *
nth (GPtrArray *configs, guint i)
{
  return g_ptr_array_index (configs, i);
}

static void
test_legacy (void)
{
  g_autoptr (GSettings) settings = fresh_settings ();
  g_autoptr (GPtrArray) configs = NULL;
  g_autoptr (GVariant) listed = NULL;

  g_settings_set_string (settings, "transport", "openclaw");
  configs = pres_destination_configs_read (settings, NULL, NULL);
  g_assert_cmpuint (configs->len, ==, 1);
  g_assert_cmpstr (nth (configs, 0)->name, ==, "default");
  g_assert_cmpstr (nth (configs, 0)->kind, ==, "openclaw");
  /* The server-url key stays the one to follow. */
  g_assert_null (nth (configs, 0)->url);
  g_assert_true (nth (configs, 0)->from_legacy);
  g_assert_null (nth (configs, 0)->problem);
  /* Nothing was rewritten. */
  listed = g_settings_get_user_value (settings, "destinations");
  g_assert_null (listed);
}

static void
test_named (void)
{
  g_autoptr (GSettings) settings = fresh_settings ();
  g_autoptr (GPtrArray) configs = NULL;
  const char *names[] = { "team", "claw", NULL };

  set_destination (settings, "team", "http", "https://presence.example");
  set_destination (settings, "claw", "openclaw", "ws://127.0.0.1:18789");
  g_settings_set_strv (settings, "destinations", names);
  /* Once the list names destinations, the old keys no longer count. */
  g_settings_set_string (settings, "transport", "openclaw");
  configs = pres_destination_configs_read (settings, NULL, NULL);
  g_assert_cmpuint (configs->len, ==, 2);
  g_assert_cmpstr (nth (configs, 0)->name, ==, "team");
  g_assert_cmpstr (nth (configs, 0)->kind, ==, "http");
  g_assert_cmpstr (nth (configs, 0)->url, ==, "https://presence.example");
  g_assert_false (nth (configs, 0)->from_legacy);
  g_assert_cmpstr (nth (configs, 1)->name, ==, "claw");
  g_assert_cmpstr (nth (configs, 1)->kind, ==, "openclaw");
  g_assert_null (nth (configs, 1)->problem);
}

static void
test_cannot_run (void)
{
  g_autoptr (GSettings) settings = fresh_settings ();
  g_autoptr (GPtrArray) configs = NULL;
  const char *names[] = { "team", "team", "bad/name", "pigeon", NULL };

  set_destination (settings, "team", "http", "https://presence.example");
  set_destination (settings, "pigeon", "carrier-pigeon", "coo://roof");
  g_settings_set_strv (settings, "destinations", names);
  configs = pres_destination_configs_read (settings, NULL, NULL);
  /* Listed twice, it runs once. */
  g_assert_cmpuint (configs->len, ==, 3);
  g_assert_null (nth (configs, 0)->problem);
  g_assert_cmpstr (nth (configs, 1)->name, ==, "bad/name");
  g_assert_nonnull (strstr (nth (configs, 1)->problem, "cannot name a destination"));
  g_assert_cmpstr (nth (configs, 2)->name, ==, "pigeon");
  g_assert_nonnull (strstr (nth (configs, 2)->problem, "Unknown transport “carrier-pigeon”"));
}

static void
test_command_line (void)
{
  g_autoptr (GSettings) settings = fresh_settings ();
  g_autoptr (GPtrArray) configs = NULL;
  const char *names[] = { "team", "home", NULL };

  set_destination (settings, "team", "http", "https://presence.example");
  set_destination (settings, "home", "http", "https://home.example");
  g_settings_set_strv (settings, "destinations", names);
  /* --transport and --server name the first destination's kind and URL. */
  configs = pres_destination_configs_read (settings, "openclaw", "ws://127.0.0.1:1");
  g_assert_cmpuint (configs->len, ==, 2);
  g_assert_cmpstr (nth (configs, 0)->kind, ==, "openclaw");
  g_assert_cmpstr (nth (configs, 0)->url, ==, "ws://127.0.0.1:1");
  g_assert_cmpstr (nth (configs, 1)->url, ==, "https://home.example");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/destination-config/legacy", test_legacy);
  g_test_add_func ("/destination-config/named", test_named);
  g_test_add_func ("/destination-config/cannot-run", test_cannot_run);
  g_test_add_func ("/destination-config/command-line", test_command_line);

  return g_test_run ();
}
