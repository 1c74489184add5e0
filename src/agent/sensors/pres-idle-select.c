#define G_LOG_DOMAIN "pres-idle-select"

#include "pres-idle-logind.h"
#include "pres-idle-mutter.h"
#include "pres-idle-select.h"
#include "pres-idle-wayland.h"
#include "pres-idle-x11.h"

struct _PresIdleSelect
{
  PresIdleSource parent_instance;

  PresIdleSource *active; /* NULL = none */
  gulong          idle_handler;
  gulong          lost_handler;
  guint           mutter_watch;
  gboolean        fallback_tried;
  gboolean        settled; /* the first search has ended, with a source or none */
  /* For the fallback search; replaced when Mutter ends it. */
  GCancellable   *cancellable;
};

G_DEFINE_FINAL_TYPE (PresIdleSelect, pres_idle_select, PRES_TYPE_IDLE_SOURCE)

enum
{
  SIGNAL_DISPLAY_LOST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
on_display_lost (PresIdleSelect *self)
{
  g_signal_emit (self, signals[SIGNAL_DISPLAY_LOST], 0);
}

static void
on_backend_idle (PresIdleSelect *self)
{
  pres_idle_source_set_idle (PRES_IDLE_SOURCE (self), pres_idle_source_get_idle (self->active));
}

static void
set_active (PresIdleSelect *self,
            PresIdleSource *source)
{
  if (self->active != NULL)
    {
      g_clear_signal_handler (&self->idle_handler, self->active);
      g_clear_signal_handler (&self->lost_handler, self->active);
    }
  g_clear_object (&self->active);
  self->active = source;

  if (source != NULL)
    {
      g_info ("Idle source: %s", pres_idle_source_get_name (source));
      pres_idle_source_set_timeout (source, pres_idle_source_get_timeout (PRES_IDLE_SOURCE (self)));
      self->idle_handler = g_signal_connect_object (source, "notify::idle",
                                                    G_CALLBACK (on_backend_idle), self,
                                                    G_CONNECT_SWAPPED);
      /* The display sources die with their display server. */
      if (g_signal_lookup ("lost", G_OBJECT_TYPE (source)) != 0)
        self->lost_handler = g_signal_connect_object (source, "lost",
                                                      G_CALLBACK (on_display_lost), self,
                                                      G_CONNECT_SWAPPED);
      on_backend_idle (self);
    }
  else
    {
      g_info ("Idle source: none; this desktop offers no way to see input idleness");
      pres_idle_source_set_idle (PRES_IDLE_SOURCE (self), FALSE);
    }
  self->settled = TRUE;
  g_object_notify (G_OBJECT (self), "name");
}

static const char *
session_type (void)
{
  const char *type = g_getenv ("XDG_SESSION_TYPE");

  if (type != NULL && *type != '\0')
    return type;
  if (g_getenv ("WAYLAND_DISPLAY") != NULL)
    return "wayland";
  if (g_getenv ("DISPLAY") != NULL)
    return "x11";
  return "tty";
}

static void
on_logind_source (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr (GError) error = NULL;
  PresIdleSource *logind = pres_idle_logind_new_finish (result, &error);
  PresIdleSelect *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PRES_IDLE_SELECT (user_data);
  if (logind == NULL)
    {
      g_debug ("No logind IdleHint: %s", error->message);
      set_active (self, NULL);
      return;
    }
  set_active (self, logind);
}

static void
on_system_bus (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_bus_get_finish (result, &error);
  PresIdleSelect *self;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = PRES_IDLE_SELECT (user_data);
  if (bus == NULL)
    {
      g_debug ("No system bus, so no logind IdleHint: %s", error->message);
      set_active (self, NULL);
      return;
    }
  pres_idle_logind_new_async (bus, self->cancellable, on_logind_source, self);
}

/* A display-server backend that works now, or NULL. */
static PresIdleSource *
try_display_sources (void)
{
  const char *type = session_type ();
  g_autoptr (GError) error = NULL;
  PresIdleSource *source = NULL;

  g_debug ("Session type %s", type);
  if (g_str_equal (type, "wayland"))
    {
      source = pres_idle_wayland_new (&error);
      if (source == NULL)
        g_debug ("No Wayland idle protocol: %s", error->message);
    }
  /* Xwayland's counters never see input that goes to Wayland clients. */
  else if (g_str_equal (type, "x11") && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      source = pres_idle_x11_new (&error);
      if (source == NULL)
        g_debug ("No X11 idle source: %s", error->message);
    }
  return source;
}

/* Everything after Mutter, in order; logind needs a round trip. */
static void
choose_fallback (PresIdleSelect *self)
{
  PresIdleSource *source;

  if (self->fallback_tried)
    return;
  self->fallback_tried = TRUE;

  source = try_display_sources ();
  if (source != NULL)
    {
      set_active (self, source);
      return;
    }
  g_bus_get (G_BUS_TYPE_SYSTEM, self->cancellable, on_system_bus, self);
}

static void
on_mutter_appeared (GDBusConnection *bus,
                    const char      *name,
                    const char      *owner,
                    gpointer         user_data)
{
  PresIdleSelect *self = user_data;

  if (self->active != NULL && PRES_IS_IDLE_MUTTER (self->active))
    return;
  /* Whatever the fallback search was doing is moot now. */
  g_cancellable_cancel (self->cancellable);
  g_object_unref (self->cancellable);
  self->cancellable = g_cancellable_new ();
  set_active (self, pres_idle_mutter_new (bus));
}

static void
on_mutter_vanished (GDBusConnection *bus,
                    const char      *name,
                    gpointer         user_data)
{
  PresIdleSelect *self = user_data;

  /* A Mutter source waits for Mutter to come back (gnome-shell restarts
   * on X11); without one, this is the start on another desktop. */
  if (self->active == NULL || !PRES_IS_IDLE_MUTTER (self->active))
    choose_fallback (self);
}

static const char *
pres_idle_select_get_name (PresIdleSource *source)
{
  PresIdleSelect *self = PRES_IDLE_SELECT (source);

  return self->active != NULL ? pres_idle_source_get_name (self->active) : "none";
}

static gboolean
pres_idle_select_is_settled (PresIdleSource *source)
{
  return PRES_IDLE_SELECT (source)->settled;
}

static void
pres_idle_select_timeout_changed (PresIdleSource *source)
{
  PresIdleSelect *self = PRES_IDLE_SELECT (source);

  if (self->active != NULL)
    pres_idle_source_set_timeout (self->active, pres_idle_source_get_timeout (source));
}

static void
on_backend_idle_time (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  guint seconds;

  seconds = pres_idle_source_get_idle_time_finish (PRES_IDLE_SOURCE (source), result, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_int (task, seconds);
}

static void
pres_idle_select_get_idle_time_async (PresIdleSource      *source,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  PresIdleSelect *self = PRES_IDLE_SELECT (source);
  GTask *task;

  if (self->active == NULL)
    {
      /* The base class is the "none" source and says why. */
      PRES_IDLE_SOURCE_CLASS (pres_idle_select_parent_class)
        ->get_idle_time_async (source, cancellable, callback, user_data);
      return;
    }
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pres_idle_select_get_idle_time_async);
  pres_idle_source_get_idle_time_async (self->active, cancellable, on_backend_idle_time, task);
}

static guint
pres_idle_select_get_idle_time_finish (PresIdleSource *source,
                                       GAsyncResult   *result,
                                       GError        **error)
{
  gssize seconds = g_task_propagate_int (G_TASK (result), error);

  return seconds < 0 ? 0 : (guint) seconds;
}

static void
pres_idle_select_dispose (GObject *object)
{
  PresIdleSelect *self = PRES_IDLE_SELECT (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->mutter_watch, g_bus_unwatch_name);
  if (self->active != NULL)
    {
      g_clear_signal_handler (&self->idle_handler, self->active);
      g_clear_signal_handler (&self->lost_handler, self->active);
    }
  g_clear_object (&self->active);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (pres_idle_select_parent_class)->dispose (object);
}

static void
pres_idle_select_class_init (PresIdleSelectClass *klass)
{
  PresIdleSourceClass *source_class = PRES_IDLE_SOURCE_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pres_idle_select_dispose;
  source_class->get_name = pres_idle_select_get_name;
  source_class->is_settled = pres_idle_select_is_settled;
  source_class->timeout_changed = pres_idle_select_timeout_changed;
  source_class->get_idle_time_async = pres_idle_select_get_idle_time_async;
  source_class->get_idle_time_finish = pres_idle_select_get_idle_time_finish;

  /* The display server of the X11 or Wayland source went away: the
   * session is over. */
  signals[SIGNAL_DISPLAY_LOST] =
    g_signal_new ("display-lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
}

static void
pres_idle_select_init (PresIdleSelect *self)
{
  self->cancellable = g_cancellable_new ();
}

PresIdleSource *
pres_idle_select_new (void)
{
  return g_object_new (PRES_TYPE_IDLE_SELECT, NULL);
}

void
pres_idle_select_start (PresIdleSelect *self)
{
  g_return_if_fail (PRES_IS_IDLE_SELECT (self));

  if (self->mutter_watch != 0)
    return;
  /* The first answer says whether Mutter is there now; the watch stays for
   * a Mutter that comes later. */
  self->mutter_watch = g_bus_watch_name (G_BUS_TYPE_SESSION, PRES_IDLE_MUTTER_BUS_NAME,
                                         G_BUS_NAME_WATCHER_FLAGS_NONE, on_mutter_appeared,
                                         on_mutter_vanished, self, NULL);
}

void
pres_idle_select_rearm (PresIdleSelect *self)
{
  PresIdleSourceClass *klass;

  g_return_if_fail (PRES_IS_IDLE_SELECT (self));

  if (self->active == NULL)
    return;
  /* Every backend adds its watches from scratch for a new timeout. */
  klass = PRES_IDLE_SOURCE_GET_CLASS (self->active);
  if (klass->timeout_changed != NULL)
    klass->timeout_changed (self->active);
}

PresIdleSource *
pres_idle_select_get_active (PresIdleSelect *self)
{
  g_return_val_if_fail (PRES_IS_IDLE_SELECT (self), NULL);
  return self->active;
}
