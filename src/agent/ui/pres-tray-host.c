#define G_LOG_DOMAIN "pres-tray-host"

#include "config.h"

#include <glib/gi18n.h>

#include "pres-tray-host.h"

#define WATCHER_NAME "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH "/StatusNotifierWatcher"
#define WATCHER_INTERFACE "org.kde.StatusNotifierWatcher"

struct _PresTrayHost
{
  GObject parent_instance;

  GCancellable    *cancellable;
  GDBusConnection *connection; /* while a watcher is there */
  guint            watch_id;
  guint            registered_signal_id;
  guint            unregistered_signal_id;
  guint            grace_id;

  gboolean watcher;
  gboolean host_registered;
  gboolean can_show;
};

enum
{
  PROP_0,
  PROP_WATCHER,
  PROP_HOST_REGISTERED,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_TYPE (PresTrayHost, pres_tray_host, G_TYPE_OBJECT)

static void
set_host_registered (PresTrayHost *self,
                     gboolean      registered)
{
  if (self->host_registered == registered)
    return;
  g_debug ("Tray host %s", registered ? "registered" : "gone");
  self->host_registered = registered;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_HOST_REGISTERED]);
}

static void
on_host_signal (GDBusConnection *connection,
                const char      *sender,
                const char      *path,
                const char      *interface,
                const char      *signal,
                GVariant        *parameters,
                gpointer         user_data)
{
  set_host_registered (user_data, g_str_equal (signal, "StatusNotifierHostRegistered"));
}

static void
on_host_registered_got (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) value = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot ask the tray watcher for a host: %s", error->message);
      return;
    }
  g_variant_get (reply, "(v)", &value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    set_host_registered (user_data, g_variant_get_boolean (value));
}

static void
forget_watcher (PresTrayHost *self)
{
  if (self->connection == NULL)
    return;
  g_dbus_connection_signal_unsubscribe (self->connection, self->registered_signal_id);
  g_dbus_connection_signal_unsubscribe (self->connection, self->unregistered_signal_id);
  self->registered_signal_id = self->unregistered_signal_id = 0;
  g_clear_object (&self->connection);
}

static guint
subscribe (PresTrayHost    *self,
           GDBusConnection *connection,
           const char      *owner,
           const char      *signal)
{
  return g_dbus_connection_signal_subscribe (connection, owner, WATCHER_INTERFACE, signal,
                                             WATCHER_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                             on_host_signal, self, NULL);
}

static void
on_watcher_appeared (GDBusConnection *connection,
                     const char      *name,
                     const char      *owner,
                     gpointer         user_data)
{
  PresTrayHost *self = user_data;

  g_debug ("Tray watcher %s appeared", owner);
  forget_watcher (self);
  self->connection = g_object_ref (connection);
  self->registered_signal_id = subscribe (self, connection, owner,
                                          "StatusNotifierHostRegistered");
  self->unregistered_signal_id = subscribe (self, connection, owner,
                                            "StatusNotifierHostUnregistered");
  g_dbus_connection_call (connection, owner, WATCHER_PATH, "org.freedesktop.DBus.Properties",
                          "Get",
                          g_variant_new ("(ss)", WATCHER_INTERFACE,
                                         "IsStatusNotifierHostRegistered"),
                          G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable,
                          on_host_registered_got, self);

  /* A restarted watcher is a new one: say so even if none was seen gone. */
  self->watcher = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_WATCHER]);
}

static void
on_watcher_vanished (GDBusConnection *connection,
                     const char      *name,
                     gpointer         user_data)
{
  PresTrayHost *self = user_data;

  forget_watcher (self);
  set_host_registered (self, FALSE);
  if (!self->watcher)
    return;
  g_debug ("Tray watcher gone");
  self->watcher = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_WATCHER]);
}

static void
on_notified (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;

  /* Sessions without a notification server are the headless ones, which
   * on_grace_over() has already logged. */
  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    g_debug ("No notification shown: %s", error->message);
}

static void
send_notification (PresTrayHost *self)
{
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (GError) error = NULL;
  GVariantBuilder actions, hints;

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL)
    {
      g_warning ("Cannot show the no-tray notification: %s", error->message);
      return;
    }
  g_variant_builder_init (&actions, G_VARIANT_TYPE_STRING_ARRAY);
  g_variant_builder_init (&hints, G_VARIANT_TYPE_VARDICT);
  g_dbus_connection_call (
    bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
    "org.freedesktop.Notifications", "Notify",
    g_variant_new ("(susssasa{sv}i)", _("Presence"), 0, "org.presence.Agent",
                   _("Presence is running without a tray icon"),
                   _("Set your state from a terminal: “presencectl busy --for 1h”, "
                     "“presencectl appear-offline”, “presencectl auto”. "
                     "“presencectl status” shows it."),
                   &actions, &hints, -1),
    G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, on_notified, NULL);
}

static gboolean
on_grace_over (gpointer user_data)
{
  PresTrayHost *self = user_data;

  self->grace_id = 0;
  if (self->can_show && self->watcher && self->host_registered)
    return G_SOURCE_REMOVE;
  g_message ("No tray icon can be shown (%s); telling the user about presencectl",
             !self->can_show ? "no display" : !self->watcher ? "no StatusNotifierWatcher"
                                                             : "no tray host");
  send_notification (self);
  return G_SOURCE_REMOVE;
}

PresTrayHost *
pres_tray_host_new (guint grace_ms)
{
  PresTrayHost *self = g_object_new (PRES_TYPE_TRAY_HOST, NULL);

  self->watch_id = g_bus_watch_name (G_BUS_TYPE_SESSION, WATCHER_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                     on_watcher_appeared, on_watcher_vanished, self, NULL);
  self->grace_id = g_timeout_add (grace_ms, on_grace_over, self);
  return self;
}

gboolean
pres_tray_host_get_watcher (PresTrayHost *self)
{
  g_return_val_if_fail (PRES_IS_TRAY_HOST (self), FALSE);
  return self->watcher;
}

gboolean
pres_tray_host_get_host_registered (PresTrayHost *self)
{
  g_return_val_if_fail (PRES_IS_TRAY_HOST (self), FALSE);
  return self->host_registered;
}

void
pres_tray_host_set_can_show (PresTrayHost *self,
                             gboolean      can_show)
{
  g_return_if_fail (PRES_IS_TRAY_HOST (self));
  self->can_show = can_show;
}

static void
pres_tray_host_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  PresTrayHost *self = PRES_TRAY_HOST (object);

  switch (prop_id)
    {
      case PROP_WATCHER:
        g_value_set_boolean (value, self->watcher);
        break;
      case PROP_HOST_REGISTERED:
        g_value_set_boolean (value, self->host_registered);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pres_tray_host_dispose (GObject *object)
{
  PresTrayHost *self = PRES_TRAY_HOST (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  g_clear_handle_id (&self->grace_id, g_source_remove);
  forget_watcher (self);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (pres_tray_host_parent_class)->dispose (object);
}

static void
pres_tray_host_class_init (PresTrayHostClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = pres_tray_host_get_property;
  object_class->dispose = pres_tray_host_dispose;

  props[PROP_WATCHER] = g_param_spec_boolean ("watcher", NULL, NULL, FALSE, ro);
  props[PROP_HOST_REGISTERED] = g_param_spec_boolean ("host-registered", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
pres_tray_host_init (PresTrayHost *self)
{
  self->cancellable = g_cancellable_new ();
  self->can_show = TRUE;
}
