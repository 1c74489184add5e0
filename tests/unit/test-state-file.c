#include <glib/gstdio.h>
#include <sys/stat.h>

#include "pres-state-file.h"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture      *fixture,
                gconstpointer data)
{
  fixture->dir = g_dir_make_tmp ("pres-state-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
  fixture->path = g_build_filename (fixture->dir, "sub", "state", NULL);
}

static void
fixture_tear_down (Fixture      *fixture,
                   gconstpointer data)
{
  g_autofree char *sub = g_path_get_dirname (fixture->path);

  g_remove (fixture->path);
  g_rmdir (sub);
  g_rmdir (fixture->dir);
  g_free (fixture->path);
  g_free (fixture->dir);
}

static void
write_file (Fixture    *fixture,
            const char *contents)
{
  g_autofree char *sub = g_path_get_dirname (fixture->path);

  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  g_assert_true (g_file_set_contents (fixture->path, contents, -1, NULL));
}

static void
test_round_trip (Fixture      *fixture,
                 gconstpointer data)
{
  PresSavedState saved = { PRES_MANUAL_BUSY, 1800000000, (char *) "Dentist, back at 3" };
  g_auto (PresSavedState) loaded = { 0 };
  g_autoptr (GError) error = NULL;
  GStatBuf st;

  g_assert_true (pres_state_file_save (fixture->path, &saved, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (fixture->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_assert_true (pres_state_file_load (fixture->path, &loaded, &error));
  g_assert_no_error (error);
  g_assert_cmpint (loaded.manual, ==, PRES_MANUAL_BUSY);
  g_assert_cmpint (loaded.manual_until, ==, 1800000000);
  g_assert_cmpstr (loaded.status_text, ==, "Dentist, back at 3");

  /* Overwriting replaces, never appends. */
  saved.manual = PRES_MANUAL_APPEAR_OFFLINE;
  saved.manual_until = 0;
  saved.status_text = NULL;
  g_assert_true (pres_state_file_save (fixture->path, &saved, &error));
  g_assert_true (pres_state_file_load (fixture->path, &loaded, &error));
  g_assert_cmpint (loaded.manual, ==, PRES_MANUAL_APPEAR_OFFLINE);
  g_assert_cmpint (loaded.manual_until, ==, 0);
  g_assert_cmpstr (loaded.status_text, ==, "");
}

static void
test_missing (Fixture      *fixture,
              gconstpointer data)
{
  g_auto (PresSavedState) loaded = { PRES_MANUAL_BUSY, 5, NULL };
  g_autoptr (GError) error = NULL;

  g_assert_true (pres_state_file_load (fixture->path, &loaded, &error));
  g_assert_no_error (error);
  g_assert_cmpint (loaded.manual, ==, PRES_MANUAL_NONE);
  g_assert_cmpint (loaded.manual_until, ==, 0);
  g_assert_null (loaded.status_text);
}

static void
assert_rejected (Fixture    *fixture,
                 const char *contents)
{
  g_auto (PresSavedState) loaded = { 0 };
  g_autoptr (GError) error = NULL;

  write_file (fixture, contents);
  g_assert_false (pres_state_file_load (fixture->path, &loaded, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, fixture->path));
  g_assert_cmpint (loaded.manual, ==, PRES_MANUAL_NONE);
  g_assert_cmpint (loaded.manual_until, ==, 0);
  g_assert_null (loaded.status_text);
}

static void
test_corrupt (Fixture      *fixture,
              gconstpointer data)
{
  assert_rejected (fixture, "\x01\x02 not a key file at all \xff");
  assert_rejected (fixture, "[Manual]\nstate=sleeping\nuntil=0\n");
  assert_rejected (fixture, "[Manual]\nstate=busy\nuntil=soon\n");
  assert_rejected (fixture, "[Manual]\nstate=busy\nuntil=-5\n");
  assert_rejected (fixture, "[Manual]\nstate=busy\nuntil=0\nstatus-text=a\\tb\n");
}

static void
test_unreadable (Fixture      *fixture,
                 gconstpointer data)
{
  g_auto (PresSavedState) loaded = { 0 };
  g_autoptr (GError) error = NULL;

  /* A directory where the file should be. */
  g_assert_cmpint (g_mkdir_with_parents (fixture->path, 0700), ==, 0);
  g_assert_false (pres_state_file_load (fixture->path, &loaded, &error));
  g_assert_nonnull (error);
  g_rmdir (fixture->path);
}

static void
test_manual_none_drops_expiry (Fixture      *fixture,
                               gconstpointer data)
{
  g_auto (PresSavedState) loaded = { 0 };
  g_autoptr (GError) error = NULL;

  write_file (fixture, "[Manual]\nstate=\nuntil=1800000000\n");
  g_assert_true (pres_state_file_load (fixture->path, &loaded, &error));
  g_assert_cmpint (loaded.manual, ==, PRES_MANUAL_NONE);
  g_assert_cmpint (loaded.manual_until, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/state-file/round-trip", Fixture, NULL, fixture_set_up, test_round_trip,
              fixture_tear_down);
  g_test_add ("/state-file/missing", Fixture, NULL, fixture_set_up, test_missing,
              fixture_tear_down);
  g_test_add ("/state-file/corrupt", Fixture, NULL, fixture_set_up, test_corrupt,
              fixture_tear_down);
  g_test_add ("/state-file/unreadable", Fixture, NULL, fixture_set_up, test_unreadable,
              fixture_tear_down);
  g_test_add ("/state-file/manual-none-drops-expiry", Fixture, NULL, fixture_set_up,
              test_manual_none_drops_expiry, fixture_tear_down);

  return g_test_run ();
}
