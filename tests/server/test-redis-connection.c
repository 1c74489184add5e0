#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <string.h>

#include "pres-redis-connection.h"
#include "redis-fixture.h"

/* The hiredis connection on the main loop: addresses, a peer that is not
 * there, a peer that never answers (our timeout, then reconnects), and the
 * store epoch over a real redis-server. */

typedef struct
{
  guint n_connected;
  guint n_disconnected;
  guint n_epochs;
  gboolean epoch_changed;
  gboolean answered;
  GError *error;
  char *reply;
} Seen;

static void
connected_cb (PresRedisConnection *conn,
              Seen                *seen)
{
  seen->n_connected++;
}

static void
disconnected_cb (PresRedisConnection *conn,
                 const char          *why,
                 Seen                *seen)
{
  seen->n_disconnected++;
}

static void
epoch_cb (PresRedisConnection *conn,
          const char          *epoch,
          gboolean             changed,
          Seen                *seen)
{
  seen->n_epochs++;
  seen->epoch_changed = changed;
}

static void
reply_cb (PresRedisConnection *conn,
          redisReply          *reply,
          const GError        *error,
          gpointer             user_data)
{
  Seen *seen = user_data;

  seen->answered = TRUE;
  g_clear_error (&seen->error);
  seen->error = error != NULL ? g_error_copy (error) : NULL;
  g_clear_pointer (&seen->reply, g_free);
  if (reply != NULL && reply->str != NULL)
    seen->reply = g_strdup (reply->str);
}

