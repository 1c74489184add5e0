#define G_LOG_DOMAIN "pres-mqtt"

#include "config.h"

#include "pres-mqtt-transport.h"

#include <glib-unix.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <signal.h>

#include "pres-error.h"
#include "pres-host-info.h"
#include "pres-mqtt-payload.h"
#include "pres-server-url.h"
#include "pres-transport-core.h"

/*
 * The MQTT destination, driven from the GLib main loop: libmosquitto's
 * socket is watched for reading, for writing only while the library has
 * something queued (mosquitto_want_write), and its housekeeping
 * (keepalive pings) runs on a timer only while connected. No libmosquitto
 * thread exists, so every callback runs in the main thread.
 *
 * The one blocking call, mosquitto_connect (name resolution, TCP and the
 * TLS handshake), runs in a GTask worker thread: the client object is
 * handed to it whole and touched by nobody else until the task returns it,
 * and the CONNECT packet it queues raises no callback. A slow DNS server or
 * a broker that never finishes the handshake then holds only that thread,
 * never the agent's D-Bus API. The library offers no non-blocking resolve,
 * and its own async connect needs its own loop thread, which would call
 * back into the agent from elsewhere.
 *
 * Library callbacks never free the client (they run inside it): they
 * record what happened and after_loop() acts once the library returned.
 */

#define DEFAULT_PREFIX "presence"
#define DEFAULT_KEEPALIVE 60
#define LEAVE_DEADLINE_MS 2000
#define MAX_PACKET 4096

struct _PresMqttTransport
{
  GObject parent_instance;

  PresTransportCore core;
  PresHostInfo *host_info;
  PresIdleSource *idle_source;

  /* From the URL. */
  char *host;
  int port;
  gboolean tls;
  char *user;
  char *cafile;
  int keepalive;
  char *base_topic; /* <prefix>/<user>/<host id> */
  char *availability_topic;
  char *state_topic;
  char *command_topic;
  char *discovery_topic;
  char *object_id;
  char *client_id;

  struct mosquitto *mosq; /* NULL while down or while a worker connects */
  guint attempt;          /* a worker's result for an older attempt is dropped */
  gboolean connecting;
  gboolean connected;
  gboolean lost; /* set by callbacks, acted on by after_loop() */
  int lost_rc;
  int refused_rc; /* the broker's CONNACK said no */
  gboolean leaving; /* the offline word is going out */
  int offline_mid;

  guint read_id;
  guint write_id;
  guint misc_id;
  guint retry_id;
  guint announce_id;
  guint state_idle_id; /* one state message for the notifications of one change */
  guint leave_deadline_id;

  char *last_state; /* as last published: only changes go out */
  gint64 last_input;
  gboolean bad_input_logged;
};

static void pres_mqtt_transport_iface_init (PresTransportInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PresMqttTransport,
                               pres_mqtt_transport,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (PRES_TYPE_TRANSPORT,
                                                      pres_mqtt_transport_iface_init))

static void open_connection (PresMqttTransport *self);

static gboolean
topic_safe (const char *text)
{
  return text != NULL && *text != '\0' && strpbrk (text, "+#/") == NULL;
}

char *
pres_mqtt_check_url (const char *url, gboolean allow_insecure, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  const char *scheme;

  uri = url ? g_uri_parse (url, G_URI_FLAGS_HAS_PASSWORD, NULL) : NULL;
  scheme = uri ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0'
      || scheme == NULL || !(g_str_equal (scheme, "mqtt") || g_str_equal (scheme, "mqtts")))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "The broker URL must look like mqtt://HOST:PORT or mqtts://HOST:PORT");
      return NULL;
    }
  if (g_uri_get_password (uri) != NULL)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "The broker URL must not hold a password: give it with --token-file "
                   "or “presencectl login”");
      return NULL;
    }
  if (g_uri_get_user (uri) != NULL && !topic_safe (g_uri_get_user (uri)))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "The broker user name must not contain “/”, “+” or “#”");
      return NULL;
    }
  if (g_str_equal (scheme, "mqtt") && !allow_insecure
      && !pres_server_url_host_is_loopback (g_uri_get_host (uri)))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "The broker %s is not on this computer: use mqtts://, or turn on "
                   "allow-insecure to send the password in the clear",
                   g_uri_get_host (uri));
      return NULL;
    }
  return g_uri_to_string (uri);
}

