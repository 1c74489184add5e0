#include "menu-fixture.h"

#define T0_S (T0_US / G_USEC_PER_SEC)

/* The status lines: the first section's labels, joined by " | ". */
static char *
status_lines (MenuFixture *fixture)
{
  g_autoptr (GMenuModel) section =
    g_menu_model_get_item_link (pres_menu_get_model (fixture->menu), 0, G_MENU_LINK_SECTION);
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);

  for (int i = 0; i < g_menu_model_get_n_items (section); i++)
    {
      char *label = NULL;

      g_menu_model_get_item_attribute (section, i, G_MENU_ATTRIBUTE_LABEL, "s", &label);
      g_ptr_array_add (labels, label);
    }
  g_ptr_array_add (labels, NULL);
  return g_strjoinv (" | ", (char **) labels->pdata);
}

static char *
mode (MenuFixture *fixture)
{
  g_autoptr (GVariant) state =
    g_action_group_get_action_state (pres_menu_get_action_group (fixture->menu), "mode");

  return g_variant_dup_string (state, NULL);
}

static void
activate (MenuFixture *fixture,
          const char  *action,
          const char  *target)
{
  g_action_group_activate_action (pres_menu_get_action_group (fixture->menu), action,
                                  target ? g_variant_new_string (target) : NULL);
}

#define assert_status(fixture, expected) \
  G_STMT_START \
  { \
    g_autofree char *status_ = status_lines (fixture); \
    g_assert_cmpstr (status_, ==, expected); \
  } \
  G_STMT_END

#define assert_mode(fixture, expected) \
  G_STMT_START \
  { \
    g_autofree char *mode_ = mode (fixture); \
    g_assert_cmpstr (mode_, ==, expected); \
  } \
  G_STMT_END

static void
test_structure (MenuFixture  *fixture,
                gconstpointer data)
{
  g_autofree char *out = menu_fixture_dump (fixture, TRUE);
  const char *durations[][2] = { { "30 minutes", "1800" },
                                 { "1 hour", "3600" },
                                 { "2 hours", "7200" },
                                 { "Until tomorrow 09:00", "tomorrow-0900" },
                                 { "Until I change it", "0" } };
  const char *submenus[][2] = { { "Busy for…", "busy-for" },
                                { "Appear offline for…", "appear-offline-for" } };
  g_autoptr (GString) expected = g_string_new ("--\n"
                                               "Online since 13:00\n"
                                               "Not connected\n"
                                               "Auto-idle unavailable on this desktop\n"
                                               "--\n"
                                               "Automatic [presence.mode auto]\n"
                                               "Busy [presence.mode busy]\n"
                                               "Appear offline [presence.mode appear-offline]\n");

  for (gsize m = 0; m < G_N_ELEMENTS (submenus); m++)
    {
      g_string_append_printf (expected, "%s\n", submenus[m][0]);
      for (gsize i = 0; i < G_N_ELEMENTS (durations); i++)
        g_string_append_printf (expected, "  %s [presence.%s %s]\n", durations[i][0],
                                submenus[m][1], durations[i][1]);
    }
  g_string_append (expected, "--\nReconnect [presence.reconnect]\nQuit [presence.quit]\n");

  g_assert_cmpstr (out, ==, expected->str);
  assert_mode (fixture, "auto");
  g_assert_cmpstr (pres_menu_get_icon_name (fixture->menu), ==, "org.presence.Agent-online");
  g_assert_cmpstr (pres_menu_get_title (fixture->menu), ==, "Presence: Online since 13:00");
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Online since 13:00");
}

static void
test_states (MenuFixture  *fixture,
             gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  pres_model_set_idle (fixture->model, TRUE);
  assert_status (fixture, "Idle | Not connected");
  g_assert_cmpstr (pres_menu_get_icon_name (fixture->menu), ==, "org.presence.Agent-idle");
  assert_mode (fixture, "auto");

  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, 0, &error));
  assert_status (fixture, "Busy | Not connected");
  g_assert_cmpstr (pres_menu_get_icon_name (fixture->menu), ==, "org.presence.Agent-busy");
  g_assert_cmpstr (pres_menu_get_title (fixture->menu), ==, "Presence: Busy");
  assert_mode (fixture, "busy");

  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_APPEAR_OFFLINE, 0, &error));
  assert_status (fixture, "Appearing offline | Not connected");
  g_assert_cmpstr (pres_menu_get_icon_name (fixture->menu), ==,
                   "org.presence.Agent-appear-offline");
  assert_mode (fixture, "appear-offline");

  /* Asleep: offline, whatever was chosen; the choice stays selected. */
  pres_model_set_asleep (fixture->model, TRUE);
  assert_status (fixture, "Offline | Not connected");
  g_assert_cmpstr (pres_menu_get_icon_name (fixture->menu), ==, "org.presence.Agent-offline");
  assert_mode (fixture, "appear-offline");

  pres_model_set_asleep (fixture->model, FALSE);
  pres_model_set_auto (fixture->model);
  pres_model_set_idle (fixture->model, FALSE);
  assert_status (fixture, "Online since 13:00 | Not connected");
  assert_mode (fixture, "auto");
}