static gboolean
timed_out_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until *counter reaches want; FALSE if within_ms passed first. */
static gboolean
wait_count (guint *counter,
            guint  want,
            guint  within_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (within_ms, timed_out_cb, &timed_out);

  while (*counter < want && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return *counter >= want;
}

static PresRedisConnection *
connection_new (const char *address,
                Seen       *seen)
{
  g_autoptr (GError) error = NULL;
  PresRedisConnection *conn = pres_redis_connection_new (address, "test", &error);

  g_assert_no_error (error);
  g_signal_connect (conn, "connected", G_CALLBACK (connected_cb), seen);
  g_signal_connect (conn, "disconnected", G_CALLBACK (disconnected_cb), seen);
  g_signal_connect (conn, "epoch", G_CALLBACK (epoch_cb), seen);
  return conn;
}

static void
seen_clear (Seen *seen)
{
  g_clear_error (&seen->error);
  g_clear_pointer (&seen->reply, g_free);
}

static void
test_address (void)
{
  const char *valid[] = { "redis://127.0.0.1", "redis://127.0.0.1:6380", "redis://localhost/2",
                          "redis://[::1]:6379/0", "unix:/run/redis/redis.sock" };
  const char *invalid[] = { "", "memory", "redis://", "redis://host:port", "redis://h/x",
                            "redis://user:secret@host", "unix:relative", "http://h:1" };

  for (gsize i = 0; i < G_N_ELEMENTS (valid); i++)
    g_assert_true (pres_redis_address_is_valid (valid[i], NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (pres_redis_address_is_valid (invalid[i], &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      /* The message names the forms allowed, never echoes a password. */
      g_assert_nonnull (strstr (error->message, "redis://HOST"));
      g_assert_null (strstr (error->message, "secret"));
    }
}

static void
test_unreachable (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pres-redis-conn-XXXXXX", NULL);
  g_autofree char *address = g_strconcat ("unix:", dir, "/nobody.sock", NULL);
  Seen seen = { 0 };
  g_autoptr (PresRedisConnection) conn = connection_new (address, &seen);

  g_test_expect_message ("pres-redis", G_LOG_LEVEL_WARNING, "*unreachable*retrying*");
  pres_redis_connection_start (conn);
  /* Keeps trying, with back-off, and says so once. */
  g_assert_true (wait_count (&seen.n_disconnected, 3, 5000));
  g_test_assert_expected_messages ();
  g_assert_false (pres_redis_connection_is_connected (conn));
  /* A command fails at once, before the call returns. */
  pres_redis_connection_command (conn, 0, reply_cb, &seen, 1, (const char *[]) { "PING" }, NULL);
  g_assert_true (seen.answered);
  g_assert_error (seen.error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  g_clear_object (&conn);
  seen_clear (&seen);
  g_rmdir (dir);
}

/* Accepts and reads, never answers. */
static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           user_data)
{
  g_ptr_array_add (user_data, g_object_ref (connection));
  return TRUE;
}

static void
test_timeout (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pres-redis-conn-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "silent.sock", NULL);
  g_autofree char *address = g_strconcat ("unix:", path, NULL);
  g_autoptr (GSocketService) service = g_socket_service_new ();
  g_autoptr (GSocketAddress) sockaddr = g_unix_socket_address_new (path);
  g_autoptr (GPtrArray) accepted = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  Seen seen = { 0 };
  g_autoptr (PresRedisConnection) conn = connection_new (address, &seen);
  gint64 start, elapsed_ms;

  g_socket_listener_add_address (G_SOCKET_LISTENER (service), sockaddr, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (service, "incoming", G_CALLBACK (incoming_cb), accepted);
  pres_redis_connection_set_timeout (conn, 200);
  pres_redis_connection_start (conn);
  g_assert_true (wait_count (&seen.n_connected, 1, 5000));

  g_test_expect_message ("pres-redis", G_LOG_LEVEL_WARNING, "*lost*timed out*");
  start = g_get_monotonic_time ();
  pres_redis_connection_command (conn, 0, reply_cb, &seen, 1, (const char *[]) { "PING" }, NULL);
  g_assert_false (seen.answered);
  while (!seen.answered)
    g_main_context_iteration (NULL, TRUE);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_assert_expected_messages ();
  g_test_message ("timed out after %" G_GINT64_FORMAT " ms", elapsed_ms);
  g_assert_error (seen.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (elapsed_ms, >=, 200);
  g_assert_cmpint (elapsed_ms, <, 2000);
  /* Then it connects again by itself. */
  g_assert_true (wait_count (&seen.n_connected, 2, 5000));
  g_assert_cmpuint (seen.n_disconnected, >=, 1);
  g_clear_object (&conn);
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  seen_clear (&seen);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_epoch (void)
{
  g_autofree char *skip = NULL;
  RedisFixture *redis = redis_fixture_start (&skip);
  Seen seen = { 0 };
  g_autoptr (PresRedisConnection) conn = NULL;
  g_autofree char *first = NULL;

  if (redis == NULL)
    {
      g_test_skip (skip);
      return;
    }
  conn = connection_new (redis_fixture_get_address (redis), &seen);
  pres_redis_connection_set_epoch_key (conn, "pz:epoch");
  pres_redis_connection_start (conn);
  g_assert_true (wait_count (&seen.n_epochs, 1, 5000));
  g_assert_false (seen.epoch_changed);
  first = g_strdup (pres_redis_connection_get_epoch (conn));
  g_assert_nonnull (first);

  pres_redis_connection_command (conn, 0, reply_cb, &seen, 1, (const char *[]) { "PING" }, NULL);
  while (!seen.answered)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (seen.error);
  g_assert_cmpstr (seen.reply, ==, "PONG");

  /* Same data: same epoch.  Flushed: a new one, and it says so. */
  pres_redis_connection_check_epoch (conn);
  g_assert_true (wait_count (&seen.n_epochs, 2, 5000));
  g_assert_false (seen.epoch_changed);
  redis_fixture_flush (redis);
  g_test_expect_message ("pres-redis", G_LOG_LEVEL_WARNING, "*epoch changed*");
  pres_redis_connection_check_epoch (conn);
  g_assert_true (wait_count (&seen.n_epochs, 3, 5000));
  g_test_assert_expected_messages ();
  g_assert_true (seen.epoch_changed);
  g_assert_cmpstr (pres_redis_connection_get_epoch (conn), !=, first);

  g_clear_object (&conn);
  seen_clear (&seen);
  redis_fixture_stop (redis);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/redis-connection/address", test_address);
  g_test_add_func ("/redis-connection/unreachable", test_unreachable);
  g_test_add_func ("/redis-connection/timeout", test_timeout);
  g_test_add_func ("/redis-connection/epoch", test_epoch);

  return g_test_run ();
}
