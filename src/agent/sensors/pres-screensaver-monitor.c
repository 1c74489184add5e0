#define G_LOG_DOMAIN "pres-screensaver"

#include "pres-screensaver-monitor.h"

/*
 * GNOME: the name org.gnome.ScreenSaver belongs to a D-Bus-activated proxy
 * (a gjs service) in front of the shell's ScreenShield, and both send each
 * ActiveChanged. Subscribing by that sender name gets the proxy's copy
 * only; calling GetActive once at start both reads the state and activates
 * the proxy. KDE sends ActiveChanged on two object paths, so the path is
 * left open. Either way only a change of the combined value is reported,
 * which also absorbs any copy that still gets through.
 */

typedef struct
{
  const char *name;
  const char *path; /* where GetActive is called */
  const char *iface;
  gboolean auto_start; /* GNOME's proxy must be activated to speak */
  gboolean active;
  guint watch_id;
  guint signal_id;
} Saver;

enum
{
  SAVER_GNOME,
  SAVER_FREEDESKTOP,
  N_SAVERS
};

struct _PresScreensaverMonitor
{
  GObject parent_instance;

  GDBusConnection *bus;
  GCancellable *cancellable;
  Saver savers[N_SAVERS];
  gboolean locked;
};

G_DEFINE_TYPE (PresScreensaverMonitor, pres_screensaver_monitor, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_LOCKED,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
set_active (PresScreensaverMonitor *self, Saver *saver, gboolean active)
{
  gboolean locked = FALSE;

  saver->active = !!active;
  for (guint i = 0; i < N_SAVERS; i++)
    locked |= self->savers[i].active;
  if (locked == self->locked)
    return;
  self->locked = locked;
  g_debug ("Screen %s (%s)", locked ? "locked" : "unlocked", saver->name);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LOCKED]);
}

static Saver *
saver_for_name (PresScreensaverMonitor *self, const char *name)
{
  for (guint i = 0; i < N_SAVERS; i++)
    if (g_str_equal (self->savers[i].name, name))
      return &self->savers[i];
  g_return_val_if_reached (NULL);
}

static void
on_active_changed (GDBusConnection *bus,
                   const char *sender,
                   const char *path,
                   const char *iface,
                   const char *member,
                   GVariant *parameters,
                   gpointer user_data)
{
  PresScreensaverMonitor *self = user_data;
  gboolean active;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    return;
  g_variant_get (parameters, "(b)", &active);
  /* Each saver's interface has the same name as its bus name. */
  set_active (self, saver_for_name (self, iface), active);
}

typedef struct
{
  PresScreensaverMonitor *self;
  Saver *saver;
} Query;

static void
on_get_active (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree Query *query = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  gboolean active;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (reply == NULL)
    {
      /* Usual: no such screensaver here, or GNOME's NotSupported stub. */
      g_debug ("%s.GetActive: %s", query->saver->iface, error->message);
      return;
    }
  g_variant_get (reply, "(b)", &active);
  set_active (query->self, query->saver, active);
}

static void
get_active (PresScreensaverMonitor *self, Saver *saver, gboolean auto_start)
{
  Query *query = g_new0 (Query, 1);

  query->self = self;
  query->saver = saver;
  g_dbus_connection_call (self->bus, saver->name, saver->path, saver->iface, "GetActive", NULL,
                          G_VARIANT_TYPE ("(b)"),
                          auto_start ? G_DBUS_CALL_FLAGS_NONE : G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          5000, self->cancellable, on_get_active, query);
}

static void
on_saver_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer user_data)
{
  PresScreensaverMonitor *self = user_data;

  get_active (self, saver_for_name (self, name), FALSE);
}

static void
on_saver_vanished (GDBusConnection *bus, const char *name, gpointer user_data)
{
  PresScreensaverMonitor *self = user_data;

  /* A crashed locker must not leave the user idle for good. */
  set_active (self, saver_for_name (self, name), FALSE);
}

gboolean
pres_screensaver_monitor_get_locked (PresScreensaverMonitor *self)
{
  g_return_val_if_fail (PRES_IS_SCREENSAVER_MONITOR (self), FALSE);
  return self->locked;
}

static void
pres_screensaver_monitor_get_property (GObject *object,
                                       guint prop_id,
                                       GValue *value,
                                       GParamSpec *pspec)
{
  PresScreensaverMonitor *self = PRES_SCREENSAVER_MONITOR (object);

  switch (prop_id)
    {
      case PROP_LOCKED:
        g_value_set_boolean (value, self->locked);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pres_screensaver_monitor_dispose (GObject *object)
{
  PresScreensaverMonitor *self = PRES_SCREENSAVER_MONITOR (object);

  g_cancellable_cancel (self->cancellable);
  for (guint i = 0; i < N_SAVERS; i++)
    {
      g_clear_handle_id (&self->savers[i].watch_id, g_bus_unwatch_name);
      if (self->savers[i].signal_id != 0)
        g_dbus_connection_signal_unsubscribe (self->bus, self->savers[i].signal_id);
      self->savers[i].signal_id = 0;
    }
  g_clear_object (&self->cancellable);
  g_clear_object (&self->bus);

  G_OBJECT_CLASS (pres_screensaver_monitor_parent_class)->dispose (object);
}

static void
pres_screensaver_monitor_class_init (PresScreensaverMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = pres_screensaver_monitor_get_property;
  object_class->dispose = pres_screensaver_monitor_dispose;

  props[PROP_LOCKED]
    = g_param_spec_boolean ("locked", NULL, NULL, FALSE,
                            G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
pres_screensaver_monitor_init (PresScreensaverMonitor *self)
{
  self->cancellable = g_cancellable_new ();
  self->savers[SAVER_GNOME] = (Saver){
    .name = "org.gnome.ScreenSaver",
    .path = "/org/gnome/ScreenSaver",
    .iface = "org.gnome.ScreenSaver",
    .auto_start = TRUE,
  };
  self->savers[SAVER_FREEDESKTOP] = (Saver){
    .name = "org.freedesktop.ScreenSaver",
    .path = "/org/freedesktop/ScreenSaver",
    .iface = "org.freedesktop.ScreenSaver",
  };
}

PresScreensaverMonitor *
pres_screensaver_monitor_new (GDBusConnection *bus)
{
  PresScreensaverMonitor *self;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (bus), NULL);

  self = g_object_new (PRES_TYPE_SCREENSAVER_MONITOR, NULL);
  self->bus = g_object_ref (bus);
  for (guint i = 0; i < N_SAVERS; i++)
    {
      Saver *saver = &self->savers[i];

      saver->signal_id = g_dbus_connection_signal_subscribe (
        bus, saver->name, saver->iface, "ActiveChanged", i == SAVER_GNOME ? saver->path : NULL,
        NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_active_changed, self, NULL);
      saver->watch_id
        = g_bus_watch_name_on_connection (bus, saver->name, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                          on_saver_appeared, on_saver_vanished, self, NULL);
      if (saver->auto_start)
        get_active (self, saver, TRUE);
    }
  return self;
}
