#define G_LOG_DOMAIN "pres-idle-logind"

#include <unistd.h>

#include "pres-error.h"
#include "pres-idle-logind.h"

/*
 * Which session is ours, in the order swayidle and gnome-session look:
 * XDG_SESSION_ID, then the session of our PID (none for a systemd --user
 * service), then the user's Display session.
 */

#define LOGIND_NAME    "org.freedesktop.login1"
#define MANAGER_PATH   "/org/freedesktop/login1"
#define MANAGER_IFACE  "org.freedesktop.login1.Manager"
#define SESSION_IFACE  "org.freedesktop.login1.Session"
#define USER_IFACE     "org.freedesktop.login1.User"
#define PROPS_IFACE    "org.freedesktop.DBus.Properties"
#define CALL_TIMEOUT_MS 5000

struct _PresIdleLogind
{
  PresIdleSource parent_instance;

  GDBusConnection *bus;
  char            *session_path;
  guint            changed_subscription;
  guint64          idle_since_us; /* CLOCK_MONOTONIC when known, else 0 */
  guint64          idle_since_real_us;
};

G_DEFINE_FINAL_TYPE (PresIdleLogind, pres_idle_logind, PRES_TYPE_IDLE_SOURCE)

typedef enum
{
  WAY_SESSION_ID,
  WAY_PID,
  WAY_USER_DISPLAY,
} Way;

static void find_session (GTask *task,
                          Way    way);

static void
apply_properties (PresIdleLogind *self,
                  GVariant       *dict)
{
  gboolean idle;

  g_variant_lookup (dict, "IdleSinceHintMonotonic", "t", &self->idle_since_us);
  g_variant_lookup (dict, "IdleSinceHint", "t", &self->idle_since_real_us);
  if (g_variant_lookup (dict, "IdleHint", "b", &idle))
    {
      g_debug ("logind IdleHint %s", idle ? "on" : "off");
      pres_idle_source_set_idle (PRES_IDLE_SOURCE (self), idle);
    }
}

static void
on_properties_changed (GDBusConnection *bus,
                       const char      *sender,
                       const char      *path,
                       const char      *iface,
                       const char      *signal,
                       GVariant        *parameters,
                       gpointer         user_data)
{
  PresIdleLogind *self = user_data;
  g_autoptr (GVariant) changed = NULL;
  const char *changed_iface;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    return;
  g_variant_get (parameters, "(&s@a{sv}as)", &changed_iface, &changed, NULL);
  if (g_str_equal (changed_iface, SESSION_IFACE))
    apply_properties (self, changed);
}

static void
on_properties (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  PresIdleLogind *self = g_task_get_task_data (task);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) dict = NULL;
  GError *error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  dict = g_variant_get_child_value (reply, 0);
  if (!g_variant_lookup (dict, "IdleHint", "b", NULL))
    {
      g_task_return_new_error (task, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                               "The logind session %s has no IdleHint", self->session_path);
      return;
    }
  apply_properties (self, dict);
  g_task_return_pointer (task, g_object_ref (self), g_object_unref);
}

static void
watch_session (GTask      *task,
               const char *path)
{
  PresIdleLogind *self = g_task_get_task_data (task);

  g_debug ("Following IdleHint of the logind session %s", path);
  self->session_path = g_strdup (path);
  /* Subscribed before reading, so no change falls in between. */
  self->changed_subscription =
    g_dbus_connection_signal_subscribe (self->bus, LOGIND_NAME, PROPS_IFACE, "PropertiesChanged",
                                        path, SESSION_IFACE, G_DBUS_SIGNAL_FLAGS_NONE,
                                        on_properties_changed, self, NULL);
  g_dbus_connection_call (self->bus, LOGIND_NAME, path, PROPS_IFACE, "GetAll",
                          g_variant_new ("(s)", SESSION_IFACE), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS,
                          g_task_get_cancellable (task), on_properties, task);
}

static gboolean
cancelled (GTask  *task,
           GError *error)
{
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;
  g_task_return_error (task, g_error_copy (error));
  g_object_unref (task);
  return TRUE;
}

static void
on_display (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GTask *task = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) display = NULL;
  g_autoptr (GError) error = NULL;
  const char *path = "/";

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply != NULL)
    {
      g_variant_get (reply, "(v)", &display);
      if (g_variant_is_of_type (display, G_VARIANT_TYPE ("(so)")))
        g_variant_get (display, "(&s&o)", NULL, &path);
    }
  else if (cancelled (task, error))
    return;

  if (g_str_equal (path, "/"))
    {
      g_task_return_new_error (task, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                               "No logind session of ours: %s",
                               error ? error->message : "the user has no graphical session");
      g_object_unref (task);
      return;
    }
  watch_session (task, path);
}