static void
test_idle_minutes (MenuFixture  *fixture,
                   gconstpointer data)
{
  pres_fake_clock_advance (fixture->clock, 5000);
  pres_model_set_idle (fixture->model, TRUE);
  pres_fake_clock_advance (fixture->clock, MINUTE_MS - 1);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Idle");
  pres_fake_clock_advance (fixture->clock, 1);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Idle for 1 min");
  pres_fake_clock_advance (fixture->clock, 11 * MINUTE_MS);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Idle for 12 min");
  g_assert_cmpstr (pres_menu_get_title (fixture->menu), ==, "Presence: Idle for 12 min");
  pres_fake_clock_advance (fixture->clock, 113 * MINUTE_MS);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Idle for 2 h 5 min");

  /* Back to online: the minute count's timer is gone; one is left, for the
   * date that "since" gains after midnight. */
  pres_model_set_idle (fixture->model, FALSE);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Online since 15:05");
  g_assert_cmpuint (pres_fake_clock_n_timers (fixture->clock), ==, 1);
  pres_fake_clock_advance (fixture->clock, 9 * 60 * MINUTE_MS);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Online since Mon 5 Jan, 15:05");
}

static void
test_manual_until (MenuFixture  *fixture,
                   gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, 4 * 3600, &error));
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Busy until 17:00");
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_APPEAR_OFFLINE, 20 * 3600,
                                        &error));
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==,
                   "Appearing offline until tomorrow 09:00");
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, 48 * 3600, &error));
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Busy until Wed 7 Jan, 13:00");

  /* The words follow the date: tomorrow's 09:00 becomes today's. */
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, 20 * 3600, &error));
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Busy until tomorrow 09:00");
  pres_fake_clock_advance (fixture->clock, 12 * 60 * MINUTE_MS);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Busy until 09:00");
}

static void
test_expiry (MenuFixture  *fixture,
             gconstpointer data)
{
  activate (fixture, "busy-for", "1800");
  assert_status (fixture, "Busy until 13:30 | Not connected");
  assert_mode (fixture, "busy");
  pres_fake_clock_advance (fixture->clock, 30 * MINUTE_MS);
  g_assert_cmpint (pres_model_get_state (fixture->model), ==, PRES_STATE_ONLINE);
  assert_status (fixture, "Online since 13:30 | Not connected");
  assert_mode (fixture, "auto");
  g_assert_cmpstr (pres_menu_get_icon_name (fixture->menu), ==, "org.presence.Agent-online");
}

static void
test_mode_action (MenuFixture  *fixture,
                  gconstpointer data)
{
  GActionGroup *group = pres_menu_get_action_group (fixture->menu);

  g_action_group_change_action_state (group, "mode", g_variant_new_string ("busy"));
  g_assert_cmpint (pres_model_get_manual (fixture->model), ==, PRES_MANUAL_BUSY);
  g_assert_cmpint (pres_model_get_manual_until (fixture->model), ==, 0);
  assert_mode (fixture, "busy");

  /* Choosing the current mode again keeps its expiry. */
  activate (fixture, "busy-for", "3600");
  activate (fixture, "mode", "busy");
  g_assert_cmpint (pres_model_get_manual_until (fixture->model), ==, T0_S + 3600);

  activate (fixture, "mode", "appear-offline");
  g_assert_cmpint (pres_model_get_state (fixture->model), ==, PRES_STATE_APPEAR_OFFLINE);
  g_assert_cmpint (pres_model_get_manual_until (fixture->model), ==, 0);
  assert_mode (fixture, "appear-offline");

  activate (fixture, "mode", "auto");
  g_assert_cmpint (pres_model_get_manual (fixture->model), ==, PRES_MANUAL_NONE);
  assert_mode (fixture, "auto");
}

