#define G_LOG_DOMAIN "pres-logind"

#include "pres-logind-monitor.h"

#include <unistd.h>

#include <gio/gunixfdlist.h>

/*
 * logind is watched by name: when it appears (at start, or after a restart)
 * the manager's signals are subscribed, the delay inhibitor is taken and our
 * session is looked up; when it goes, all of that is dropped and the facts
 * fall back to their neutral values. Every call made for one appearance
 * shares one cancellable, so a late reply never acts on the next one.
 *
 * Which session is ours: XDG_SESSION_ID, else the session of our PID (none
 * for a systemd --user service), else the user's Display session. That is
 * the order swayidle and gnome-session use, with the fallback for agents
 * started outside the session.
 */

#define LOGIND_NAME "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define MANAGER_IFACE "org.freedesktop.login1.Manager"
#define SESSION_IFACE "org.freedesktop.login1.Session"
#define USER_IFACE "org.freedesktop.login1.User"
#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

/* logind waits InhibitDelayMaxSec (5 s by default) for delay inhibitors;
 * letting go well before keeps a slow server from delaying every suspend. */
#define SAFETY_TIMEOUT_MS 3000

typedef enum
{
  FIND_BY_ENVIRONMENT,
  FIND_BY_PID,
  FIND_BY_USER,
} FindStep;

struct _PresLogindMonitor
{
  GObject parent_instance;

  GCancellable *start_cancellable; /* getting the bus */
  GCancellable *cancellable;       /* one appearance of logind */
  GDBusConnection *bus;
  guint name_watch_id;
  guint manager_signals_id;
  guint session_signals_id;
  guint session_properties_id;

  FindStep find_step;
  char *session_id;
  char *session_path;

  int inhibit_fd;
  gboolean inhibit_pending;
  guint safety_id;

  gboolean available;
  gboolean locked;
  gboolean session_active;
  gboolean sleeping;
  gboolean shutting_down;
  gboolean ended;
  gboolean said_unavailable;
};

G_DEFINE_TYPE (PresLogindMonitor, pres_logind_monitor, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_AVAILABLE,
  PROP_LOCKED,
  PROP_SESSION_ACTIVE,
  PROP_INHIBITED,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum
{
  SIGNAL_PREPARE_FOR_SLEEP,
  SIGNAL_PREPARE_FOR_SHUTDOWN,
  SIGNAL_RESUMED,
  SIGNAL_SESSION_ENDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
set_flag (PresLogindMonitor *self, gboolean *flag, gboolean value, int prop)
{
  value = !!value;
  if (*flag == value)
    return;
  *flag = value;
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

static void
release_inhibitor (PresLogindMonitor *self)
{
  g_clear_handle_id (&self->safety_id, g_source_remove);
  if (self->inhibit_fd < 0)
    return;
  close (self->inhibit_fd);
  self->inhibit_fd = -1;
  g_debug ("Released the delay inhibitor");
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_INHIBITED]);
}

static void
on_inhibited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GUnixFDList) fds = NULL;
  g_autoptr (GVariant) reply = NULL;
  PresLogindMonitor *self;
  gint32 handle;
  int fd;

  reply = g_dbus_connection_call_with_unix_fd_list_finish (G_DBUS_CONNECTION (source), &fds, result,
                                                           &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PRES_LOGIND_MONITOR (user_data);
  self->inhibit_pending = FALSE;
  if (reply == NULL)
    {
      g_warning ("Cannot take a delay inhibitor: the leave may not reach the server before "
                 "sleep: %s",
                 error->message);
      return;
    }

  g_variant_get (reply, "(h)", &handle);
  fd = fds != NULL ? g_unix_fd_list_get (fds, handle, &error) : -1;
  if (fd < 0)
    {
      g_warning ("logind's inhibitor reply carries no file descriptor");
      return;
    }
  /* Already going down again: holding it now would only delay the machine. */
  if (self->sleeping || self->shutting_down || self->inhibit_fd >= 0)
    {
      close (fd);
      return;
    }
  self->inhibit_fd = fd;
  g_debug ("Holding a delay inhibitor for sleep and shutdown");
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_INHIBITED]);
}