/* Reads the checked URL's parts; FALSE (with LastError) if an option is bad. */
static gboolean
load_url (PresMqttTransport *self, const char *checked)
{
  g_autoptr (GUri) uri = g_uri_parse (checked, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GHashTable) params = NULL;
  g_autofree char *user_segment = NULL;
  g_autofree char *host_id = NULL;
  g_autofree char *compact = NULL;
  const char *prefix = DEFAULT_PREFIX;
  const char *value;

  g_clear_pointer (&self->host, g_free);
  g_clear_pointer (&self->user, g_free);
  g_clear_pointer (&self->cafile, g_free);
  self->tls = g_str_equal (g_uri_get_scheme (uri), "mqtts");
  self->host = g_strdup (g_uri_get_host (uri));
  self->port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : (self->tls ? 8883 : 1883);
  self->user = g_strdup (g_uri_get_user (uri));
  self->keepalive = DEFAULT_KEEPALIVE;
  if (g_uri_get_query (uri) != NULL)
    params = g_uri_parse_params (g_uri_get_query (uri), -1, "&", G_URI_PARAMS_NONE, NULL);
  if (params != NULL)
    {
      GHashTableIter iter;
      const char *key;

      g_hash_table_iter_init (&iter, params);
      while (g_hash_table_iter_next (&iter, (gpointer *)&key, (gpointer *)&value))
        if (!g_str_equal (key, "prefix") && !g_str_equal (key, "cafile")
            && !g_str_equal (key, "keepalive"))
          goto bad;
      if ((value = g_hash_table_lookup (params, "prefix")) != NULL)
        {
          if (*value == '\0' || strpbrk (value, "+#") != NULL || g_str_has_suffix (value, "/"))
            goto bad;
          prefix = value;
        }
      self->cafile = g_strdup (g_hash_table_lookup (params, "cafile"));
      if ((value = g_hash_table_lookup (params, "keepalive")) != NULL)
        {
          guint64 seconds;

          if (!g_ascii_string_to_unsigned (value, 10, 5, 3600, &seconds, NULL))
            goto bad;
          self->keepalive = (int)seconds;
        }
    }

  /* Topics per user and machine, so that a broker ACL pattern
   * (prefix/%u/#) gives each user only their own. */
  user_segment = g_strdup (self->user ? self->user : g_get_user_name ());
  if (!topic_safe (user_segment))
    g_strcanon (user_segment, G_CSET_a_2_z G_CSET_A_2_Z G_CSET_DIGITS "-_.", '_');
  compact = g_strdup (self->core.instance_id);
  g_strcanon (compact, G_CSET_a_2_z G_CSET_DIGITS, '_');
  {
    g_autoptr (GString) hex = g_string_new (NULL);

    for (const char *c = compact; *c; c++)
      if (*c != '_')
        g_string_append_c (hex, *c);
    g_free (compact);
    compact = g_string_free (g_steal_pointer (&hex), FALSE);
  }
  host_id = g_strndup (compact, 12);

  g_free (self->base_topic);
  self->base_topic = g_strdup_printf ("%s/%s/%s", prefix, user_segment, host_id);
  g_free (self->availability_topic);
  self->availability_topic = g_strconcat (self->base_topic, "/availability", NULL);
  g_free (self->state_topic);
  self->state_topic = g_strconcat (self->base_topic, "/state", NULL);
  g_free (self->command_topic);
  self->command_topic = g_strconcat (self->base_topic, "/set", NULL);
  g_free (self->object_id);
  self->object_id = g_strconcat ("presence_", compact, NULL);
  g_free (self->discovery_topic);
  self->discovery_topic = g_strdup_printf ("homeassistant/device/%s/config", self->object_id);
  /* The client id is the device's id: unique per user and machine (a
   * second client with the same id would make the broker drop the first),
   * and an ACL can give each client its own discovery topic (%c). */
  g_free (self->client_id);
  self->client_id = g_strdup (self->object_id);
  /* Home Assistant files the device under this id. */
  pres_link_set_known_as (self->core.link, self->object_id);
  return TRUE;

bad:
  pres_link_set_connection (self->core.link, PRES_CONNECTION_ERROR);
  pres_link_set_last_error (self->core.link,
                            "The broker URL's options are prefix=TOPIC, cafile=FILE and "
                            "keepalive=SECONDS (5 to 3600)");
  g_clear_pointer (&self->host, g_free);
  return FALSE;
}