static void
test_durations (MenuFixture  *fixture,
                gconstpointer data)
{
  const struct
  {
    const char *action;
    const char *target;
    PresManual  manual;
    gint64      until;
  } cases[] = {
    { "busy-for", "1800", PRES_MANUAL_BUSY, T0_S + 1800 },
    { "busy-for", "3600", PRES_MANUAL_BUSY, T0_S + 3600 },
    { "busy-for", "7200", PRES_MANUAL_BUSY, T0_S + 7200 },
    /* 09:00 CET the next day is 08:00 UTC. */
    { "busy-for", "tomorrow-0900", PRES_MANUAL_BUSY, T0_S + 20 * 3600 },
    { "busy-for", "0", PRES_MANUAL_BUSY, 0 },
    { "appear-offline-for", "1800", PRES_MANUAL_APPEAR_OFFLINE, T0_S + 1800 },
    { "appear-offline-for", "tomorrow-0900", PRES_MANUAL_APPEAR_OFFLINE, T0_S + 20 * 3600 },
    { "appear-offline-for", "0", PRES_MANUAL_APPEAR_OFFLINE, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      activate (fixture, cases[i].action, cases[i].target);
      g_assert_cmpint (pres_model_get_manual (fixture->model), ==, cases[i].manual);
      g_assert_cmpint (pres_model_get_manual_until (fixture->model), ==, cases[i].until);
    }

  /* Nothing the menu never offers changes the state. */
  g_test_expect_message ("pres-menu", G_LOG_LEVEL_WARNING, "*duration “soon”*");
  activate (fixture, "busy-for", "soon");
  g_test_assert_expected_messages ();
  g_assert_cmpint (pres_model_get_manual (fixture->model), ==, PRES_MANUAL_APPEAR_OFFLINE);
}

static void
test_connection (MenuFixture  *fixture,
                 gconstpointer data)
{
  const struct
  {
    PresConnection connection;
    const char    *line;
    const char    *icon;
  } cases[] = {
    { PRES_CONNECTION_CONNECTING, "Connecting to presence.example.org…", "online" },
    { PRES_CONNECTION_CONNECTED, "Connected to presence.example.org", "online" },
    { PRES_CONNECTION_ERROR, "Reconnecting to presence.example.org…", "disconnected" },
    { PRES_CONNECTION_UNAUTHORIZED, "Not signed in — run presencectl login", "disconnected" },
    { PRES_CONNECTION_DISCONNECTED, "Not connected", "online" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *expected = g_strdup_printf ("Online since 13:00 | %s", cases[i].line);
      g_autofree char *icon = g_strconcat ("org.presence.Agent-", cases[i].icon, NULL);

      pres_link_set_connection (fixture->link, cases[i].connection);
      assert_status (fixture, expected);
      g_assert_cmpstr (pres_menu_get_icon_name (fixture->menu), ==, icon);
    }

  pres_link_set_connection (fixture->link, PRES_CONNECTION_CONNECTED);
  pres_link_set_server (fixture->link, "http://127.0.0.1:8787");
  assert_status (fixture, "Online since 13:00 | Connected to 127.0.0.1");
  pres_link_set_server (fixture->link, "");
  assert_status (fixture, "Online since 13:00 | No presence server set");
}

static void
test_others_see (MenuFixture  *fixture,
                 gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  pres_link_set_connection (fixture->link, PRES_CONNECTION_CONNECTED);
  pres_link_set_public_state (fixture->link, "online");
  assert_status (fixture, "Online since 13:00 | Connected to presence.example.org");

  /* Another device of the same person is busy. */
  pres_link_set_public_state (fixture->link, "busy");
  assert_status (fixture, "Online since 13:00 | Others see you as busy (another device) | "
                          "Connected to presence.example.org");

  /* Appearing offline here: until the server answers, its old word is not
   * shown; then its own view says appear_offline, which others read as
   * offline, as this device wants. */
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_APPEAR_OFFLINE, 0, &error));
  assert_status (fixture, "Appearing offline | Connected to presence.example.org");
  pres_link_set_public_state (fixture->link, "appear_offline");
  assert_status (fixture, "Appearing offline | Connected to presence.example.org");

  pres_model_set_auto (fixture->model);
  pres_link_set_public_state (fixture->link, "idle");
  assert_status (fixture, "Online since 13:00 | Others see you as idle (another device) | "
                          "Connected to presence.example.org");

  /* A lost connection makes the server's last word unknown: no line. */
  pres_link_set_connection (fixture->link, PRES_CONNECTION_ERROR);
  assert_status (fixture, "Online since 13:00 | Reconnecting to presence.example.org…");
}

