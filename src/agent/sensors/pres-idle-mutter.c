#define G_LOG_DOMAIN "pres-idle-mutter"

#include "pres-error.h"
#include "pres-idle-mutter.h"

/*
 * Mutter keeps one idle watch per timeout that fires each time input has
 * been idle that long, and user-active watches that fire once, on the next
 * input. Watch ids are per Mutter process: a restarted Mutter counts from 1
 * again, so every call goes to the unique name that handed the id out, and a
 * reply that comes back after the watches were dropped (timeout changed,
 * Mutter gone) removes its own watch instead of being stored.
 */

#define MUTTER_PATH  "/org/gnome/Mutter/IdleMonitor/Core"
#define MUTTER_IFACE "org.gnome.Mutter.IdleMonitor"
#define CALL_TIMEOUT_MS 5000

struct _PresIdleMutter
{
  PresIdleSource parent_instance;

  GDBusConnection *bus;
  GCancellable    *cancellable;
  char            *owner; /* Mutter's unique name; NULL while it is gone */
  guint            name_watch;
  guint            fired_subscription;

  /* Bumped whenever the watches below are dropped: replies of an older
   * generation belong to watches nobody tracks. */
  guint    generation;
  guint    idle_watch;
  guint    active_watch;
  gboolean active_pending;

  /* A watch Mutter refused, said only if Mutter is still there a moment
   * later: a Mutter that quits unexports its monitor before its name goes. */
  char *refusal;
  guint refusal_generation;
  guint refusal_timer;
};

G_DEFINE_FINAL_TYPE (PresIdleMutter, pres_idle_mutter, PRES_TYPE_IDLE_SOURCE)

/* No reference on the source: its cancellable is cancelled on dispose,
 * and a cancelled call never looks at it. */
typedef struct
{
  PresIdleMutter *self;
  char           *owner;
  guint           generation;
  gboolean        active; /* a user-active watch, else the idle watch */
} WatchCall;

static void
watch_call_free (WatchCall *call)
{
  g_free (call->owner);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WatchCall, watch_call_free)

static void
remove_watch (GDBusConnection *bus,
              const char      *owner,
              guint            id)
{
  if (id == 0)
    return;
  /* Nothing to do with the answer: a watch that is already gone is fine. */
  g_dbus_connection_call (bus, owner, MUTTER_PATH, MUTTER_IFACE, "RemoveWatch",
                          g_variant_new ("(u)", id), NULL, G_DBUS_CALL_FLAGS_NONE,
                          CALL_TIMEOUT_MS, NULL, NULL, NULL);
}