static void
take_inhibitor (PresLogindMonitor *self)
{
  if (self->inhibit_fd >= 0 || self->inhibit_pending || self->bus == NULL || !self->available)
    return;
  self->inhibit_pending = TRUE;
  g_dbus_connection_call_with_unix_fd_list (
    self->bus, LOGIND_NAME, LOGIND_PATH, MANAGER_IFACE, "Inhibit",
    g_variant_new ("(ssss)", "sleep:shutdown", "presence-agent", "Send a leave before sleep",
                   "delay"),
    G_VARIANT_TYPE ("(h)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, self->cancellable, on_inhibited,
    self);
}

static gboolean
on_safety_timeout (gpointer user_data)
{
  PresLogindMonitor *self = user_data;

  self->safety_id = 0;
  g_debug ("The leave took too long; letting the machine go anyway");
  release_inhibitor (self);
  return G_SOURCE_REMOVE;
}

static void
prepare (PresLogindMonitor *self, gboolean sleep, gboolean start)
{
  gboolean *flag = sleep ? &self->sleeping : &self->shutting_down;
  const char *what = sleep ? "sleep" : "shutdown";

  /* logind (and some scripts) may say it twice: act once per transition. */
  if (*flag == start)
    {
      g_debug ("Ignoring a repeated PrepareFor%s(%s)", sleep ? "Sleep" : "Shutdown",
               start ? "true" : "false");
      return;
    }
  *flag = start;

  if (start)
    {
      g_debug ("Preparing for %s", what);
      if (self->inhibit_fd >= 0 && self->safety_id == 0)
        self->safety_id = g_timeout_add (SAFETY_TIMEOUT_MS, on_safety_timeout, self);
      g_signal_emit (self, signals[sleep ? SIGNAL_PREPARE_FOR_SLEEP : SIGNAL_PREPARE_FOR_SHUTDOWN],
                     0, TRUE);
      return;
    }

  g_debug (sleep ? "Resumed" : "Shutdown cancelled");
  if (!self->sleeping && !self->shutting_down)
    {
      /* The leave may still be under way when sleep is cancelled. */
      release_inhibitor (self);
      take_inhibitor (self);
    }
  g_signal_emit (self, signals[sleep ? SIGNAL_PREPARE_FOR_SLEEP : SIGNAL_PREPARE_FOR_SHUTDOWN], 0,
                 FALSE);
  if (sleep)
    g_signal_emit (self, signals[SIGNAL_RESUMED], 0);
}

static void
end_session (PresLogindMonitor *self, const char *why)
{
  if (self->ended)
    return;
  self->ended = TRUE;
  g_debug ("Our session ended (%s)", why);
  g_signal_emit (self, signals[SIGNAL_SESSION_ENDED], 0);
}

static void
on_manager_signal (GDBusConnection *bus,
                   const char *sender,
                   const char *path,
                   const char *iface,
                   const char *member,
                   GVariant *parameters,
                   gpointer user_data)
{
  PresLogindMonitor *self = user_data;

  if (g_str_equal (member, "PrepareForSleep") || g_str_equal (member, "PrepareForShutdown"))
    {
      gboolean start;

      if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
        return;
      g_variant_get (parameters, "(b)", &start);
      prepare (self, g_str_equal (member, "PrepareForSleep"), start);
    }
  else if (g_str_equal (member, "SessionRemoved"))
    {
      const char *id, *object_path;

      if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(so)")))
        return;
      g_variant_get (parameters, "(&s&o)", &id, &object_path);
      if (g_strcmp0 (object_path, self->session_path) == 0 || g_strcmp0 (id, self->session_id) == 0)
        end_session (self, "removed");
    }
}

static void
apply_session_property (PresLogindMonitor *self, const char *name, GVariant *value)
{
  if (g_str_equal (name, "LockedHint") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    set_flag (self, &self->locked, g_variant_get_boolean (value), PROP_LOCKED);
  else if (g_str_equal (name, "Active") && g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    set_flag (self, &self->session_active, g_variant_get_boolean (value), PROP_SESSION_ACTIVE);
  else if (g_str_equal (name, "State") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      if (g_str_equal (g_variant_get_string (value, NULL), "closing"))
        end_session (self, "closing");
    }
  else if (g_str_equal (name, "Id") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
           && self->session_id == NULL)
    self->session_id = g_variant_dup_string (value, NULL);
}

static void
apply_session_properties (PresLogindMonitor *self, GVariant *dict)
{
  GVariantIter iter;
  const char *name;
  GVariant *value;

  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_loop (&iter, "{&sv}", &name, &value))
    apply_session_property (self, name, value);
}

static void
on_session_properties (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) dict = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (reply == NULL)
    {
      g_warning ("Cannot read the logind session: %s", error->message);
      return;
    }
  dict = g_variant_get_child_value (reply, 0);
  apply_session_properties (PRES_LOGIND_MONITOR (user_data), dict);
}

static void
read_session (PresLogindMonitor *self)
{
  g_dbus_connection_call (self->bus, LOGIND_NAME, self->session_path, PROPERTIES_IFACE, "GetAll",
                          g_variant_new ("(s)", SESSION_IFACE), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, on_session_properties,
                          self);
}

static void
on_session_signal (GDBusConnection *bus,
                   const char *sender,
                   const char *path,
                   const char *iface,
                   const char *member,
                   GVariant *parameters,
                   gpointer user_data)
{
  PresLogindMonitor *self = user_data;

  /* Lock and Unlock ask the session's locker to act; the locker confirms
   * with LockedHint. Either way the user is away from this point. */
  if (g_str_equal (member, "Lock"))
    set_flag (self, &self->locked, TRUE, PROP_LOCKED);
  else if (g_str_equal (member, "Unlock"))
    set_flag (self, &self->locked, FALSE, PROP_LOCKED);
  else if (g_str_equal (member, "PropertiesChanged")
           && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    {
      g_autoptr (GVariant) changed = g_variant_get_child_value (parameters, 1);
      g_autoptr (GVariant) invalidated = g_variant_get_child_value (parameters, 2);

      apply_session_properties (self, changed);
      if (g_variant_n_children (invalidated) > 0)
        read_session (self);
    }
}

static void
watch_session (PresLogindMonitor *self, const char *path)
{
  g_free (self->session_path);
  self->session_path = g_strdup (path);
  g_debug ("Our logind session is %s", path);

  self->session_signals_id
    = g_dbus_connection_signal_subscribe (self->bus, LOGIND_NAME, SESSION_IFACE, NULL, path, NULL,
                                          G_DBUS_SIGNAL_FLAGS_NONE, on_session_signal, self, NULL);
  self->session_properties_id = g_dbus_connection_signal_subscribe (
    self->bus, LOGIND_NAME, PROPERTIES_IFACE, "PropertiesChanged", path, SESSION_IFACE,
    G_DBUS_SIGNAL_FLAGS_NONE, on_session_signal, self, NULL);
  read_session (self);
}

static void find_session (PresLogindMonitor *self);

static void
on_session_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  PresLogindMonitor *self;
  const char *path = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PRES_LOGIND_MONITOR (user_data);

  if (reply != NULL && g_variant_is_of_type (reply, G_VARIANT_TYPE ("(o)")))
    g_variant_get (reply, "(&o)", &path);
  else if (reply != NULL)
    {
      /* The user's Display: (so), "/" when there is none. */
      g_autoptr (GVariant) value = NULL;
      const char *id = NULL;

      g_variant_get (reply, "(v)", &value);
      if (g_variant_is_of_type (value, G_VARIANT_TYPE ("(so)")))
        g_variant_get (value, "(&s&o)", &id, &path);
      if (path == NULL || g_str_equal (path, "/"))
        {
          g_debug ("This user has no graphical logind session: lock and session facts "
                   "unavailable");
          return;
        }
      g_free (self->session_id);
      self->session_id = g_strdup (id);
    }

  if (path != NULL)
    {
      watch_session (self, path);
      return;
    }
  g_debug ("No logind session this way: %s", error->message);
  g_clear_pointer (&self->session_id, g_free);
  self->find_step++;
  find_session (self);
}

static void
on_user_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  PresLogindMonitor *self;
  const char *user_path;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PRES_LOGIND_MONITOR (user_data);
  if (reply == NULL)
    {
      g_debug ("No logind session for this user: %s; lock and session facts unavailable",
               error->message);
      return;
    }
  g_variant_get (reply, "(&o)", &user_path);
  g_dbus_connection_call (self->bus, LOGIND_NAME, user_path, PROPERTIES_IFACE, "Get",
                          g_variant_new ("(ss)", USER_IFACE, "Display"), G_VARIANT_TYPE ("(v)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, on_session_found, self);
}

static void
find_session (PresLogindMonitor *self)
{
  const char *id = g_getenv ("XDG_SESSION_ID");

  switch (self->find_step)
    {
      case FIND_BY_ENVIRONMENT:
        if (id != NULL && *id != '\0')
          {
            g_dbus_connection_call (self->bus, LOGIND_NAME, LOGIND_PATH, MANAGER_IFACE,
                                    "GetSession", g_variant_new ("(s)", id), G_VARIANT_TYPE ("(o)"),
                                    G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, on_session_found,
                                    self);
            self->session_id = g_strdup (id);
            return;
          }
        self->find_step++;
        G_GNUC_FALLTHROUGH;
      case FIND_BY_PID:
        g_dbus_connection_call (self->bus, LOGIND_NAME, LOGIND_PATH, MANAGER_IFACE,
                                "GetSessionByPID", g_variant_new ("(u)", (guint32)getpid ()),
                                G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                self->cancellable, on_session_found, self);
        return;
      case FIND_BY_USER:
        g_dbus_connection_call (self->bus, LOGIND_NAME, LOGIND_PATH, MANAGER_IFACE, "GetUser",
                                g_variant_new ("(u)", (guint32)getuid ()), G_VARIANT_TYPE ("(o)"),
                                G_DBUS_CALL_FLAGS_NONE, -1, self->cancellable, on_user_found, self);
        return;
      default:
        g_assert_not_reached ();
    }
}

static void
unsubscribe (PresLogindMonitor *self, guint *id)
{
  if (*id != 0)
    g_dbus_connection_signal_unsubscribe (self->bus, *id);
  *id = 0;
}

/* Drops everything that belonged to one appearance of logind. */
static void
forget_logind (PresLogindMonitor *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->bus != NULL)
    {
      unsubscribe (self, &self->manager_signals_id);
      unsubscribe (self, &self->session_signals_id);
      unsubscribe (self, &self->session_properties_id);
    }
  self->inhibit_pending = FALSE;
  release_inhibitor (self);
  g_clear_pointer (&self->session_path, g_free);
  g_clear_pointer (&self->session_id, g_free);
  self->sleeping = FALSE;
  self->shutting_down = FALSE;

  g_object_freeze_notify (G_OBJECT (self));
  set_flag (self, &self->available, FALSE, PROP_AVAILABLE);
  set_flag (self, &self->locked, FALSE, PROP_LOCKED);
  set_flag (self, &self->session_active, TRUE, PROP_SESSION_ACTIVE);
  g_object_thaw_notify (G_OBJECT (self));
}

static void
on_logind_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer user_data)
{
  PresLogindMonitor *self = user_data;

  forget_logind (self);
  g_debug ("logind is %s", owner);
  self->cancellable = g_cancellable_new ();
  set_flag (self, &self->available, TRUE, PROP_AVAILABLE);

  self->manager_signals_id
    = g_dbus_connection_signal_subscribe (bus, LOGIND_NAME, MANAGER_IFACE, NULL, LOGIND_PATH, NULL,
                                          G_DBUS_SIGNAL_FLAGS_NONE, on_manager_signal, self, NULL);
  take_inhibitor (self);
  self->find_step = FIND_BY_ENVIRONMENT;
  find_session (self);
}

