#define G_LOG_DOMAIN "test-openclaw"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "pres-openclaw-identity.h"
#include "pres-openclaw-transport.h"
#include "pres-recording-server.h"
#include "pres-settings.h"

/*
 * The transport against a gateway that answers the node pairing list
 * with whatever the case says: a reply that is too large, or one whose
 * request id would run something in the user's shell, changes nothing
 * (the agent stays connecting, reconnects nothing, asks nothing more)
 * and says so in LastError; an honest one makes it unauthorized with
 * the approve command, so that the test can see a change at all. The
 * real gateway never sends the first two: this small one speaks just
 * the handshake (research/openclaw.md §3) and the pairing list.
 */

#define TOKEN "replies-token-0123456789"
#define NODE_ID_PLACEHOLDER "@NODE@"

typedef struct
{
  SoupServer *server;
  char *url;
  const char *pairing_reply; /* a payload, @NODE@ for the agent's device id */
  GPtrArray *sockets;
  guint connects;
  guint pairing_lists;
  guint replies_sent;
  char *device_id; /* the agent's */

  char *dir;
  GSettings *settings;
  PresClock *clock;
  PresModel *model;
  PresLink *link;
  PresIdleSource *idle;
  PresTransport *transport;
} Fixture;

static JsonObject *
parse (GBytes *message)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize length;
  const char *data = g_bytes_get_data (message, &length);

  g_assert_true (json_parser_load_from_data (parser, data, length, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
reply (SoupWebsocketConnection *ws, const char *id, const char *payload)
{
  g_autofree char *frame
    = g_strdup_printf ("{\"type\":\"res\",\"id\":\"%s\",\"ok\":true,\"payload\":%s}", id, payload);

  soup_websocket_connection_send_text (ws, frame);
}

static void
on_message (SoupWebsocketConnection *ws, int type, GBytes *message, Fixture *fixture)
{
  g_autoptr (JsonObject) frame = parse (message);
  const char *id = json_object_get_string_member (frame, "id");
  const char *method = json_object_get_string_member (frame, "method");

  if (g_str_equal (method, "connect"))
    {
      fixture->connects++;
      reply (ws, id,
             "{\"type\":\"hello-ok\",\"protocol\":4,\"policy\":{\"tickIntervalMs\":30000}}");
    }
  else if (g_str_equal (method, "node.pair.list"))
    {
      JsonObject *params = json_object_get_object_member (frame, "params");
      g_auto (GStrv) parts = NULL;
      g_autofree char *payload = NULL;

      g_assert_cmpuint (json_object_get_size (params), ==, 0);
      fixture->pairing_lists++;
      parts = g_strsplit (fixture->pairing_reply, NODE_ID_PLACEHOLDER, -1);
      payload = g_strjoinv (fixture->device_id, parts);
      reply (ws, id, payload);
      fixture->replies_sent++;
    }
  else
    reply (ws, id, "{\"ok\":true}");
}

static void
on_websocket (SoupServer *server,
              SoupServerMessage *msg,
              const char *path,
              SoupWebsocketConnection *ws,
              gpointer user_data)
{
  Fixture *fixture = user_data;

  g_ptr_array_add (fixture->sockets, g_object_ref (ws));
  soup_websocket_connection_set_max_incoming_payload_size (ws, 1024 * 1024);
  g_signal_connect (ws, "message", G_CALLBACK (on_message), fixture);
  soup_websocket_connection_send_text (
    ws, "{\"type\":\"event\",\"event\":\"connect.challenge\",\"payload\":{\"nonce\":\"n-1\","
        "\"ts\":1795470218702}}");
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  PresTransportSetup setup = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GSocket) listener = NULL;
  g_autofree char *token_file = NULL;

  fixture->pairing_reply = data;
  fixture->sockets = g_ptr_array_new_with_free_func (g_object_unref);
  /* Our own socket: libsoup 3.2's soup_server_get_uris() leaks. */
  listener
    = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (listener, address, TRUE, &error));
  g_assert_true (g_socket_listen (listener, &error));
  bound = g_socket_get_local_address (listener, &error);
  g_assert_no_error (error);
  fixture->url = g_strdup_printf ("ws://127.0.0.1:%u/",
                                  g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  fixture->server = soup_server_new (NULL, NULL);
  soup_server_add_websocket_handler (fixture->server, "/", NULL, NULL, on_websocket, fixture, NULL);
  g_assert_true (soup_server_listen_socket (fixture->server, listener, 0, &error));

  fixture->dir = g_dir_make_tmp ("openclaw-replies-XXXXXX", NULL);
  token_file = g_build_filename (fixture->dir, "token", NULL);
  g_assert_true (g_file_set_contents_full (token_file, TOKEN "\n", -1,
                                           G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
  fixture->settings = pres_settings_new (NULL);
  fixture->clock = pres_clock_new_system ();
  fixture->model = pres_model_new (fixture->clock);
  fixture->link = pres_link_new (NULL);
  fixture->idle = pres_idle_source_new_none ();
  setup.model = fixture->model;
  setup.link = fixture->link;
  setup.idle_source = fixture->idle;
  setup.settings = fixture->settings;
  setup.instance_id = "replies-test";
  setup.state_dir = fixture->dir;
  setup.server = fixture->url;
  setup.token_file = token_file;
  fixture->transport = pres_openclaw_transport_new (&setup);
  pres_model_start (fixture->model);
}

static void
remove_all (const char *dir)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->transport);
  /* The server's ends see the agent's closes before the server goes:
   * libsoup 3.2 leaks a socket still open when the server is freed. */
  for (guint i = 0; i < fixture->sockets->len; i++)
    PRES_TEST_WAIT (soup_websocket_connection_get_state (fixture->sockets->pdata[i])
                      == SOUP_WEBSOCKET_STATE_CLOSED,
                    5000);
  g_clear_pointer (&fixture->sockets, g_ptr_array_unref);
  soup_server_disconnect (fixture->server);
  g_clear_object (&fixture->server);
  g_clear_object (&fixture->idle);
  g_clear_object (&fixture->link);
  g_clear_object (&fixture->model);
  g_clear_object (&fixture->clock);
  g_clear_object (&fixture->settings);
  remove_all (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->url);
  g_free (fixture->device_id);
}

static void
start (Fixture *fixture)
{
  g_autofree char *key = g_build_filename (fixture->dir, "openclaw-device.key", NULL);
  g_autofree char *contents = NULL;
  g_autofree guint8 *seed = NULL;
  gsize length;
  PresOpenclawIdentity *identity;

  pres_transport_start (fixture->transport);
  /* The agent's device id, for the gateway to name. */
  g_assert_true (g_file_get_contents (key, &contents, NULL, NULL));
  seed = g_base64_decode (g_strstrip (contents), &length);
  identity = pres_openclaw_identity_new_from_seed (seed);
  fixture->device_id = g_strdup (pres_openclaw_identity_get_id (identity));
  pres_openclaw_identity_free (identity);
}

static gboolean
error_says (Fixture *fixture, const char *words)
{
  const char *error = pres_link_get_last_error (fixture->link);

  return error != NULL && strstr (error, words) != NULL;
}

/* The reply arrived and was judged: no pairing state came of it (the
 * honest reply makes the agent unauthorized), no reconnect, no new ask,
 * and the error stays said. */
static void
assert_nothing_changed (Fixture *fixture, const char *error)
{
  pres_test_run_for (300);
  g_assert_cmpint (pres_link_get_connection (fixture->link), !=, PRES_CONNECTION_UNAUTHORIZED);
  g_assert_cmpuint (fixture->connects, ==, 2);
  g_assert_cmpuint (fixture->pairing_lists, ==, 1);
  g_assert_true (error_says (fixture, error));
  g_assert_false (error_says (fixture, "approve"));
}

static void
test_honest (Fixture *fixture, gconstpointer data)
{
  start (fixture);
  PRES_TEST_WAIT (error_says (fixture, "openclaw nodes approve req-1"), 5000);
  g_assert_cmpint (pres_link_get_connection (fixture->link), ==, PRES_CONNECTION_UNAUTHORIZED);
  g_assert_cmpuint (fixture->connects, ==, 2);
}

static void
test_oversized (Fixture *fixture, gconstpointer data)
{
  start (fixture);
  PRES_TEST_WAIT (error_says (fixture, "node.pair.list was"), 5000);
  g_assert_true (error_says (fixture, "; ignored"));
  assert_nothing_changed (fixture, "node.pair.list was");
}

static void
test_hostile (Fixture *fixture, gconstpointer data)
{
  start (fixture);
  PRES_TEST_WAIT (error_says (fixture, "malformed node pairing request id; ignored"), 5000);
  g_assert_false (error_says (fixture, "reboot"));
  assert_nothing_changed (fixture, "malformed node pairing request id; ignored");
}

static void
test_frame_too_large (Fixture *fixture, gconstpointer data)
{
  start (fixture);
  PRES_TEST_WAIT (error_says (fixture, "larger than"), 5000);
  g_assert_cmpint (pres_link_get_connection (fixture->link), ==, PRES_CONNECTION_ERROR);
}

static const char *
huge_reply (void)
{
  static char *reply;

  if (reply == NULL)
    {
      GString *text = g_string_new ("{\"paired\":[],\"pending\":[],\"padding\":\"");

      while (text->len < 9 * 1024 * 1024)
        g_string_append (text, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
      g_string_append (text, "\"}");
      reply = g_string_free (text, FALSE);
    }
  return reply;
}

static const char *
oversized_reply (void)
{
  static char *reply;

  if (reply == NULL)
    {
      /* An honest pending entry for us, buried in 70 KiB of others. */
      GString *text = g_string_new ("{\"paired\":[],\"pending\":[{\"nodeId\":\"" NODE_ID_PLACEHOLDER
                                    "\",\"requestId\":\"req-1\"}");

      while (text->len < 70 * 1024)
        g_string_append (text, ",{\"nodeId\":\"someone-else\",\"requestId\":\"req-x\"}");
      g_string_append (text, "]}");
      reply = g_string_free (text, FALSE);
    }
  return reply;
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/openclaw-replies/honest", Fixture,
              "{\"paired\":[],\"pending\":[{\"nodeId\":\"" NODE_ID_PLACEHOLDER
              "\",\"requestId\":\"req-1\"}]}",
              fixture_set_up, test_honest, fixture_tear_down);
  g_test_add ("/openclaw-replies/oversized", Fixture, oversized_reply (), fixture_set_up,
              test_oversized, fixture_tear_down);
  g_test_add ("/openclaw-replies/hostile", Fixture,
              "{\"paired\":[],\"pending\":[{\"nodeId\":\"" NODE_ID_PLACEHOLDER
              "\",\"requestId\":\"$(reboot)\"}]}",
              fixture_set_up, test_hostile, fixture_tear_down);
  /* Above the WebSocket's bound: refused unread, the connection closes. */
  g_test_add ("/openclaw-replies/frame-too-large", Fixture, huge_reply (), fixture_set_up,
              test_frame_too_large, fixture_tear_down);
  return g_test_run ();
}
