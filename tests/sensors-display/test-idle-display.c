/*
 * The display idle sources fail cleanly where their backend cannot run, so
 * the chooser can go on to the next one: no display, a display that is not
 * there, and X11 under a Wayland session.
 */

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "pres-error.h"
#include "sensors/pres-idle-wayland.h"
#include "sensors/pres-idle-x11.h"

static void
clear_display_env (void)
{
  g_unsetenv ("DISPLAY");
  g_unsetenv ("WAYLAND_DISPLAY");
  g_unsetenv ("WAYLAND_SOCKET");
}

static void
assert_not_supported (PresIdleSource *source,
                      GError         *error,
                      const char     *expected_fragment)
{
  g_assert_null (source);
  g_assert_error (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED);
  if (expected_fragment != NULL)
    g_assert_nonnull (strstr (error->message, expected_fragment));
}

static void
test_x11_without_display (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PresIdleSource) source = NULL;

  clear_display_env ();
  source = pres_idle_x11_new (&error);
  assert_not_supported (source, error, NULL);
  g_clear_error (&error);
  source = pres_idle_x11_new_screensaver (&error);
  assert_not_supported (source, error, NULL);
}

static void
test_x11_display_not_there (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PresIdleSource) source = NULL;

  clear_display_env ();
  g_setenv ("DISPLAY", ":4711", TRUE);
  source = pres_idle_x11_new (&error);
#ifdef HAVE_X11
  assert_not_supported (source, error, ":4711");
#else
  assert_not_supported (source, error, "Built without");
#endif
}

static void
test_x11_refused_under_wayland (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PresIdleSource) source = NULL;

  clear_display_env ();
  g_setenv ("DISPLAY", ":4711", TRUE);
  g_setenv ("WAYLAND_DISPLAY", "wayland-4711", TRUE);
  source = pres_idle_x11_new (&error);
#ifdef HAVE_X11
  assert_not_supported (source, error, "Wayland");
#else
  assert_not_supported (source, error, "Built without");
#endif
}

static void
test_wayland_without_display (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PresIdleSource) source = NULL;

  clear_display_env ();
  source = pres_idle_wayland_new (&error);
  assert_not_supported (source, error, NULL);
}

static void
test_wayland_display_not_there (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PresIdleSource) source = NULL;
  g_autofree char *runtime_dir = g_dir_make_tmp ("pres-idle-XXXXXX", &error);

  g_assert_no_error (error);
  clear_display_env ();
  g_setenv ("XDG_RUNTIME_DIR", runtime_dir, TRUE);
  g_setenv ("WAYLAND_DISPLAY", "wayland-4711", TRUE);
  source = pres_idle_wayland_new (&error);
#ifdef HAVE_WAYLAND
  assert_not_supported (source, error, "wayland-4711");
#else
  assert_not_supported (source, error, "Built without");
#endif
  g_rmdir (runtime_dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/idle-display/x11/without-display", test_x11_without_display);
  g_test_add_func ("/idle-display/x11/display-not-there", test_x11_display_not_there);
  g_test_add_func ("/idle-display/x11/refused-under-wayland", test_x11_refused_under_wayland);
  g_test_add_func ("/idle-display/wayland/without-display", test_wayland_without_display);
  g_test_add_func ("/idle-display/wayland/display-not-there", test_wayland_display_not_there);

  return g_test_run ();
}
