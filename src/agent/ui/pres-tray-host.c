#define G_LOG_DOMAIN "pres-tray-host"

#include "config.h"

#include <glib/gi18n.h>

#include "pres-tray-host.h"

#define WATCHER_NAME "org.kde.StatusNotifierWatcher"
#define WATCHER_PATH "/StatusNotifierWatcher"
#define WATCHER_INTERFACE "org.kde.StatusNotifierWatcher"
#define GNOME_SHELL_NAME "org.gnome.Shell"

/* The AppIndicator extension as Debian's gnome-shell-extension-appindicator
 * installs it, and as extensions.gnome.org does. */
#define DEBIAN_APPINDICATOR_UUID "ubuntu-appindicators@ubuntu.com"
#define EGO_APPINDICATOR_UUID "appindicatorsupport@rgcjonas.gmail.com"

struct _PresTrayHost
{
  GObject parent_instance;

  GCancellable    *cancellable;
  GDBusConnection *connection; /* while a watcher is there */
  guint            watch_id;
  guint            shell_watch_id;
  guint            registered_signal_id;
  guint            unregistered_signal_id;
  guint            grace_id;

  gboolean watcher;
  gboolean host_registered;
  gboolean can_show;
  gboolean gnome_shell;
  gboolean watcher_answered; /* the name watches have said once whether */
  gboolean shell_answered;   /* their name has an owner */
  gboolean grace_timer_done;
  gboolean grace_over;
  char    *hint; /* NULL while an icon can be seen, or during the grace */
};

enum
{
  PROP_0,
  PROP_WATCHER,
  PROP_HOST_REGISTERED,
  PROP_HINT,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_TYPE (PresTrayHost, pres_tray_host, G_TYPE_OBJECT)

/* The UUID of an AppIndicator extension installed for this user or the
 * system, NULL if there is none. */
static const char *
installed_appindicator (void)
{
  static const char *const uuids[] = { DEBIAN_APPINDICATOR_UUID, EGO_APPINDICATOR_UUID };
  const char *const *system_dirs = g_get_system_data_dirs ();

  for (guint i = 0; i < G_N_ELEMENTS (uuids); i++)
    {
      g_autofree char *user = g_build_filename (g_get_user_data_dir (), "gnome-shell",
                                                "extensions", uuids[i], "metadata.json", NULL);

      if (g_file_test (user, G_FILE_TEST_EXISTS))
        return uuids[i];
      for (guint j = 0; system_dirs[j] != NULL; j++)
        {
          g_autofree char *path = g_build_filename (system_dirs[j], "gnome-shell", "extensions",
                                                    uuids[i], "metadata.json", NULL);

          if (g_file_test (path, G_FILE_TEST_EXISTS))
            return uuids[i];
        }
    }
  return NULL;
}

/* Stock GNOME Shell has no tray at all: a GNOME user needs the extension,
 * and the command that enables the one installed. */
static char *
gnome_hint (void)
{
  const char *uuid = installed_appindicator ();

  if (uuid != NULL)
    return g_strdup_printf (_("GNOME Shell shows tray icons only with the AppIndicator "
                              "extension, which is installed but not running: run "
                              "“gnome-extensions enable %s” (if it was installed in this "
                              "session, log out and back in first)."),
                            uuid);
  return g_strdup_printf (_("GNOME Shell shows tray icons only with the AppIndicator extension: "
                            "install the Debian package gnome-shell-extension-appindicator, log "
                            "out and back in, then run “gnome-extensions enable %s” (for the "
                            "extension from extensions.gnome.org: “gnome-extensions enable %s”)."),
                          DEBIAN_APPINDICATOR_UUID, EGO_APPINDICATOR_UUID);
}

/* One sentence for the notification, Explain and `presencectl status`:
 * why no icon can be seen and what gets one. */
static char *
compute_hint (PresTrayHost *self)
{
  if (!self->grace_over || (self->can_show && self->watcher && self->host_registered))
    return NULL;
  if (!self->can_show)
    return g_strdup (_("No tray icon: the agent has no display to show one on."));
  if (!self->watcher && self->gnome_shell)
    return gnome_hint ();
  if (!self->watcher)
    return g_strdup (_("No tray icon: nothing on this desktop hosts tray icons (no "
                       "org.kde.StatusNotifierWatcher on the session bus); a panel with a "
                       "StatusNotifierItem tray, such as waybar’s or KDE Plasma’s, shows it."));
  return g_strdup (_("No tray icon: a StatusNotifierWatcher runs but no tray host has "
                     "registered with it; start the panel that shows the tray."));
}

static void
update_hint (PresTrayHost *self)
{
  g_autofree char *hint = compute_hint (self);

  if (g_strcmp0 (hint, self->hint) == 0)
    return;
  g_free (self->hint);
  self->hint = g_steal_pointer (&hint);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_HINT]);
}

static void maybe_end_grace (PresTrayHost *self);

static void
set_host_registered (PresTrayHost *self,
                     gboolean      registered)
{
  if (self->host_registered == registered)
    return;
  g_debug ("Tray host %s", registered ? "registered" : "gone");
  self->host_registered = registered;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_HOST_REGISTERED]);
  update_hint (self);
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
  update_hint (self);
  self->watcher_answered = TRUE;
  maybe_end_grace (self);
}