static gboolean
quitting (PresMqttTransport *self)
{
  return self->core.quit_reason != NULL;
}

static gboolean
offline (PresMqttTransport *self)
{
  return quitting (self) || pres_model_get_state (self->core.model) == PRES_STATE_OFFLINE;
}

/* Closes the connection at once (no goodbye: the broker fires the will if
 * it was open). */
static void
drop (PresMqttTransport *self)
{
  g_clear_handle_id (&self->read_id, g_source_remove);
  g_clear_handle_id (&self->write_id, g_source_remove);
  g_clear_handle_id (&self->misc_id, g_source_remove);
  g_clear_handle_id (&self->announce_id, g_source_remove);
  g_clear_handle_id (&self->state_idle_id, g_source_remove);
  g_clear_pointer (&self->mosq, mosquitto_destroy);
  self->attempt++;
  self->connecting = FALSE;
  self->connected = FALSE;
  self->lost = FALSE;
  self->refused_rc = 0;
  self->leaving = FALSE;
}

static gboolean
on_retry (gpointer user_data)
{
  PresMqttTransport *self = user_data;

  self->retry_id = 0;
  open_connection (self);
  return G_SOURCE_REMOVE;
}

static void
fail (PresMqttTransport *self, PresConnection connection, const char *message)
{
  g_autofree char *text = NULL;
  guint retry_ms = pres_backoff_next (self->core.backoff);

  drop (self);
  text = g_strdup_printf ("%s; retrying in %u s", message, (retry_ms + 999) / 1000);
  g_message ("%s", text);
  pres_link_set_connection (self->core.link, connection);
  pres_link_set_last_error (self->core.link, text);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_id = g_timeout_add (retry_ms, on_retry, self);
}

/* The offline word is out (or could not be): a sleep or quit may go on. */
static void
left (PresMqttTransport *self)
{
  g_clear_handle_id (&self->leave_deadline_id, g_source_remove);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  drop (self);
  pres_link_set_connection (self->core.link, PRES_CONNECTION_DISCONNECTED);
  pres_transport_emit_left (PRES_TRANSPORT (self));
  pres_transport_core_finish_quit (&self->core);
}

static void update_write (PresMqttTransport *self);

/* Acts on what the library's callbacks recorded. */
static void
after_loop (PresMqttTransport *self, int rc)
{
  if (self->mosq == NULL)
    return;
  if (!self->lost && rc != MOSQ_ERR_SUCCESS)
    {
      self->lost = TRUE;
      self->lost_rc = rc;
    }
  if (self->lost)
    {
      g_autofree char *message = NULL;

      if (self->leaving)
        {
          left (self);
          return;
        }
      if (self->refused_rc != 0)
        {
          int code = self->refused_rc;
          gboolean refused = code == 4 || code == 5 || code == 134 || code == 135;

          message = g_strdup_printf ("The broker %s:%d refused the connection: %s", self->host,
                                     self->port, mosquitto_reason_string (code));
          fail (self, refused ? PRES_CONNECTION_UNAUTHORIZED : PRES_CONNECTION_ERROR, message);
          return;
        }
      message = g_strdup_printf ("Lost the broker %s:%d (%s)", self->host, self->port,
                                 mosquitto_strerror (self->lost_rc));
      fail (self, PRES_CONNECTION_ERROR, message);
      return;
    }
  update_write (self);
}

