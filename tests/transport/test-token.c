#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "pres-token-source.h"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->dir = g_dir_make_tmp ("pres-token-XXXXXX", NULL);
  g_assert_nonnull (fixture->dir);
  fixture->path = g_build_filename (fixture->dir, "token", NULL);
  g_unsetenv ("PRESENCE_TOKEN");
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_unlink (fixture->path);
  g_rmdir (fixture->dir);
  g_free (fixture->path);
  g_free (fixture->dir);
}

static void
write_token (Fixture *fixture, const char *contents, int mode)
{
  g_assert_true (g_file_set_contents (fixture->path, contents, -1, NULL));
  g_assert_cmpint (g_chmod (fixture->path, mode), ==, 0);
}

static void
test_owner_only (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;

  write_token (fixture, "  s3cret-token\n", 0600);
  token = pres_token_file_read (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token, ==, "s3cret-token");

  g_clear_pointer (&token, g_free);
  write_token (fixture, "s3cret-token", 0400);
  token = pres_token_file_read (fixture->path, &error);
  g_assert_no_error (error);
}

static void
test_open_to_others (Fixture *fixture, gconstpointer data)
{
  static const int modes[] = { 0644, 0640, 0604, 0660, 0606, 0610 };

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *token = NULL;

      write_token (fixture, "s3cret-token", modes[i]);
      token = pres_token_file_read (fixture->path, &error);
      g_assert_null (token);
      g_assert_nonnull (error);
      /* The message tells the user what to do, and never quotes the token. */
      g_assert_nonnull (strstr (error->message, "chmod 600"));
      g_assert_null (strstr (error->message, "s3cret"));
    }
}

static void
test_not_a_token (Fixture *fixture, gconstpointer data)
{
  static const char *const contents[] = { "", "\n", "two words", "tab\there", "bad\x01" };
  g_autofree char *huge = g_strnfill (PRES_TOKEN_MAX_BYTES + 1, 'x');

  for (guint i = 0; i < G_N_ELEMENTS (contents); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *token = NULL;

      write_token (fixture, contents[i], 0600);
      token = pres_token_file_read (fixture->path, &error);
      g_assert_null (token);
      g_assert_nonnull (error);
    }
  {
    g_autoptr (GError) error = NULL;
    g_autofree char *token = NULL;

    write_token (fixture, huge, 0600);
    token = pres_token_file_read (fixture->path, &error);
    g_assert_null (token);
    g_assert_nonnull (error);
  }
}

static void
test_missing_and_directory (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;

  token = pres_token_file_read (fixture->path, &error);
  g_assert_null (token);
  g_assert_nonnull (strstr (error->message, fixture->path));
  g_clear_error (&error);

  token = pres_token_file_read (fixture->dir, &error);
  g_assert_null (token);
  g_assert_nonnull (error);
}

static void
on_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static char *
lookup (const char *token_file, PresTokenOrigin *origin, GError **error)
{
  g_autoptr (GAsyncResult) result = NULL;

  pres_token_lookup_async (token_file, "http://127.0.0.1:8787", NULL, on_found, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return pres_token_lookup_finish (result, origin, error);
}

static void
test_order (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  PresTokenOrigin origin;

  /* The file given on the command line wins over the environment... */
  write_token (fixture, "from-file", 0600);
  g_setenv ("PRESENCE_TOKEN", "from-env", TRUE);
  token = lookup (fixture->path, &origin, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token, ==, "from-file");
  g_assert_cmpint (origin, ==, PRES_TOKEN_ORIGIN_FILE);
  g_clear_pointer (&token, g_free);

  /* ...and a bad file is an error, not a silent fall back to another token. */
  write_token (fixture, "from-file", 0644);
  token = lookup (fixture->path, &origin, &error);
  g_assert_null (token);
  g_assert_nonnull (error);
  g_clear_error (&error);

  token = lookup (NULL, &origin, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token, ==, "from-env");
  g_assert_cmpint (origin, ==, PRES_TOKEN_ORIGIN_ENVIRONMENT);
  g_unsetenv ("PRESENCE_TOKEN");
}

/* Drops every method call, as a hung keyring daemon would. */
static GDBusMessage *
swallow_calls (GDBusConnection *connection,
               GDBusMessage *message,
               gboolean incoming,
               gpointer user_data)
{
  if (incoming && g_dbus_message_get_message_type (message) == G_DBUS_MESSAGE_TYPE_METHOD_CALL)
    {
      g_object_unref (message);
      return NULL;
    }
  return message;
}

static void
test_keyring_hangs (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr (GDBusConnection) keyring = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  gint64 start;
  guint owner;

  g_test_dbus_up (bus);
  keyring = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);
  g_dbus_connection_add_filter (keyring, swallow_calls, NULL, NULL);
  owner = g_bus_own_name_on_connection (keyring, "org.freedesktop.secrets",
                                        G_BUS_NAME_OWNER_FLAGS_NONE, NULL, NULL, NULL, NULL);

  start = g_get_monotonic_time ();
  token = lookup (NULL, NULL, &error);
  /* The start-up of the agent is held up by at most the lookup timeout. */
  g_assert_cmpint (g_get_monotonic_time () - start, <,
                   (PRES_TOKEN_KEYRING_TIMEOUT_MS + 1500) * 1000);
  g_assert_null (token);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "presencectl login"));

  g_bus_unown_name (owner);
  g_dbus_connection_close_sync (keyring, NULL, NULL);
  g_test_dbus_down (bus);
}

static void
test_no_keyring (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  gint64 start;

  g_test_dbus_up (bus);
  start = g_get_monotonic_time ();
  token = lookup (NULL, NULL, &error);
  g_assert_cmpint (g_get_monotonic_time () - start, <,
                   (PRES_TOKEN_KEYRING_TIMEOUT_MS + 1500) * 1000);
  g_assert_null (token);
  g_test_dbus_down (bus);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/token/owner-only", test_owner_only);
  ADD ("/token/open-to-others", test_open_to_others);
  ADD ("/token/not-a-token", test_not_a_token);
  ADD ("/token/missing-and-directory", test_missing_and_directory);
  ADD ("/token/order", test_order);
  ADD ("/token/keyring-hangs", test_keyring_hangs);
  ADD ("/token/no-keyring", test_no_keyring);
#undef ADD
  return g_test_run ();
}
