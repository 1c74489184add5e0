#include <glib/gstdio.h>
#include <unistd.h>

#include "fuzz.h"
#include "pres-state-file.h"

/* The agent's state file on any bytes (a file the user can edit, or one
 * cut short by a crash): it loads as a valid manual state and status text,
 * or fails with an error, and what loads saves and loads back the same. */

static char *dir;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  dir = g_dir_make_tmp ("pres-fuzz-state-XXXXXX", NULL);
  g_assert_nonnull (dir);
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree char *path = g_build_filename (dir, "state", NULL);
  g_auto (PresSavedState) saved = { 0 };
  g_auto (PresSavedState) again = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, (const char *) data, size, NULL));
  if (!pres_state_file_load (path, &saved, &error))
    {
      g_assert_nonnull (error);
      g_assert_cmpint (g_unlink (path), ==, 0);
      return 0;
    }
  if (saved.status_text != NULL)
    g_assert_true (pres_status_text_validate (saved.status_text, NULL));
  g_assert_true (pres_state_file_save (path, &saved, &error));
  g_assert_no_error (error);
  g_assert_true (pres_state_file_load (path, &again, &error));
  g_assert_no_error (error);
  g_assert_cmpint (again.manual, ==, saved.manual);
  g_assert_cmpint (again.manual_until, ==, saved.manual_until);
  /* No status text is saved as an empty one. */
  g_assert_cmpstr (again.status_text != NULL ? again.status_text : "", ==,
                   saved.status_text != NULL ? saved.status_text : "");
  g_assert_cmpint (g_unlink (path), ==, 0);
  return 0;
}
