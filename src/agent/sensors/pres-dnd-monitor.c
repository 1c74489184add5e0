#define G_LOG_DOMAIN "pres-dnd"

#include "pres-dnd-monitor.h"

/*
 * KDE's notification server exports Inhibited (the user's DND plus
 * applications' inhibitions) and sends PropertiesChanged for it by hand.
 * Other servers (dunst, mako) have no such property: the Get fails and the
 * fact stays FALSE. The server is D-Bus activatable, so it is never started
 * from here: only a running one is asked.
 */

#define NOTIFICATIONS_NAME "org.freedesktop.Notifications"
#define NOTIFICATIONS_PATH "/org/freedesktop/Notifications"
#define GNOME_SCHEMA "org.gnome.desktop.notifications"

struct _PresDndMonitor
{
  GObject parent_instance;

  GDBusConnection *bus;
  GCancellable *cancellable;
  GSettings *gnome; /* NULL without GNOME's schema */
  guint watch_id;
  guint signal_id;
  gboolean gnome_dnd;
  gboolean kde_dnd;
  gboolean dnd;
};

G_DEFINE_TYPE (PresDndMonitor, pres_dnd_monitor, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_DND,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
update (PresDndMonitor *self)
{
  gboolean dnd = self->gnome_dnd || self->kde_dnd;

  if (dnd == self->dnd)
    return;
  self->dnd = dnd;
  g_debug ("Do Not Disturb %s", dnd ? "on" : "off");
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DND]);
}

static void
on_show_banners (PresDndMonitor *self)
{
  self->gnome_dnd = !g_settings_get_boolean (self->gnome, "show-banners");
  update (self);
}

static void
set_kde (PresDndMonitor *self, GVariant *value)
{
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return;
  self->kde_dnd = g_variant_get_boolean (value);
  update (self);
}

static void
on_inhibited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) value = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (reply == NULL)
    {
      g_debug ("The notification server tells no Inhibited: %s", error->message);
      return;
    }
  g_variant_get (reply, "(v)", &value);
  set_kde (PRES_DND_MONITOR (user_data), value);
}

static void
on_properties_changed (GDBusConnection *bus,
                       const char *sender,
                       const char *path,
                       const char *iface,
                       const char *member,
                       GVariant *parameters,
                       gpointer user_data)
{
  PresDndMonitor *self = user_data;
  g_autoptr (GVariant) changed = NULL;
  g_autoptr (GVariant) value = NULL;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    return;
  changed = g_variant_get_child_value (parameters, 1);
  value = g_variant_lookup_value (changed, "Inhibited", NULL);
  if (value != NULL)
    set_kde (self, value);
}

static void
on_server_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer user_data)
{
  PresDndMonitor *self = user_data;

  g_dbus_connection_call (
    bus, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, "org.freedesktop.DBus.Properties", "Get",
    g_variant_new ("(ss)", NOTIFICATIONS_NAME, "Inhibited"), G_VARIANT_TYPE ("(v)"),
    G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, self->cancellable, on_inhibited, self);
}

static void
on_server_vanished (GDBusConnection *bus, const char *name, gpointer user_data)
{
  PresDndMonitor *self = user_data;

  self->kde_dnd = FALSE;
  update (self);
}

gboolean
pres_dnd_monitor_get_dnd (PresDndMonitor *self)
{
  g_return_val_if_fail (PRES_IS_DND_MONITOR (self), FALSE);
  return self->dnd;
}

static void
pres_dnd_monitor_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PresDndMonitor *self = PRES_DND_MONITOR (object);

  switch (prop_id)
    {
      case PROP_DND:
        g_value_set_boolean (value, self->dnd);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pres_dnd_monitor_dispose (GObject *object)
{
  PresDndMonitor *self = PRES_DND_MONITOR (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->watch_id, g_bus_unwatch_name);
  if (self->signal_id != 0)
    g_dbus_connection_signal_unsubscribe (self->bus, self->signal_id);
  self->signal_id = 0;
  if (self->gnome != NULL)
    g_signal_handlers_disconnect_by_data (self->gnome, self);
  g_clear_object (&self->gnome);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->bus);

  G_OBJECT_CLASS (pres_dnd_monitor_parent_class)->dispose (object);
}

static void
pres_dnd_monitor_class_init (PresDndMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = pres_dnd_monitor_get_property;
  object_class->dispose = pres_dnd_monitor_dispose;

  props[PROP_DND] = g_param_spec_boolean (
    "dnd", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
pres_dnd_monitor_init (PresDndMonitor *self)
{
  self->cancellable = g_cancellable_new ();
}

PresDndMonitor *
pres_dnd_monitor_new (GDBusConnection *bus)
{
  PresDndMonitor *self;
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (bus), NULL);

  self = g_object_new (PRES_TYPE_DND_MONITOR, NULL);
  self->bus = g_object_ref (bus);

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, GNOME_SCHEMA, TRUE);
  if (schema != NULL && g_settings_schema_has_key (schema, "show-banners"))
    {
      self->gnome = g_settings_new (GNOME_SCHEMA);
      g_signal_connect_swapped (self->gnome, "changed::show-banners", G_CALLBACK (on_show_banners),
                                self);
      on_show_banners (self);
    }

  self->signal_id = g_dbus_connection_signal_subscribe (
    bus, NOTIFICATIONS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged",
    NOTIFICATIONS_PATH, NOTIFICATIONS_NAME, G_DBUS_SIGNAL_FLAGS_NONE, on_properties_changed, self,
    NULL);
  self->watch_id
    = g_bus_watch_name_on_connection (bus, NOTIFICATIONS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                      on_server_appeared, on_server_vanished, self, NULL);
  return self;
}