static void
on_watcher_vanished (GDBusConnection *connection,
                     const char      *name,
                     gpointer         user_data)
{
  PresTrayHost *self = user_data;

  forget_watcher (self);
  set_host_registered (self, FALSE);
  self->watcher_answered = TRUE;
  maybe_end_grace (self);
  if (!self->watcher)
    return;
  g_debug ("Tray watcher gone");
  self->watcher = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_WATCHER]);
  update_hint (self);
}

static void
on_shell_appeared (GDBusConnection *connection,
                   const char      *name,
                   const char      *owner,
                   gpointer         user_data)
{
  PresTrayHost *self = user_data;

  self->gnome_shell = TRUE;
  update_hint (self);
  self->shell_answered = TRUE;
  maybe_end_grace (self);
}

static void
on_shell_vanished (GDBusConnection *connection,
                   const char      *name,
                   gpointer         user_data)
{
  PresTrayHost *self = user_data;

  self->gnome_shell = FALSE;
  update_hint (self);
  self->shell_answered = TRUE;
  maybe_end_grace (self);
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
  g_autofree char *body = NULL;
  GVariantBuilder actions, hints;

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL)
    {
      g_warning ("Cannot show the no-tray notification: %s", error->message);
      return;
    }
  body = g_strdup_printf ("%s\n%s", self->hint,
                          _("Meanwhile, set your state from a terminal: “presencectl busy --for "
                            "1h”, “presencectl appear-offline”, “presencectl auto”; "
                            "“presencectl status” shows it."));
  g_variant_builder_init (&actions, G_VARIANT_TYPE_STRING_ARRAY);
  g_variant_builder_init (&hints, G_VARIANT_TYPE_VARDICT);
  g_dbus_connection_call (
    bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
    "org.freedesktop.Notifications", "Notify",
    g_variant_new ("(susssasa{sv}i)", _("Presence"), 0, "org.presence.Agent",
                   _("Presence is running without a tray icon"), body, &actions, &hints, -1),
    G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, on_notified, NULL);
}

/* The grace is over once its time has passed and both name watches have
 * answered: an agent that starts slowly (a loaded machine, valgrind) must
 * not tell a GNOME user about panels because the answer about GNOME Shell
 * came after the timer. */
static void
maybe_end_grace (PresTrayHost *self)
{
  if (self->grace_over || !self->grace_timer_done || !self->watcher_answered
      || !self->shell_answered)
    return;
  self->grace_over = TRUE;
  update_hint (self);
  if (self->hint == NULL)
    return;
  /* Without a display the tray has said so already: one line per fact. */
  if (self->can_show)
    g_message ("%s", self->hint);
  send_notification (self);
}

static gboolean
on_grace_over (gpointer user_data)
{
  PresTrayHost *self = user_data;

  self->grace_id = 0;
  self->grace_timer_done = TRUE;
  maybe_end_grace (self);
  return G_SOURCE_REMOVE;
}

PresTrayHost *
pres_tray_host_new (guint grace_ms)
{
  PresTrayHost *self = g_object_new (PRES_TYPE_TRAY_HOST, NULL);

  self->watch_id = g_bus_watch_name (G_BUS_TYPE_SESSION, WATCHER_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                     on_watcher_appeared, on_watcher_vanished, self, NULL);
  self->shell_watch_id = g_bus_watch_name (G_BUS_TYPE_SESSION, GNOME_SHELL_NAME,
                                           G_BUS_NAME_WATCHER_FLAGS_NONE, on_shell_appeared,
                                           on_shell_vanished, self, NULL);
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

const char *
pres_tray_host_get_hint (PresTrayHost *self)
{
  g_return_val_if_fail (PRES_IS_TRAY_HOST (self), NULL);
  return self->hint;
}

void
pres_tray_host_set_can_show (PresTrayHost *self,
                             gboolean      can_show)
{
  g_return_if_fail (PRES_IS_TRAY_HOST (self));
  self->can_show = can_show;
  update_hint (self);
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
      case PROP_HINT:
        g_value_set_string (value, self->hint);
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
  g_clear_handle_id (&self->shell_watch_id, g_bus_unwatch_name);
  g_clear_handle_id (&self->grace_id, g_source_remove);
  forget_watcher (self);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (pres_tray_host_parent_class)->dispose (object);
}

static void
pres_tray_host_finalize (GObject *object)
{
  g_free (PRES_TRAY_HOST (object)->hint);

  G_OBJECT_CLASS (pres_tray_host_parent_class)->finalize (object);
}

static void
pres_tray_host_class_init (PresTrayHostClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = pres_tray_host_get_property;
  object_class->dispose = pres_tray_host_dispose;
  object_class->finalize = pres_tray_host_finalize;

  props[PROP_WATCHER] = g_param_spec_boolean ("watcher", NULL, NULL, FALSE, ro);
  props[PROP_HOST_REGISTERED] = g_param_spec_boolean ("host-registered", NULL, NULL, FALSE, ro);
  props[PROP_HINT] = g_param_spec_string ("hint", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
pres_tray_host_init (PresTrayHost *self)
{
  self->cancellable = g_cancellable_new ();
  self->can_show = TRUE;
}