static gboolean
owner_gone (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

static gboolean
report_refusal (gpointer user_data)
{
  PresIdleMutter *self = user_data;

  self->refusal_timer = 0;
  if (self->refusal_generation == self->generation)
    g_warning ("%s", self->refusal);
  else
    g_debug ("Mutter left after refusing a watch: %s", self->refusal);
  g_clear_pointer (&self->refusal, g_free);
  return G_SOURCE_REMOVE;
}

/* Takes @message. */
static void
defer_refusal (PresIdleMutter *self,
               char           *message)
{
  g_free (self->refusal);
  self->refusal = message;
  self->refusal_generation = self->generation;
  if (self->refusal_timer == 0)
    self->refusal_timer = g_timeout_add_seconds (1, report_refusal, self);
}

static void
on_watch_added (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr (WatchCall) call = user_data;
  PresIdleMutter *self = call->self;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  guint id;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (call->active && call->generation == self->generation)
    self->active_pending = FALSE;
  if (reply == NULL)
    {
      /* Mutter leaving mid-call is not a failure: its new instance gets
       * the watches again. */
      if (call->generation != self->generation || owner_gone (error))
        g_debug ("Mutter left before adding a watch: %s", error->message);
      else
        defer_refusal (self, g_strdup_printf ("Cannot add a Mutter %s watch: %s",
                                              call->active ? "user-active" : "idle",
                                              error->message));
      return;
    }

  g_variant_get (reply, "(u)", &id);
  if (call->generation != self->generation)
    {
      remove_watch (self->bus, call->owner, id);
      return;
    }
  g_debug ("Mutter %s watch %u", call->active ? "user-active" : "idle", id);
  if (call->active)
    self->active_watch = id;
  else
    self->idle_watch = id;
}

static void
add_watch (PresIdleMutter *self,
           gboolean        active)
{
  WatchCall *call = g_new0 (WatchCall, 1);
  guint64 timeout_ms = (guint64) pres_idle_source_get_timeout (PRES_IDLE_SOURCE (self)) * 1000;

  call->self = self;
  call->owner = g_strdup (self->owner);
  call->generation = self->generation;
  call->active = active;
  if (active)
    self->active_pending = TRUE;
  g_dbus_connection_call (self->bus, self->owner, MUTTER_PATH, MUTTER_IFACE,
                          active ? "AddUserActiveWatch" : "AddIdleWatch",
                          active ? NULL : g_variant_new ("(t)", timeout_ms),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS,
                          self->cancellable, on_watch_added, call);
}

static void
arm_active_watch (PresIdleMutter *self)
{
  if (self->owner != NULL && self->active_watch == 0 && !self->active_pending)
    add_watch (self, TRUE);
}

static void
on_watch_fired (GDBusConnection *bus,
                const char      *sender,
                const char      *path,
                const char      *iface,
                const char      *signal,
                GVariant        *parameters,
                gpointer         user_data)
{
  PresIdleMutter *self = user_data;
  guint id;

  if (g_strcmp0 (sender, self->owner) != 0 ||
      !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(u)")))
    return;
  g_variant_get (parameters, "(u)", &id);
  if (id == 0)
    return;

  if (id == self->idle_watch)
    {
      g_debug ("Mutter: input idle");
      pres_idle_source_set_idle (PRES_IDLE_SOURCE (self), TRUE);
      arm_active_watch (self);
    }
  else if (id == self->active_watch)
    {
      /* User-active watches fire once and are gone. */
      g_debug ("Mutter: input seen");
      self->active_watch = 0;
      pres_idle_source_set_idle (PRES_IDLE_SOURCE (self), FALSE);
    }
}

static void
on_idle_time_checked (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr (WatchCall) call = user_data;
  PresIdleMutter *self = call->self;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;
  guint64 idle_ms;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL || call->generation != self->generation)
    return;
  g_variant_get (reply, "(t)", &idle_ms);
  /* Only ever clears: the idle watch alone decides when input is idle,
   * since Mutter holds it back while the session inhibits idleness (a
   * video playing) although GetIdletime keeps counting. */
  if (idle_ms < (guint64) pres_idle_source_get_timeout (PRES_IDLE_SOURCE (self)) * 1000)
    pres_idle_source_set_idle (PRES_IDLE_SOURCE (self), FALSE);
}

static void
drop_watches (PresIdleMutter *self)
{
  self->generation++;
  if (self->owner != NULL)
    {
      remove_watch (self->bus, self->owner, self->idle_watch);
      remove_watch (self->bus, self->owner, self->active_watch);
    }
  self->idle_watch = 0;
  self->active_watch = 0;
  self->active_pending = FALSE;
}

/*
 * Adds the watches from scratch: at start, for a new Mutter, for a new
 * timeout and after a resume. An idle watch added past its threshold fires
 * at once, so only "not idle (any more)" needs a look at the idle time.
 */
static void
arm (PresIdleMutter *self)
{
  WatchCall *call;

  drop_watches (self);
  if (self->owner == NULL)
    return;

  add_watch (self, FALSE);
  call = g_new0 (WatchCall, 1);
  call->self = self;
  call->generation = self->generation;
  g_dbus_connection_call (self->bus, self->owner, MUTTER_PATH, MUTTER_IFACE, "GetIdletime", NULL,
                          G_VARIANT_TYPE ("(t)"), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS,
                          self->cancellable, on_idle_time_checked, call);
}

static void
on_name_appeared (GDBusConnection *bus,
                  const char      *name,
                  const char      *owner,
                  gpointer         user_data)
{
  PresIdleMutter *self = user_data;

  g_debug ("Mutter's idle monitor is %s: adding the watches", owner);
  /* The old owner's watches died with it. */
  self->idle_watch = self->active_watch = 0;
  g_free (self->owner);
  self->owner = g_strdup (owner);
  arm (self);
}

static void
on_name_vanished (GDBusConnection *bus,
                  const char      *name,
                  gpointer         user_data)
{
  PresIdleMutter *self = user_data;

  if (self->owner == NULL)
    return;
  g_debug ("Mutter's idle monitor is gone; waiting for it to come back");
  g_clear_pointer (&self->owner, g_free);
  drop_watches (self);
}

static void
pres_idle_mutter_timeout_changed (PresIdleSource *source)
{
  arm (PRES_IDLE_MUTTER (source));
}

static void
on_idle_time (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;
  guint64 idle_ms;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_variant_get (reply, "(t)", &idle_ms);
  g_task_return_int (task, (gssize) MIN (idle_ms / 1000, G_MAXUINT));
}

static void
pres_idle_mutter_get_idle_time_async (PresIdleSource      *source,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  PresIdleMutter *self = PRES_IDLE_MUTTER (source);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, pres_idle_mutter_get_idle_time_async);
  if (self->owner == NULL)
    {
      g_task_return_new_error (task, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                               "GNOME's idle monitor is not running");
      return;
    }
  g_dbus_connection_call (self->bus, self->owner, MUTTER_PATH, MUTTER_IFACE, "GetIdletime", NULL,
                          G_VARIANT_TYPE ("(t)"), G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS,
                          cancellable, on_idle_time, g_steal_pointer (&task));
}

