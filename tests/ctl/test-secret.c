/* The token helpers of pres-secret: the pure checks, and on a private bus
 * that a keyring which is missing, or there but never answering (locked,
 * wedged), fails the call in bounded time instead of blocking the agent. */
#include <string.h>
#include <gio/gio.h>

#include "pres-error.h"
#include "pres-secret.h"

/* What libsecret calls first; enough of the Secret Service for it to get
 * that far. The handler never answers. */
static const char fake_service_xml[] =
  "<node>"
  "  <interface name='org.freedesktop.Secret.Service'>"
  "    <method name='OpenSession'>"
  "      <arg name='algorithm' type='s' direction='in'/>"
  "      <arg name='input' type='v' direction='in'/>"
  "      <arg name='output' type='v' direction='out'/>"
  "      <arg name='result' type='o' direction='out'/>"
  "    </method>"
  "    <method name='SearchItems'>"
  "      <arg name='attributes' type='a{ss}' direction='in'/>"
  "      <arg name='unlocked' type='ao' direction='out'/>"
  "      <arg name='locked' type='ao' direction='out'/>"
  "    </method>"
  "  </interface>"
  "</node>";

typedef struct
{
  GTestDBus *bus;
  GDBusConnection *service_conn; /* the fake keyring's own connection */
  GDBusNodeInfo *node;
  GPtrArray *held;               /* calls the fake keyring never answered */
  guint object_id;
  GAsyncResult *result;
} Fixture;

static void
hold_call (GDBusConnection       *connection,
           const char            *sender,
           const char            *path,
           const char            *interface,
           const char            *method,
           GVariant              *parameters,
           GDBusMethodInvocation *invocation,
           gpointer               user_data)
{
  Fixture *fx = user_data;

  g_test_message ("keyring: %s.%s, not answering", interface, method);
  g_ptr_array_add (fx->held, invocation);
}

static const GDBusInterfaceVTable hold_vtable = { hold_call, NULL, NULL };

static void
fixture_set_up (Fixture      *fx,
                gconstpointer data)
{
  fx->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (fx->bus);
  fx->held = g_ptr_array_new ();
}

static void
start_silent_keyring (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;

  fx->service_conn = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (fx->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, &error);
  g_assert_no_error (error);

  fx->node = g_dbus_node_info_new_for_xml (fake_service_xml, &error);
  g_assert_no_error (error);
  fx->object_id = g_dbus_connection_register_object (fx->service_conn, "/org/freedesktop/secrets",
                                                     fx->node->interfaces[0], &hold_vtable, fx,
                                                     NULL, &error);
  g_assert_no_error (error);

  reply = g_dbus_connection_call_sync (fx->service_conn, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "RequestName",
                                       g_variant_new ("(su)", "org.freedesktop.secrets", 4),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture      *fx,
                   gconstpointer data)
{
  /* Answer what was held, so no call outlives the test. */
  for (guint i = 0; i < fx->held->len; i++)
    g_dbus_method_invocation_return_dbus_error (g_ptr_array_index (fx->held, i),
                                                "org.freedesktop.DBus.Error.Failed", "test over");
  g_ptr_array_unref (fx->held);
  g_clear_object (&fx->result);

  if (fx->object_id != 0)
    g_dbus_connection_unregister_object (fx->service_conn, fx->object_id);
  g_clear_pointer (&fx->node, g_dbus_node_info_unref);
  if (fx->service_conn != NULL)
    g_dbus_connection_close_sync (fx->service_conn, NULL, NULL);
  g_clear_object (&fx->service_conn);

  /* libsecret keeps the session bus in a singleton of its own. */
  secret_service_disconnect ();
  g_test_dbus_down (fx->bus);
  g_clear_object (&fx->bus);
}

/* The deadline under test: long enough for libsecret to reach the keyring
 * first, also under valgrind. */
static guint
deadline_ms (void)
{
  return g_getenv ("PRES_TEST_WRAPPER") != NULL ? 3000 : 300;
}

static void
on_ready (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Fixture *fx = user_data;

  g_assert_null (fx->result);
  fx->result = g_object_ref (result);
}

/* Waits for the call's callback; the deadline is the test's own, far above
 * any timeout under test. */
static void
wait_result (Fixture *fx)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (fx->result == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
test_normalize (void)
{
  const char *cases[][2] = {
    { "http://h:8787", "http://h:8787" },
    { "http://h:8787/", "http://h:8787" },
    { " https://h/// ", "https://h" },
    { "https://h/base/", "https://h/base" },
    { "", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *key = pres_secret_normalize_server (cases[i][0]);
      g_assert_cmpstr (key, ==, cases[i][1]);
    }
}

static void
test_validate (void)
{
  g_autofree char *longest = g_strnfill (PRES_SECRET_TOKEN_MAX, 'a');
  g_autofree char *too_long = g_strnfill (PRES_SECRET_TOKEN_MAX + 1, 'a');
  const char *bad[] = { "", "two words", "tab\there", "new\nline", "caf\xc3\xa9", "\x7f", NULL };

  g_assert_true (pres_secret_token_validate ("abc-DEF_123.~+/=", NULL));
  g_assert_true (pres_secret_token_validate (longest, NULL));

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (pres_secret_token_validate (bad[i], &error));
      g_assert_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS);
      /* The message never repeats the token. */
      if (bad[i] != NULL && *bad[i] != '\0')
        g_assert_null (strstr (error->message, bad[i]));
    }

  {
    g_autoptr (GError) error = NULL;

    g_assert_false (pres_secret_token_validate (too_long, &error));
    g_assert_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS);
  }
}