static void
test_auto_idle (MenuFixture  *fixture,
                gconstpointer data)
{
  /* With a source that sees input there is no warning line... */
  assert_status (fixture, "Online since 13:00 | Not connected");

  /* ...and with the "none" source there is. */
  {
    g_autoptr (PresIdleSource) none = pres_idle_source_new_none ();
    g_autoptr (PresMenu) menu = pres_menu_new (fixture->model, fixture->link, none,
                                               PRES_CLOCK (fixture->clock));
    MenuFixture other = *fixture;

    other.menu = menu;
    assert_status (&other, "Online since 13:00 | Not connected | Auto-idle unavailable on this desktop");
  }
}

static void
count (gpointer user_data)
{
  (*(guint *) user_data)++;
}

static void
test_requests (MenuFixture  *fixture,
               gconstpointer data)
{
  guint reconnects = 0, quits = 0;

  g_signal_connect_swapped (fixture->menu, "reconnect-requested", G_CALLBACK (count), &reconnects);
  g_signal_connect_swapped (fixture->menu, "quit-requested", G_CALLBACK (count), &quits);
  activate (fixture, "reconnect", NULL);
  g_assert_cmpuint (reconnects, ==, 1);
  g_assert_cmpuint (quits, ==, 0);
  activate (fixture, "quit", NULL);
  g_assert_cmpuint (quits, ==, 1);
  g_assert_cmpint (pres_model_get_state (fixture->model), ==, PRES_STATE_ONLINE);
}

static PresDestinationConfig *
config_without_transport (const char *name, const char *url)
{
  PresDestinationConfig *config = g_new0 (PresDestinationConfig, 1);

  config->name = g_strdup (name);
  config->kind = g_strdup ("http");
  config->url = g_strdup (url);
  config->options = g_variant_ref_sink (g_variant_new ("a{ss}", NULL));
  /* A destination that cannot run has a link and no transport. */
  config->problem = g_strdup ("not run in this test");
  return config;
}

static void
test_destinations (MenuFixture  *fixture,
                   gconstpointer data)
{
  g_autoptr (GPtrArray) configs
    = g_ptr_array_new_with_free_func ((GDestroyNotify) pres_destination_config_free);
  g_autoptr (PresDestinations) destinations = NULL;
  g_autoptr (GError) error = NULL;
  PresTransportSetup base = { 0 };

  g_ptr_array_add (configs, config_without_transport ("team", "https://team.example"));
  g_ptr_array_add (configs, config_without_transport ("home", "mqtt://home.example:1883"));
  destinations = pres_destinations_new (configs, &base, &error);
  g_assert_no_error (error);
  pres_menu_follow_destinations (fixture->menu, destinations);

  /* Each named, the failing one beside the one that works. */
  pres_link_set_connection (pres_destinations_get_link (destinations, 0),
                            PRES_CONNECTION_CONNECTED);
  assert_status (fixture, "Online since 13:00 | team: Connected to team.example | "
                          "home: Reconnecting to home.example…");
  pres_link_set_connection (pres_destinations_get_link (destinations, 1),
                            PRES_CONNECTION_UNAUTHORIZED);
  assert_status (fixture, "Online since 13:00 | team: Connected to team.example | "
                          "home: Not signed in — run presencectl login");
}

int
main (int   argc,
      char *argv[])
{
  /* Labels in English, times in a zone that is not UTC. */
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_setenv ("TZ", "Europe/Berlin", TRUE);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, seeing) \
  g_test_add ("/menu/" path, MenuFixture, (seeing) ? GINT_TO_POINTER (1) : NULL, \
              menu_fixture_set_up, func, menu_fixture_tear_down)
  ADD ("structure", test_structure, FALSE);
  ADD ("states", test_states, TRUE);
  ADD ("idle-minutes", test_idle_minutes, TRUE);
  ADD ("manual-until", test_manual_until, TRUE);
  ADD ("expiry", test_expiry, TRUE);
  ADD ("mode-action", test_mode_action, TRUE);
  ADD ("durations", test_durations, TRUE);
  ADD ("connection", test_connection, TRUE);
  ADD ("others-see", test_others_see, TRUE);
  ADD ("auto-idle", test_auto_idle, TRUE);
  ADD ("requests", test_requests, TRUE);
  ADD ("destinations", test_destinations, TRUE);
#undef ADD

  return g_test_run ();
}