static guint
pres_idle_mutter_get_idle_time_finish (PresIdleSource *source,
                                       GAsyncResult   *result,
                                       GError        **error)
{
  gssize seconds = g_task_propagate_int (G_TASK (result), error);

  return seconds < 0 ? 0 : (guint) seconds;
}

static void
pres_idle_mutter_dispose (GObject *object)
{
  PresIdleMutter *self = PRES_IDLE_MUTTER (object);

  g_cancellable_cancel (self->cancellable);
  if (self->bus != NULL)
    {
      drop_watches (self);
      if (self->fired_subscription != 0)
        g_dbus_connection_signal_unsubscribe (self->bus, self->fired_subscription);
      self->fired_subscription = 0;
    }
  g_clear_handle_id (&self->name_watch, g_bus_unwatch_name);
  g_clear_handle_id (&self->refusal_timer, g_source_remove);
  g_clear_pointer (&self->refusal, g_free);
  g_clear_pointer (&self->owner, g_free);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->bus);

  G_OBJECT_CLASS (pres_idle_mutter_parent_class)->dispose (object);
}

static void
pres_idle_mutter_class_init (PresIdleMutterClass *klass)
{
  PresIdleSourceClass *source_class = PRES_IDLE_SOURCE_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pres_idle_mutter_dispose;
  source_class->name = "mutter";
  source_class->timeout_changed = pres_idle_mutter_timeout_changed;
  source_class->get_idle_time_async = pres_idle_mutter_get_idle_time_async;
  source_class->get_idle_time_finish = pres_idle_mutter_get_idle_time_finish;
}

static void
pres_idle_mutter_init (PresIdleMutter *self)
{
  self->cancellable = g_cancellable_new ();
}

PresIdleSource *
pres_idle_mutter_new (GDBusConnection *bus)
{
  PresIdleMutter *self;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (bus), NULL);

  self = g_object_new (PRES_TYPE_IDLE_MUTTER, NULL);
  self->bus = g_object_ref (bus);
  /* By path and interface, then by the current owner in the handler:
   * signals from a Mutter that already left must not match new ids. */
  self->fired_subscription =
    g_dbus_connection_signal_subscribe (bus, NULL, MUTTER_IFACE, "WatchFired", MUTTER_PATH, NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE, on_watch_fired, self, NULL);
  self->name_watch =
    g_bus_watch_name_on_connection (bus, PRES_IDLE_MUTTER_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                    on_name_appeared, on_name_vanished, self, NULL);
  return PRES_IDLE_SOURCE (self);
}