static gboolean
on_writable (int fd, GIOCondition condition, gpointer user_data)
{
  PresMqttTransport *self = user_data;

  after_loop (self, mosquitto_loop_write (self->mosq, 1));
  return G_SOURCE_CONTINUE;
}

/* Writes are watched only while the library has bytes queued: an idle
 * connection never wakes the agent for a writable socket. */
static void
update_write (PresMqttTransport *self)
{
  gboolean want = self->mosq != NULL && mosquitto_want_write (self->mosq);

  if (want && self->write_id == 0)
    self->write_id = g_unix_fd_add (mosquitto_socket (self->mosq), G_IO_OUT, on_writable, self);
  else if (!want)
    g_clear_handle_id (&self->write_id, g_source_remove);
}

static gboolean
on_readable (int fd, GIOCondition condition, gpointer user_data)
{
  PresMqttTransport *self = user_data;

  after_loop (self, mosquitto_loop_read (self->mosq, 1));
  return G_SOURCE_CONTINUE;
}

static gboolean
on_misc (gpointer user_data)
{
  PresMqttTransport *self = user_data;

  after_loop (self, mosquitto_loop_misc (self->mosq));
  return G_SOURCE_CONTINUE;
}

static void
publish (PresMqttTransport *self, const char *topic, const char *payload, int *mid)
{
  int rc;

  rc = mosquitto_publish (self->mosq, mid, topic, (int)strlen (payload), payload, 1, true);
  if (rc != MOSQ_ERR_SUCCESS)
    g_debug ("Publishing to %s: %s", topic, mosquitto_strerror (rc));
}

static void
publish_state (PresMqttTransport *self, gboolean force)
{
  PresModel *model = self->core.model;
  g_autofree char *payload = NULL;
  PresMqttState state = {
    .state = quitting (self) ? PRES_STATE_OFFLINE : pres_model_get_state (model),
    .manual = pres_model_get_manual (model),
    .manual_until = pres_model_get_manual_until (model),
    .active = !pres_model_get_idle (model) && !pres_model_get_locked (model),
    .locked = pres_model_get_locked (model),
    .dnd = pres_model_get_dnd (model),
    .last_input = self->last_input,
    .status_text = pres_model_get_status_text (model),
  };

  if (!self->connected)
    return;
  payload = pres_mqtt_build_state (&state);
  if (!force && g_strcmp0 (payload, self->last_state) == 0)
    return;
  publish (self, self->state_topic, payload, NULL);
  g_free (self->last_state);
  self->last_state = g_steal_pointer (&payload);
  update_write (self);
}

static gboolean
on_state_idle (gpointer user_data)
{
  PresMqttTransport *self = user_data;

  self->state_idle_id = 0;
  if (!self->leaving)
    publish_state (self, FALSE);
  return G_SOURCE_REMOVE;
}

/* A change notifies several properties one after the other (busy: the
 * manual state, then the state); the message goes once they all have. */
static void
schedule_state (PresMqttTransport *self)
{
  if (self->connected && self->state_idle_id == 0)
    self->state_idle_id = g_idle_add_full (G_PRIORITY_HIGH_IDLE, on_state_idle, self, NULL);
}

static void
publish_discovery (PresMqttTransport *self)
{
  g_auto (PresHostPrivacy) privacy = { 0 };
  g_autofree char *payload = NULL;
  PresMqttDevice device = {
    .object_id = self->object_id,
    .base_topic = self->base_topic,
  };

  pres_host_privacy_init_from_settings (&privacy, self->core.settings);
  device.device_name = privacy.host_alias ? privacy.host_alias
                       : privacy.share_host_name && self->host_info->host_name
                         ? self->host_info->host_name
                         : "Desktop";
  device.model = privacy.share_device_model ? self->host_info->model : NULL;
  payload = pres_mqtt_build_discovery (&device);
  publish (self, self->discovery_topic, payload, NULL);
}

