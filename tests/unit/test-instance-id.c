#include <unistd.h>

#include <glib/gstdio.h>

#include "pres-instance-id.h"

#define MACHINE_A "0123456789abcdef0123456789abcdef"
#define MACHINE_B "fedcba9876543210fedcba9876543210"

static void
assert_lower_uuid (const char *id)
{
  g_assert_true (g_uuid_string_is_valid (id));
  for (const char *p = id; *p; p++)
    g_assert_false (g_ascii_isupper (*p));
}

static void
test_derive (void)
{
  g_autofree char *a1 = pres_instance_id_derive (MACHINE_A, 1000);
  g_autofree char *a1_again = pres_instance_id_derive (MACHINE_A, 1000);
  g_autofree char *a2 = pres_instance_id_derive (MACHINE_A, 1001);
  g_autofree char *b1 = pres_instance_id_derive (MACHINE_B, 1000);
  g_autofree char *hex = NULL;

  assert_lower_uuid (a1);
  g_assert_cmpstr (a1, ==, a1_again);
  g_assert_cmpstr (a1, !=, a2);
  g_assert_cmpstr (a1, !=, b1);

  /* Nothing of the machine id shows through. */
  hex = g_strdelimit (g_strdup (a1), "-", '\0');
  g_assert_null (strstr (MACHINE_A, hex));
  g_assert_null (strstr (a1, "01234567"));
}

static void
test_from_machine_id (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pres-id-XXXXXX", NULL);
  g_autofree char *machine_id = g_build_filename (dir, "machine-id", NULL);
  g_autofree char *expected = pres_instance_id_derive (MACHINE_A, getuid ());
  g_autofree char *id = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (machine_id, MACHINE_A "\n", -1, NULL));
  id = pres_instance_id_get (machine_id, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (id, ==, expected);

  g_remove (machine_id);
  g_rmdir (dir);
}

static void
test_generated_without_machine_id (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pres-id-XXXXXX", NULL);
  g_autofree char *missing = g_build_filename (dir, "no-machine-id", NULL);
  g_autofree char *state_dir = g_build_filename (dir, "state", NULL);
  g_autofree char *kept = g_build_filename (state_dir, "instance-id", NULL);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autoptr (GError) error = NULL;

  first = pres_instance_id_get (missing, state_dir, &error);
  g_assert_no_error (error);
  assert_lower_uuid (first);
  second = pres_instance_id_get (missing, state_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, second);

  g_remove (kept);
  g_rmdir (state_dir);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/instance-id/derive", test_derive);
  g_test_add_func ("/instance-id/from-machine-id", test_from_machine_id);
  g_test_add_func ("/instance-id/generated-without-machine-id", test_generated_without_machine_id);

  return g_test_run ();
}