static void
on_session_path (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  PresIdleLogind *self = g_task_get_task_data (task);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  const char *path;
  Way way = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task), "way"));

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      if (cancelled (task, error))
        return;
      if (way == WAY_USER_DISPLAY)
        {
          g_task_return_new_error (task, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                                   "No logind session of ours: %s", error->message);
          g_object_unref (task);
          return;
        }
      g_debug ("No logind session this way: %s", error->message);
      find_session (task, way + 1);
      return;
    }

  g_variant_get (reply, "(&o)", &path);
  if (way != WAY_USER_DISPLAY)
    {
      watch_session (task, path);
      return;
    }
  g_dbus_connection_call (self->bus, LOGIND_NAME, path, PROPS_IFACE, "Get",
                          g_variant_new ("(ss)", USER_IFACE, "Display"), G_VARIANT_TYPE ("(v)"),
                          G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, g_task_get_cancellable (task),
                          on_display, task);
}

static void
find_session (GTask *task,
              Way    way)
{
  PresIdleLogind *self = g_task_get_task_data (task);
  const char *id = g_getenv ("XDG_SESSION_ID");
  const char *method;
  GVariant *args;

  if (way == WAY_SESSION_ID && (id == NULL || *id == '\0'))
    way = WAY_PID;
  switch (way)
    {
    case WAY_SESSION_ID:
      method = "GetSession";
      args = g_variant_new ("(s)", id);
      break;
    case WAY_PID:
      method = "GetSessionByPID";
      args = g_variant_new ("(u)", (guint32) getpid ());
      break;
    case WAY_USER_DISPLAY:
    default:
      method = "GetUser";
      args = g_variant_new ("(u)", (guint32) getuid ());
      way = WAY_USER_DISPLAY;
      break;
    }
  g_object_set_data (G_OBJECT (task), "way", GINT_TO_POINTER (way));
  g_dbus_connection_call (self->bus, LOGIND_NAME, MANAGER_PATH, MANAGER_IFACE, method, args,
                          G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS,
                          g_task_get_cancellable (task), on_session_path, task);
}

static void
pres_idle_logind_get_idle_time_async (PresIdleSource      *source,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  PresIdleLogind *self = PRES_IDLE_LOGIND (source);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  gint64 idle_us = 0;

  g_task_set_source_tag (task, pres_idle_logind_get_idle_time_async);
  /* Only the time since the desktop raised the hint is known, not the
   * input before it, and nothing at all while the hint is off. */
  if (pres_idle_source_get_idle (source))
    {
      if (self->idle_since_us > 0)
        idle_us = g_get_monotonic_time () - (gint64) self->idle_since_us;
      else if (self->idle_since_real_us > 0)
        idle_us = g_get_real_time () - (gint64) self->idle_since_real_us;
    }
  g_task_return_int (task, (gssize) CLAMP (idle_us / G_USEC_PER_SEC, 0, G_MAXUINT));
}

static guint
pres_idle_logind_get_idle_time_finish (PresIdleSource *source,
                                       GAsyncResult   *result,
                                       GError        **error)
{
  gssize seconds = g_task_propagate_int (G_TASK (result), error);

  return seconds < 0 ? 0 : (guint) seconds;
}

static void
pres_idle_logind_dispose (GObject *object)
{
  PresIdleLogind *self = PRES_IDLE_LOGIND (object);

  if (self->changed_subscription != 0)
    g_dbus_connection_signal_unsubscribe (self->bus, self->changed_subscription);
  self->changed_subscription = 0;
  g_clear_pointer (&self->session_path, g_free);
  g_clear_object (&self->bus);

  G_OBJECT_CLASS (pres_idle_logind_parent_class)->dispose (object);
}

static void
pres_idle_logind_class_init (PresIdleLogindClass *klass)
{
  PresIdleSourceClass *source_class = PRES_IDLE_SOURCE_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pres_idle_logind_dispose;
  source_class->name = "logind";
  source_class->get_idle_time_async = pres_idle_logind_get_idle_time_async;
  source_class->get_idle_time_finish = pres_idle_logind_get_idle_time_finish;
}

static void
pres_idle_logind_init (PresIdleLogind *self)
{
}

void
pres_idle_logind_new_async (GDBusConnection     *system_bus,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  PresIdleLogind *self;
  GTask *task;

  g_return_if_fail (G_IS_DBUS_CONNECTION (system_bus));

  self = g_object_new (PRES_TYPE_IDLE_LOGIND, NULL);
  self->bus = g_object_ref (system_bus);
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pres_idle_logind_new_async);
  g_task_set_task_data (task, self, g_object_unref);
  find_session (task, WAY_SESSION_ID);
}

PresIdleSource *
pres_idle_logind_new_finish (GAsyncResult *result,
                             GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