/* Everything, as after a (re)connection or Home Assistant's return. */
static void
announce (PresMqttTransport *self)
{
  publish_discovery (self);
  publish (self, self->availability_topic, "online", NULL);
  publish_state (self, TRUE);
}

static gboolean
on_announce (gpointer user_data)
{
  PresMqttTransport *self = user_data;

  self->announce_id = 0;
  if (self->connected && !self->leaving)
    announce (self);
  return G_SOURCE_REMOVE;
}

static void
on_connect (struct mosquitto *mosq, void *user_data, int rc)
{
  PresMqttTransport *self = user_data;
  g_autofree char *message = NULL;

  if (rc != 0)
    {
      /* after_loop() says it once the library is done with the client. */
      self->lost = TRUE;
      self->refused_rc = rc;
      return;
    }
  g_debug ("Connected to %s:%d", self->host, self->port);
  self->connecting = FALSE;
  self->connected = TRUE;
  pres_backoff_reset (self->core.backoff);
  pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTED);
  pres_link_set_last_error (self->core.link, NULL);
  mosquitto_subscribe (mosq, NULL, self->command_topic, 1);
  mosquitto_subscribe (mosq, NULL, "homeassistant/status", 1);
  announce (self);
  pres_link_set_last_heartbeat (self->core.link, g_get_real_time () / 1000);
}

static void
on_disconnect (struct mosquitto *mosq, void *user_data, int rc)
{
  PresMqttTransport *self = user_data;

  self->lost = TRUE;
  self->lost_rc = rc == 0 ? MOSQ_ERR_CONN_LOST : rc;
}

static void
on_publish (struct mosquitto *mosq, void *user_data, int mid)
{
  PresMqttTransport *self = user_data;

  if (self->connected)
    pres_link_set_last_heartbeat (self->core.link, g_get_real_time () / 1000);
  if (self->leaving && mid == self->offline_mid)
    mosquitto_disconnect (mosq);
}

static void
bad_input (PresMqttTransport *self, const char *what)
{
  /* Once per run in the log: a flood of garbage must not become a flood
   * of log lines. */
  if (!self->bad_input_logged)
    g_message ("Ignoring a command from the broker: %s (later ones are not logged)", what);
  else
    g_debug ("Ignoring a command from the broker: %s", what);
  self->bad_input_logged = TRUE;
}

static void
on_message (struct mosquitto *mosq, void *user_data, const struct mosquitto_message *msg)
{
  PresMqttTransport *self = user_data;
  g_autoptr (GError) error = NULL;
  PresMqttCommand command;

  if (self->leaving || msg->topic == NULL)
    return;
  if (g_str_equal (msg->topic, "homeassistant/status"))
    {
      /* A restarted Home Assistant forgets non-retained state; many
       * desktops answering at once would crowd it, hence the spread. */
      if (!msg->retain && pres_mqtt_parse_ha_status (msg->payload, msg->payloadlen)
          && self->announce_id == 0)
        self->announce_id
          = g_timeout_add (g_rand_int_range (self->core.rand, 200, 1500), on_announce, self);
      return;
    }
  if (!g_str_equal (msg->topic, self->command_topic))
    return;
  if (msg->retain)
    {
      /* Kept by the broker from some earlier moment: not a wish of now. */
      bad_input (self, "a retained command (from before this connection)");
      return;
    }
  if (!pres_mqtt_parse_command (msg->payload, msg->payloadlen, &command, &error))
    {
      bad_input (self, error->message);
      return;
    }
  if (command.automatic)
    pres_model_set_auto (self->core.model);
  else if (!pres_model_set_manual (self->core.model, command.manual, command.seconds, &error))
    bad_input (self, error->message);
  /* A select that asked for what already is gets its state back anyway. */
  publish_state (self, TRUE);
}