static void
on_logind_vanished (GDBusConnection *bus, const char *name, gpointer user_data)
{
  PresLogindMonitor *self = user_data;

  if (self->available)
    g_debug ("logind left the system bus");
  else if (!self->said_unavailable)
    g_debug ("No logind on the system bus: no lock, sleep or session facts from it");
  self->said_unavailable = TRUE;
  forget_logind (self);
}

static void
on_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *bus = g_bus_get_finish (result, &error);
  PresLogindMonitor *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PRES_LOGIND_MONITOR (user_data);
  g_clear_object (&self->start_cancellable);
  if (bus == NULL)
    {
      g_debug ("No system bus (%s): no lock, sleep or session facts from logind", error->message);
      self->said_unavailable = TRUE;
      return;
    }
  /* Losing the system bus is no reason to quit the session's agent. */
  g_dbus_connection_set_exit_on_close (bus, FALSE);
  pres_logind_monitor_start (self, bus);
  g_object_unref (bus);
}

void
pres_logind_monitor_start (PresLogindMonitor *self, GDBusConnection *bus)
{
  g_return_if_fail (PRES_IS_LOGIND_MONITOR (self));
  g_return_if_fail (self->bus == NULL);

  if (bus == NULL)
    {
      if (self->start_cancellable == NULL)
        {
          self->start_cancellable = g_cancellable_new ();
          g_bus_get (G_BUS_TYPE_SYSTEM, self->start_cancellable, on_bus, self);
        }
      return;
    }
  self->bus = g_object_ref (bus);
  self->name_watch_id
    = g_bus_watch_name_on_connection (bus, LOGIND_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                      on_logind_appeared, on_logind_vanished, self, NULL);
}

