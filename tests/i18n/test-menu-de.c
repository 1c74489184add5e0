/* The tray menu model in German: the labels come from the catalog the build
 * compiled from po/de.po, looked up the way the agent does (setlocale, then
 * the text domain), with LANGUAGE=de over C.UTF-8 as the only hint. */
#include "config.h"

#include <locale.h>

#include <glib/gi18n.h>

#include "menu-fixture.h"

static void
test_labels (MenuFixture  *fixture,
             gconstpointer data)
{
  /* Labels only: action names are not translated, and /menu/structure
   * checks them. */
  g_autofree char *out = menu_fixture_dump (fixture, FALSE);
  const char *durations = "  30 Minuten\n"
                          "  1 Stunde\n"
                          "  2 Stunden\n"
                          "  Bis morgen 09:00\n"
                          "  Bis zur nächsten Änderung\n";
  g_autofree char *expected = g_strconcat ("--\n"
                                           "Online seit 13:00\n"
                                           "Nicht verbunden\n"
                                           "Automatische Abwesenheit in dieser Arbeitsumgebung "
                                           "nicht verfügbar\n"
                                           "--\n"
                                           "Automatisch\n"
                                           "Beschäftigt\n"
                                           "Offline erscheinen\n"
                                           "Beschäftigt für …\n",
                                           durations,
                                           "Offline erscheinen für …\n",
                                           durations,
                                           "--\n"
                                           "Neu verbinden\n"
                                           "Beenden\n",
                                           NULL);

  g_assert_cmpstr (out, ==, expected);
  g_assert_cmpstr (pres_menu_get_title (fixture->menu), ==, "Anwesenheit: Online seit 13:00");
}

static void
test_states (MenuFixture  *fixture,
             gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, 0, &error));
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Beschäftigt");
  g_assert_cmpstr (pres_menu_get_title (fixture->menu), ==, "Anwesenheit: Beschäftigt");
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_APPEAR_OFFLINE, 0, &error));
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Erscheint offline");
  pres_model_set_asleep (fixture->model, TRUE);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Offline");
}

static void
test_idle (MenuFixture  *fixture,
           gconstpointer data)
{
  pres_model_set_idle (fixture->model, TRUE);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Abwesend");
  pres_fake_clock_advance (fixture->clock, MINUTE_MS);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Abwesend seit 1 min");
  pres_fake_clock_advance (fixture->clock, 11 * MINUTE_MS);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Abwesend seit 12 min");
  pres_fake_clock_advance (fixture->clock, 113 * MINUTE_MS);
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Abwesend seit 2 h 5 min");
}

static void
test_until (MenuFixture  *fixture,
            gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, 4 * 3600, &error));
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Beschäftigt bis 17:00");
  g_assert_cmpstr (pres_menu_get_title (fixture->menu), ==,
                   "Anwesenheit: Beschäftigt bis 17:00");
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_APPEAR_OFFLINE, 20 * 3600,
                                        &error));
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==,
                   "Erscheint offline bis morgen 09:00");
  /* The German date format from the catalog; the day and month names come
   * from LC_TIME, which is C.UTF-8 here. */
  g_assert_true (pres_model_set_manual (fixture->model, PRES_MANUAL_BUSY, 48 * 3600, &error));
  g_assert_cmpstr (pres_menu_get_header (fixture->menu), ==, "Beschäftigt bis Wed, 7. Jan, 13:00");
}

static void
test_connection (MenuFixture  *fixture,
                 gconstpointer data)
{
  g_autoptr (GMenuModel) section =
    g_menu_model_get_item_link (pres_menu_get_model (fixture->menu), 0, G_MENU_LINK_SECTION);
  g_autofree char *line = NULL;

  pres_link_set_connection (fixture->link, PRES_CONNECTION_CONNECTED);
  g_menu_model_get_item_attribute (section, 1, G_MENU_ATTRIBUTE_LABEL, "s", &line);
  g_assert_cmpstr (line, ==, "Verbunden mit presence.example.org");
}

int
main (int   argc,
      char *argv[])
{
  const char *localedir = g_getenv ("PRES_TEST_LOCALEDIR");

  /* LANGUAGE is honoured when LC_MESSAGES is not "C"; C.UTF-8 is not "C"
   * for that rule and needs no generated locale. */
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  g_setenv ("LANGUAGE", "de", TRUE);
  g_setenv ("TZ", "Europe/Berlin", TRUE);
  g_test_init (&argc, &argv, NULL);

  if (setlocale (LC_ALL, "") == NULL)
    g_error ("C.UTF-8 is not available");
  g_assert_nonnull (localedir);
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

#define ADD(path, func) \
  g_test_add ("/i18n/menu/" path, MenuFixture, NULL, menu_fixture_set_up, func, \
              menu_fixture_tear_down)
  ADD ("labels", test_labels);
  ADD ("states", test_states);
  ADD ("idle", test_idle);
  ADD ("until", test_until);
  ADD ("connection", test_connection);
#undef ADD

  return g_test_run ();
}