typedef struct
{
  struct mosquitto *mosq;
  char *host;
  int port;
  int keepalive;
  guint attempt;
  int saved_errno;
} ConnectData;

static void
connect_data_free (ConnectData *data)
{
  g_clear_pointer (&data->mosq, mosquitto_destroy);
  g_free (data->host);
  g_free (data);
}

static void
connect_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  ConnectData *data = task_data;
  mosquitto_property *props = NULL;
  int rc;

  /* The broker must not send more than the agent is willing to read. */
  mosquitto_property_add_int32 (&props, MQTT_PROP_MAXIMUM_PACKET_SIZE, MAX_PACKET);
  rc = mosquitto_connect_bind_v5 (data->mosq, data->host, data->port, data->keepalive, NULL,
                                  props);
  data->saved_errno = errno;
  mosquitto_property_free_all (&props);
  g_task_return_int (task, rc);
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PresMqttTransport *self = PRES_MQTT_TRANSPORT (source);
  ConnectData *data = g_task_get_task_data (G_TASK (result));
  int rc = (int)g_task_propagate_int (G_TASK (result), NULL);
  g_autofree char *message = NULL;
  int fd;

  if (data->attempt != self->attempt || g_cancellable_is_cancelled (self->core.cancellable))
    return; /* connect_data_free closes it */
  if (rc != MOSQ_ERR_SUCCESS)
    {
      message = g_strdup_printf ("Cannot connect to the broker %s:%d: %s", self->host,
                                 self->port,
                                 rc == MOSQ_ERR_ERRNO ? g_strerror (data->saved_errno) : mosquitto_strerror (rc));
      fail (self, PRES_CONNECTION_ERROR, message);
      return;
    }
  self->mosq = g_steal_pointer (&data->mosq);
  fd = mosquitto_socket (self->mosq);
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  self->read_id = g_unix_fd_add (fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, self);
  /* Pings are due every keepalive; a quarter of it is often enough to send
   * them in time, and no more wakeups than that. */
  self->misc_id = g_timeout_add_seconds (MAX (1, self->keepalive / 4), on_misc, self);
  update_write (self);
}

static void
on_token (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PresMqttTransport) self = user_data;
  g_autoptr (GError) error = NULL;
  PresTokenOrigin origin;

  if (!pres_transport_core_take_token (&self->core, result, &origin, &error))
    return;
  if (error != NULL)
    g_debug ("No broker password: %s", error->message);
  self->core.token_known = TRUE;
  open_connection (self);
}

