#define G_LOG_DOMAIN "pres-idle"

#include "pres-error.h"
#include "pres-idle-x11.h"

#ifdef HAVE_X11
#include <glib-unix.h>

#include "pres-idle-x11-private.h"

#include <X11/extensions/sync.h>
#endif

/*
 * PresIdleX11 owns the X connection: it dispatches the X fd from the main
 * loop and notices the server going away. Two final subclasses do the idle
 * work: PresIdleX11Sync (SYNC IDLETIME alarms, no wakeups between events)
 * and PresIdleX11Saver (XScreenSaverQueryInfo, for servers without SYNC;
 * in pres-idle-x11-saver.c).
 *
 * Xlib calls here are requests to the session's own X server; only the
 * counter queries wait for a reply, a local round trip like any toolkit's.
 */

enum
{
  SIGNAL_LOST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

#ifndef HAVE_X11

struct _PresIdleX11Class
{
  PresIdleSourceClass parent_class;
};

G_DEFINE_TYPE (PresIdleX11, pres_idle_x11, PRES_TYPE_IDLE_SOURCE)

static void
pres_idle_x11_class_init (PresIdleX11Class *klass)
{
  signals[SIGNAL_LOST] = g_signal_new ("lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pres_idle_x11_init (PresIdleX11 *self)
{
}

PresIdleSource *
pres_idle_x11_new (GError **error)
{
  g_set_error_literal (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                       "Built without X11 support");
  return NULL;
}

PresIdleSource *
pres_idle_x11_new_screensaver (GError **error)
{
  return pres_idle_x11_new (error);
}

gboolean
pres_idle_x11_is_lost (PresIdleX11 *self)
{
  return TRUE;
}

#else /* HAVE_X11 */

typedef struct
{
  Display *display;
  guint    watch_id;
  guint    lost_idle_id;
  gboolean lost;
} PresIdleX11Private;

G_DEFINE_TYPE_WITH_PRIVATE (PresIdleX11, pres_idle_x11, PRES_TYPE_IDLE_SOURCE)

Display *
pres_idle_x11_get_display (PresIdleX11 *self)
{
  PresIdleX11Private *priv = pres_idle_x11_get_instance_private (self);

  return priv->lost ? NULL : priv->display;
}

gboolean
pres_idle_x11_is_lost (PresIdleX11 *self)
{
  PresIdleX11Private *priv = pres_idle_x11_get_instance_private (self);

  g_return_val_if_fail (PRES_IS_IDLE_X11 (self), TRUE);
  return priv->lost;
}

static gboolean
emit_lost (gpointer data)
{
  PresIdleX11 *self = data;
  PresIdleX11Private *priv = pres_idle_x11_get_instance_private (self);

  priv->lost_idle_id = 0;
  g_signal_emit (self, signals[SIGNAL_LOST], 0);
  return G_SOURCE_REMOVE;
}

/*
 * Called from inside Xlib, so it only records the loss: the signal goes
 * out from the main loop, where a handler may drop the last reference.
 */
static void
mark_lost (PresIdleX11 *self)
{
  PresIdleX11Private *priv = pres_idle_x11_get_instance_private (self);

  if (priv->lost)
    return;
  priv->lost = TRUE;
  g_message ("The X server closed the connection");
  g_clear_handle_id (&priv->watch_id, g_source_remove);
  priv->lost_idle_id = g_idle_add_full (G_PRIORITY_DEFAULT, emit_lost, g_object_ref (self),
                                        g_object_unref);
}

/* Xlib's default exit handler would end the agent before it can leave. */
static void
on_io_error_exit (Display *display,
                  void    *user_data)
{
  mark_lost (PRES_IDLE_X11 (user_data));
}

/*
 * The I/O error handler is global and Xlib's default one exits too, so it
 * is chained: our displays get on_io_error_exit, others the old handler.
 */
static GPtrArray      *our_displays;
static XIOErrorHandler previous_io_error_handler;

static int
on_io_error (Display *display)
{
  if (our_displays != NULL && g_ptr_array_find (our_displays, display, NULL))
    return 0;
  return previous_io_error_handler != NULL ? previous_io_error_handler (display) : 0;
}

static void
watch_io_errors (Display *display)
{
  if (our_displays == NULL)
    {
      our_displays = g_ptr_array_new ();
      previous_io_error_handler = XSetIOErrorHandler (on_io_error);
    }
  g_ptr_array_add (our_displays, display);
}

/*
 * Replies read by our own requests can leave events queued inside Xlib
 * with nothing left on the fd, so every Xlib call is followed by a drain.
 */
void
pres_idle_x11_process_events (PresIdleX11 *self)
{
  PresIdleX11Class *klass = PRES_IDLE_X11_GET_CLASS (self);
  Display *display;

  while ((display = pres_idle_x11_get_display (self)) != NULL && XPending (display) > 0)
    {
      XEvent event;

      XNextEvent (display, &event);
      klass->handle_event (self, &event);
    }
}

static gboolean
on_x_fd (int          fd,
         GIOCondition condition,
         gpointer     user_data)
{
  PresIdleX11 *self = user_data;
  PresIdleX11Private *priv = pres_idle_x11_get_instance_private (self);

  pres_idle_x11_process_events (self);
  if (!priv->lost && (condition & (G_IO_HUP | G_IO_ERR)) != 0)
    mark_lost (self);
  if (priv->lost)
    {
      /* mark_lost cleared the id: returning REMOVE drops the source. */
      priv->watch_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

void
pres_idle_x11_attach (PresIdleX11 *self,
                      Display     *display)
{
  PresIdleX11Private *priv = pres_idle_x11_get_instance_private (self);

  priv->display = display;
  watch_io_errors (display);
  XSetIOErrorExitHandler (display, on_io_error_exit, self);
  priv->watch_id = g_unix_fd_add (ConnectionNumber (display), G_IO_IN | G_IO_HUP | G_IO_ERR,
                                  on_x_fd, self);
}

void
pres_idle_x11_report_idle_ms (PresIdleSource      *self,
                              gint64               idle_ms,
                              gpointer             source_tag,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  if (idle_ms < 0)
    g_task_return_new_error (task, PRES_ERROR, PRES_ERROR_FAILED,
                             "The X server is gone; the idle time is unknown");
  else
    g_task_return_int (task, MIN (idle_ms / 1000, (gint64) G_MAXUINT));
}

static guint
pres_idle_x11_get_idle_time_finish (PresIdleSource *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  gssize seconds = g_task_propagate_int (G_TASK (result), error);

  return seconds < 0 ? 0 : (guint) seconds;
}

static void
pres_idle_x11_handle_event_default (PresIdleX11 *self,
                                    XEvent      *event)
{
}

static void
pres_idle_x11_dispose (GObject *object)
{
  PresIdleX11 *self = PRES_IDLE_X11 (object);
  PresIdleX11Private *priv = pres_idle_x11_get_instance_private (self);

  g_clear_handle_id (&priv->watch_id, g_source_remove);
  g_clear_handle_id (&priv->lost_idle_id, g_source_remove);
  G_OBJECT_CLASS (pres_idle_x11_parent_class)->dispose (object);
}

static void
pres_idle_x11_finalize (GObject *object)
{
  PresIdleX11 *self = PRES_IDLE_X11 (object);
  PresIdleX11Private *priv = pres_idle_x11_get_instance_private (self);

  /* After an I/O error this only frees: Xlib sends nothing on a dead display. */
  if (priv->display != NULL)
    g_ptr_array_remove_fast (our_displays, priv->display);
  g_clear_pointer (&priv->display, XCloseDisplay);
  G_OBJECT_CLASS (pres_idle_x11_parent_class)->finalize (object);
}

static void
pres_idle_x11_class_init (PresIdleX11Class *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pres_idle_x11_dispose;
  object_class->finalize = pres_idle_x11_finalize;
  klass->handle_event = pres_idle_x11_handle_event_default;
  PRES_IDLE_SOURCE_CLASS (klass)->get_idle_time_finish = pres_idle_x11_get_idle_time_finish;

  signals[SIGNAL_LOST] = g_signal_new ("lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pres_idle_x11_init (PresIdleX11 *self)
{
}

/* ---- SYNC IDLETIME alarms ---------------------------------------------- */

#define PRES_TYPE_IDLE_X11_SYNC (pres_idle_x11_sync_get_type ())
G_DECLARE_FINAL_TYPE (PresIdleX11Sync, pres_idle_x11_sync, PRES, IDLE_X11_SYNC, PresIdleX11)

struct _PresIdleX11Sync
{
  PresIdleX11 parent_instance;

  int          event_base;
  XSyncCounter counter;
  XSyncAlarm   idle_alarm;  /* counter ≥ timeout: idle */
  XSyncAlarm   reset_alarm; /* counter fell below its value when idle began: input */
};

G_DEFINE_FINAL_TYPE (PresIdleX11Sync, pres_idle_x11_sync, PRES_TYPE_IDLE_X11)

static gint64
sync_value_to_int64 (XSyncValue value)
{
  return ((gint64) XSyncValueHigh32 (value) << 32) | (gint64) XSyncValueLow32 (value);
}

gint64
pres_idle_x11_timeout_ms (PresIdleSource *source)
{
  return (gint64) pres_idle_source_get_timeout (source) * 1000;
}

/* Returns -1 when the server is gone. */
static gint64
sync_query_idle_ms (PresIdleX11Sync *self)
{
  Display *display = pres_idle_x11_get_display (PRES_IDLE_X11 (self));
  XSyncValue value;

  if (display == NULL || !XSyncQueryCounter (display, self->counter, &value))
    return -1;
  return sync_value_to_int64 (value);
}

static void
sync_set_alarm (PresIdleX11Sync *self,
                XSyncAlarm      *alarm,
                XSyncTestType    test,
                gint64           value)
{
  Display *display = pres_idle_x11_get_display (PRES_IDLE_X11 (self));
  unsigned long flags = XSyncCACounter | XSyncCAValueType | XSyncCATestType | XSyncCAValue |
                        XSyncCADelta;
  XSyncAlarmAttributes attr = { 0 };

  if (display == NULL)
    return;
  attr.trigger.counter = self->counter;
  attr.trigger.value_type = XSyncAbsolute;
  attr.trigger.test_type = test;
  XSyncIntsToValue (&attr.trigger.wait_value, (unsigned int) (value & 0xffffffff),
                    (int) (value >> 32));
  /* A zero delta leaves the alarm inactive once it fires until we re-arm it. */
  XSyncIntToValue (&attr.delta, 0);
  if (*alarm != None)
    XSyncChangeAlarm (display, *alarm, flags, &attr);
  else
    *alarm = XSyncCreateAlarm (display, flags, &attr);
  XFlush (display);
}

static void
sync_clear_alarm (PresIdleX11Sync *self,
                  XSyncAlarm      *alarm)
{
  Display *display = pres_idle_x11_get_display (PRES_IDLE_X11 (self));

  if (*alarm != None && display != NULL)
    {
      XSyncDestroyAlarm (display, *alarm);
      XFlush (display);
    }
  *alarm = None;
}

static void
sync_arm_idle (PresIdleX11Sync *self)
{
  sync_set_alarm (self, &self->idle_alarm, XSyncPositiveComparison,
                  pres_idle_x11_timeout_ms (PRES_IDLE_SOURCE (self)));
}

static void
pres_idle_x11_sync_handle_event (PresIdleX11 *x11,
                                 XEvent      *event)
{
  PresIdleX11Sync *self = PRES_IDLE_X11_SYNC (x11);
  XSyncAlarmNotifyEvent *notify = (XSyncAlarmNotifyEvent *) event;

  if (event->type != self->event_base + XSyncAlarmNotify || notify->state == XSyncAlarmDestroyed)
    return;

  if (notify->alarm == self->idle_alarm)
    {
      gint64 at = sync_value_to_int64 (notify->counter_value);

      g_debug ("x11-sync: idle for %" G_GINT64_FORMAT " ms", at);
      /* Relative to the value in the event, not a fresh query: input that
       * came since then makes this alarm fire at once instead of never. */
      sync_set_alarm (self, &self->reset_alarm, XSyncNegativeComparison, at - 1);
      pres_idle_source_set_idle (PRES_IDLE_SOURCE (self), TRUE);
    }
  else if (notify->alarm == self->reset_alarm)
    {
      g_debug ("x11-sync: input");
      sync_clear_alarm (self, &self->reset_alarm);
      sync_arm_idle (self);
      pres_idle_source_set_idle (PRES_IDLE_SOURCE (self), FALSE);
    }
}

static void
pres_idle_x11_sync_timeout_changed (PresIdleSource *source)
{
  PresIdleX11Sync *self = PRES_IDLE_X11_SYNC (source);

  if (pres_idle_source_get_idle (source))
    {
      gint64 idle_ms = sync_query_idle_ms (self);

      /* Still idle under the new timeout: the reset alarm keeps watching. */
      if (idle_ms < 0 || idle_ms >= pres_idle_x11_timeout_ms (source))
        return;
      sync_clear_alarm (self, &self->reset_alarm);
      pres_idle_source_set_idle (source, FALSE);
    }
  /* Fires at once if input has already been idle that long. */
  sync_arm_idle (self);
  pres_idle_x11_process_events (PRES_IDLE_X11 (self));
}

static void
pres_idle_x11_sync_get_idle_time_async (PresIdleSource      *source,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  PresIdleX11Sync *self = PRES_IDLE_X11_SYNC (source);
  gint64 idle_ms = sync_query_idle_ms (self);

  pres_idle_x11_process_events (PRES_IDLE_X11 (self));
  pres_idle_x11_report_idle_ms (source, idle_ms, pres_idle_x11_sync_get_idle_time_async,
                                callback, user_data);
}

static void
pres_idle_x11_sync_dispose (GObject *object)
{
  PresIdleX11Sync *self = PRES_IDLE_X11_SYNC (object);

  sync_clear_alarm (self, &self->idle_alarm);
  sync_clear_alarm (self, &self->reset_alarm);
  G_OBJECT_CLASS (pres_idle_x11_sync_parent_class)->dispose (object);
}

static void
pres_idle_x11_sync_class_init (PresIdleX11SyncClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PresIdleSourceClass *source_class = PRES_IDLE_SOURCE_CLASS (klass);
  PresIdleX11Class *x11_class = PRES_IDLE_X11_CLASS (klass);

  object_class->dispose = pres_idle_x11_sync_dispose;
  source_class->name = "x11-sync";
  source_class->timeout_changed = pres_idle_x11_sync_timeout_changed;
  source_class->get_idle_time_async = pres_idle_x11_sync_get_idle_time_async;
  x11_class->handle_event = pres_idle_x11_sync_handle_event;
}

static void
pres_idle_x11_sync_init (PresIdleX11Sync *self)
{
}

/* Takes @display on success only. */
static PresIdleSource *
pres_idle_x11_sync_new (Display *display,
                        GError **error)
{
  g_autoptr (PresIdleX11Sync) self = NULL;
  XSyncSystemCounter *counters;
  XSyncCounter idle_counter = None;
  int event_base, error_base, major, minor, n_counters;

  if (!XSyncQueryExtension (display, &event_base, &error_base) ||
      !XSyncInitialize (display, &major, &minor))
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                           "The X server has no SYNC extension");
      return NULL;
    }
  counters = XSyncListSystemCounters (display, &n_counters);
  for (int i = 0; counters != NULL && i < n_counters; i++)
    if (g_strcmp0 (counters[i].name, "IDLETIME") == 0)
      idle_counter = counters[i].counter;
  if (counters != NULL)
    XSyncFreeSystemCounterList (counters);
  if (idle_counter == None)
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                           "The X server's SYNC extension has no IDLETIME counter");
      return NULL;
    }

  self = g_object_new (PRES_TYPE_IDLE_X11_SYNC, NULL);
  self->event_base = event_base;
  self->counter = idle_counter;
  pres_idle_x11_attach (PRES_IDLE_X11 (self), display);
  sync_arm_idle (self);
  g_debug ("x11-sync: SYNC %d.%d, IDLETIME alarm at %u s", major, minor,
           pres_idle_source_get_timeout (PRES_IDLE_SOURCE (self)));
  return PRES_IDLE_SOURCE (g_steal_pointer (&self));
}

/* ---- constructors ------------------------------------------------------- */

static Display *
open_display (GError **error)
{
  const char *name = g_getenv ("DISPLAY");
  Display *display;

  /* Xwayland's counters only see input sent to X clients (idle.md §3). */
  if (g_getenv ("WAYLAND_DISPLAY") != NULL && *g_getenv ("WAYLAND_DISPLAY") != '\0')
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                           "A Wayland session: Xwayland's idle time misses Wayland input");
      return NULL;
    }
  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                           "No X display (DISPLAY is not set)");
      return NULL;
    }
  display = XOpenDisplay (name);
  if (display == NULL)
    g_set_error (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED, "Cannot open the X display %s",
                 name);
  return display;
}

PresIdleSource *
pres_idle_x11_new (GError **error)
{
  g_autoptr (GError) sync_error = NULL;
  PresIdleSource *source;
  Display *display = open_display (error);

  if (display == NULL)
    return NULL;
  source = pres_idle_x11_sync_new (display, &sync_error);
  if (source != NULL)
    return source;

  g_debug ("%s; trying XScreenSaver", sync_error->message);
  source = pres_idle_x11_saver_new (display, error);
  if (source == NULL)
    XCloseDisplay (display);
  return source;
}

PresIdleSource *
pres_idle_x11_new_screensaver (GError **error)
{
  PresIdleSource *source;
  Display *display = open_display (error);

  if (display == NULL)
    return NULL;
  source = pres_idle_x11_saver_new (display, error);
  if (source == NULL)
    XCloseDisplay (display);
  return source;
}

#endif /* HAVE_X11 */