static void
test_no_keyring (Fixture      *fx,
                 gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  char *token;

  /* Nothing provides org.freedesktop.secrets: an error, well before the
   * deadline, and not mistaken for a timeout. */
  pres_secret_lookup_token ("http://h:8787", 20000, NULL, on_ready, fx);
  wait_result (fx);
  token = pres_secret_lookup_token_finish (fx->result, &error);
  g_assert_null (token);
  g_assert_nonnull (error);
  g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
}

static void
test_lookup_timeout (Fixture      *fx,
                     gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 start, elapsed;

  start_silent_keyring (fx);
  start = g_get_monotonic_time ();
  pres_secret_lookup_token ("http://h:8787", deadline_ms (), NULL, on_ready, fx);
  wait_result (fx);
  elapsed = g_get_monotonic_time () - start;

  g_assert_null (pres_secret_lookup_token_finish (fx->result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (elapsed, >=, (gint64) deadline_ms () * 1000 - 10000);
  g_assert_cmpint (elapsed, <, (gint64) deadline_ms () * 1000 + 5 * G_USEC_PER_SEC);
  /* The keyring was really asked, and really did not answer. */
  g_assert_cmpuint (fx->held->len, >=, 1);
}

static void
test_store_timeout (Fixture      *fx,
                    gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  start_silent_keyring (fx);
  pres_secret_store_token ("http://h:8787", "tok", deadline_ms (), NULL, on_ready, fx);
  wait_result (fx);
  g_assert_false (pres_secret_store_token_finish (fx->result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

static void
test_clear_timeout (Fixture      *fx,
                    gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gboolean removed = TRUE;

  start_silent_keyring (fx);
  pres_secret_clear_token ("http://h:8787", deadline_ms (), NULL, on_ready, fx);
  wait_result (fx);
  g_assert_false (pres_secret_clear_token_finish (fx->result, &removed, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

static gboolean
cancel_now (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel (Fixture      *fx,
             gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  /* No deadline of its own: the caller's cancellable ends it. */
  start_silent_keyring (fx);
  pres_secret_lookup_token ("http://h:8787", 0, cancellable, on_ready, fx);
  g_timeout_add (200, cancel_now, cancellable);
  wait_result (fx);
  g_assert_null (pres_secret_lookup_token_finish (fx->result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_invalid_token (Fixture      *fx,
                    gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  /* Refused before any keyring is asked. */
  start_silent_keyring (fx);
  pres_secret_store_token ("http://h:8787", "two words", 300, NULL, on_ready, fx);
  wait_result (fx);
  g_assert_false (pres_secret_store_token_finish (fx->result, &error));
  g_assert_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS);
  g_assert_cmpuint (fx->held->len, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/secret/normalize", test_normalize);
  g_test_add_func ("/secret/validate", test_validate);
  g_test_add ("/secret/no-keyring", Fixture, NULL, fixture_set_up, test_no_keyring,
              fixture_tear_down);
  g_test_add ("/secret/lookup-timeout", Fixture, NULL, fixture_set_up, test_lookup_timeout,
              fixture_tear_down);
  g_test_add ("/secret/store-timeout", Fixture, NULL, fixture_set_up, test_store_timeout,
              fixture_tear_down);
  g_test_add ("/secret/clear-timeout", Fixture, NULL, fixture_set_up, test_clear_timeout,
              fixture_tear_down);
  g_test_add ("/secret/cancel", Fixture, NULL, fixture_set_up, test_cancel, fixture_tear_down);
  g_test_add ("/secret/invalid-token", Fixture, NULL, fixture_set_up, test_invalid_token,
              fixture_tear_down);

  return g_test_run ();
}