static void
open_connection (PresMqttTransport *self)
{
  g_autoptr (GTask) task = NULL;
  ConnectData *data;
  struct mosquitto *mosq;
  int rc;

  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (self->host == NULL || offline (self) || self->connecting || self->connected)
    return;
  if (!self->core.token_known)
    {
      pres_transport_core_lookup_token (&self->core, self, on_token);
      return;
    }
  pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTING);
  mosq = mosquitto_new (self->client_id, true, self);
  mosquitto_int_option (mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_connect_callback_set (mosq, on_connect);
  mosquitto_disconnect_callback_set (mosq, on_disconnect);
  mosquitto_publish_callback_set (mosq, on_publish);
  mosquitto_message_callback_set (mosq, on_message);
  /* A crash or a lost link: the broker says it for the agent. */
  mosquitto_will_set (mosq, self->availability_topic, 7, "offline", 1, true);
  /* A password goes only with the user name it belongs to. */
  if (self->user != NULL)
    mosquitto_username_pw_set (mosq, self->user, self->core.token);
  if (self->tls)
    {
      if (self->cafile != NULL)
        rc = mosquitto_tls_set (mosq, self->cafile, NULL, NULL, NULL, NULL);
      else
        rc = mosquitto_int_option (mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
      if (rc != MOSQ_ERR_SUCCESS)
        {
          g_autofree char *message
            = g_strdup_printf ("Cannot use the CA file %s: %s", self->cafile,
                               mosquitto_strerror (rc));
          mosquitto_destroy (mosq);
          fail (self, PRES_CONNECTION_ERROR, message);
          return;
        }
    }

  self->connecting = TRUE;
  data = g_new0 (ConnectData, 1);
  data->mosq = mosq;
  data->host = g_strdup (self->host);
  data->port = self->port;
  data->keepalive = self->keepalive;
  data->attempt = ++self->attempt;
  task = g_task_new (self, NULL, on_connected, NULL);
  g_task_set_task_data (task, data, (GDestroyNotify)connect_data_free);
  g_task_run_in_thread (task, connect_thread);
}

static gboolean
on_leave_deadline (gpointer user_data)
{
  PresMqttTransport *self = user_data;

  self->leave_deadline_id = 0;
  g_debug ("The broker did not take the offline word in time");
  left (self);
  return G_SOURCE_REMOVE;
}

/* Says offline, retained, and closes once the broker has it: only then is
 * the link disconnected and a sleep let go. */
static void
go_offline (PresMqttTransport *self)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (!self->connected)
    {
      left (self);
      return;
    }
  if (self->leaving)
    return;
  publish_state (self, FALSE);
  self->leaving = TRUE;
  publish (self, self->availability_topic, "offline", &self->offline_mid);
  update_write (self);
  self->leave_deadline_id = g_timeout_add (LEAVE_DEADLINE_MS, on_leave_deadline, self);
}

static void
reopen_now (PresMqttTransport *self)
{
  if (!self->core.started || offline (self))
    return;
  drop (self);
  pres_backoff_reset (self->core.backoff);
  open_connection (self);
}

static void
check_server_url (PresMqttTransport *self)
{
  g_autofree char *checked = pres_transport_core_check_url (&self->core, pres_mqtt_check_url);

  g_clear_pointer (&self->host, g_free);
  if (checked != NULL)
    load_url (self, checked);
}

static void
on_state_changed (PresModel *model,
                  PresState state,
                  PresState previous,
                  PresReason reason,
                  PresMqttTransport *self)
{
  if (!self->core.started || quitting (self))
    return;
  if (state == PRES_STATE_OFFLINE)
    go_offline (self);
  else if (previous == PRES_STATE_OFFLINE)
    reopen_now (self);
  else
    schedule_state (self);
}

static void
on_model_notify (PresModel *model, GParamSpec *pspec, PresMqttTransport *self)
{
  if (g_str_equal (pspec->name, "idle"))
    {
      /* The moment of the last input, so that Home Assistant counts idle
       * time itself and nothing is sent while it grows. */
      gint64 now = g_get_real_time () / G_USEC_PER_SEC;

      self->last_input = pres_model_get_idle (model)
                           ? now - pres_idle_source_get_timeout (self->idle_source)
                           : now;
    }
  if (self->core.started && !quitting (self) && !self->leaving)
    schedule_state (self);
}

static void
on_settings_changed (GSettings *settings, const char *key, PresMqttTransport *self)
{
  PresTransportSetting setting;

  if (!self->core.started || quitting (self))
    return;
  setting = pres_transport_core_classify_setting (&self->core, key);
  if (setting == PRES_TRANSPORT_SETTING_SERVER)
    {
      pres_transport_core_forget_token (&self->core);
      check_server_url (self);
      reopen_now (self);
    }
  else if (setting == PRES_TRANSPORT_SETTING_PRIVACY && self->connected)
    publish_discovery (self);
}

static void
start (PresTransport *transport)
{
  PresMqttTransport *self = PRES_MQTT_TRANSPORT (transport);

  check_server_url (self);
  open_connection (self);
}

static void
reconnect (PresTransport *transport)
{
  PresMqttTransport *self = PRES_MQTT_TRANSPORT (transport);

  check_server_url (self);
  reopen_now (self);
}