void
pres_logind_monitor_release_delay (PresLogindMonitor *self)
{
  g_return_if_fail (PRES_IS_LOGIND_MONITOR (self));
  /* A leave that ends after resume must not drop the new inhibitor. */
  if (self->sleeping || self->shutting_down)
    release_inhibitor (self);
}

gboolean
pres_logind_monitor_get_available (PresLogindMonitor *self)
{
  g_return_val_if_fail (PRES_IS_LOGIND_MONITOR (self), FALSE);
  return self->available;
}

gboolean
pres_logind_monitor_get_locked (PresLogindMonitor *self)
{
  g_return_val_if_fail (PRES_IS_LOGIND_MONITOR (self), FALSE);
  return self->locked;
}

gboolean
pres_logind_monitor_get_session_active (PresLogindMonitor *self)
{
  g_return_val_if_fail (PRES_IS_LOGIND_MONITOR (self), TRUE);
  return self->session_active;
}

const char *
pres_logind_monitor_get_session_path (PresLogindMonitor *self)
{
  g_return_val_if_fail (PRES_IS_LOGIND_MONITOR (self), NULL);
  return self->session_path;
}

gboolean
pres_logind_monitor_get_inhibited (PresLogindMonitor *self)
{
  g_return_val_if_fail (PRES_IS_LOGIND_MONITOR (self), FALSE);
  return self->inhibit_fd >= 0;
}