static void
network_changed (PresTransport *transport)
{
  PresMqttTransport *self = PRES_MQTT_TRANSPORT (transport);

  /* A working connection is kept: keepalive notices a dead one. */
  if (!self->connected && !self->connecting)
    reopen_now (self);
}

static void
resume (PresTransport *transport)
{
  PresMqttTransport *self = PRES_MQTT_TRANSPORT (transport);

  if (!self->connecting)
    reopen_now (self);
}

static void
leave (PresTransport *transport, const char *reason)
{
  PresMqttTransport *self = PRES_MQTT_TRANSPORT (transport);

  g_debug ("Leaving (%s)", reason);
  go_offline (self);
}

static PresTransportCore *
get_core (PresTransport *transport)
{
  return &PRES_MQTT_TRANSPORT (transport)->core;
}

static void
pres_mqtt_transport_iface_init (PresTransportInterface *iface)
{
  iface->get_core = get_core;
  iface->start = start;
  iface->reconnect = reconnect;
  iface->network_changed = network_changed;
  iface->resume = resume;
  iface->leave = leave;
}

static void
pres_mqtt_transport_dispose (GObject *object)
{
  PresMqttTransport *self = PRES_MQTT_TRANSPORT (object);

  g_cancellable_cancel (self->core.cancellable);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->leave_deadline_id, g_source_remove);
  drop (self);
  if (self->core.model != NULL)
    g_signal_handlers_disconnect_by_data (self->core.model, self);
  pres_transport_core_dispose (&self->core, self);

  G_OBJECT_CLASS (pres_mqtt_transport_parent_class)->dispose (object);
}

static void
pres_mqtt_transport_finalize (GObject *object)
{
  PresMqttTransport *self = PRES_MQTT_TRANSPORT (object);

  g_free (self->host);
  g_free (self->user);
  g_free (self->cafile);
  g_free (self->base_topic);
  g_free (self->availability_topic);
  g_free (self->state_topic);
  g_free (self->command_topic);
  g_free (self->discovery_topic);
  g_free (self->object_id);
  g_free (self->client_id);
  g_free (self->last_state);
  g_clear_pointer (&self->host_info, pres_host_info_free);
  g_clear_object (&self->idle_source);
  pres_transport_core_finalize (&self->core);

  G_OBJECT_CLASS (pres_mqtt_transport_parent_class)->finalize (object);
}

static void
pres_mqtt_transport_class_init (PresMqttTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pres_mqtt_transport_dispose;
  object_class->finalize = pres_mqtt_transport_finalize;
}

static void
pres_mqtt_transport_init (PresMqttTransport *self)
{
}

static gpointer
init_library (gpointer data)
{
  mosquitto_lib_init ();
  /* A broker that closes first would otherwise kill the agent on the next
   * write (OpenSSL writes without MSG_NOSIGNAL); the error comes back as
   * EPIPE instead. */
  signal (SIGPIPE, SIG_IGN);
  return NULL;
}

PresTransport *
pres_mqtt_transport_new (const PresTransportSetup *setup)
{
  static GOnce once = G_ONCE_INIT;
  PresMqttTransport *self;

  g_once (&once, init_library, NULL);
  self = g_object_new (PRES_TYPE_MQTT_TRANSPORT, NULL);
  pres_transport_core_init (&self->core, setup);
  self->host_info = pres_host_info_new_system ();
  self->idle_source = g_object_ref (setup->idle_source);
  self->last_input = g_get_real_time () / G_USEC_PER_SEC;
  g_signal_connect_object (setup->model, "state-changed", G_CALLBACK (on_state_changed), self, 0);
  g_signal_connect_object (setup->model, "notify", G_CALLBACK (on_model_notify), self, 0);
  g_signal_connect (setup->settings, "changed", G_CALLBACK (on_settings_changed), self);
  return PRES_TRANSPORT (self);
}