static void
pres_logind_monitor_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PresLogindMonitor *self = PRES_LOGIND_MONITOR (object);

  switch (prop_id)
    {
      case PROP_AVAILABLE:
        g_value_set_boolean (value, self->available);
        break;
      case PROP_LOCKED:
        g_value_set_boolean (value, self->locked);
        break;
      case PROP_SESSION_ACTIVE:
        g_value_set_boolean (value, self->session_active);
        break;
      case PROP_INHIBITED:
        g_value_set_boolean (value, self->inhibit_fd >= 0);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pres_logind_monitor_dispose (GObject *object)
{
  PresLogindMonitor *self = PRES_LOGIND_MONITOR (object);

  if (self->start_cancellable != NULL)
    g_cancellable_cancel (self->start_cancellable);
  g_clear_object (&self->start_cancellable);
  g_clear_handle_id (&self->name_watch_id, g_bus_unwatch_name);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->bus != NULL)
    {
      unsubscribe (self, &self->manager_signals_id);
      unsubscribe (self, &self->session_signals_id);
      unsubscribe (self, &self->session_properties_id);
    }
  g_clear_handle_id (&self->safety_id, g_source_remove);
  if (self->inhibit_fd >= 0)
    close (self->inhibit_fd);
  self->inhibit_fd = -1;
  g_clear_pointer (&self->session_path, g_free);
  g_clear_pointer (&self->session_id, g_free);
  g_clear_object (&self->bus);

  G_OBJECT_CLASS (pres_logind_monitor_parent_class)->dispose (object);
}

static void
pres_logind_monitor_class_init (PresLogindMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = pres_logind_monitor_get_property;
  object_class->dispose = pres_logind_monitor_dispose;

  props[PROP_AVAILABLE] = g_param_spec_boolean ("available", NULL, NULL, FALSE, ro);
  props[PROP_LOCKED] = g_param_spec_boolean ("locked", NULL, NULL, FALSE, ro);
  props[PROP_SESSION_ACTIVE] = g_param_spec_boolean ("session-active", NULL, NULL, TRUE, ro);
  props[PROP_INHIBITED] = g_param_spec_boolean ("inhibited", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* (going_down): TRUE before sleep, FALSE once after resume */
  signals[SIGNAL_PREPARE_FOR_SLEEP]
    = g_signal_new ("prepare-for-sleep", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                    NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  /* (going_down): TRUE before shutdown, FALSE if it was cancelled */
  signals[SIGNAL_PREPARE_FOR_SHUTDOWN]
    = g_signal_new ("prepare-for-shutdown", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                    NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  /* After resume, for sources whose timers are stale (idle watches). */
  signals[SIGNAL_RESUMED] = g_signal_new ("resumed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_SESSION_ENDED]
    = g_signal_new ("session-ended", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 0);
}

static void
pres_logind_monitor_init (PresLogindMonitor *self)
{
  self->inhibit_fd = -1;
  self->session_active = TRUE;
}

PresLogindMonitor *
pres_logind_monitor_new (void)
{
  return g_object_new (PRES_TYPE_LOGIND_MONITOR, NULL);
}
