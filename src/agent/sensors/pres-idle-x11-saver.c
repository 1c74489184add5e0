#define G_LOG_DOMAIN "pres-idle"

#include <X11/extensions/scrnsaver.h>

#include "pres-error.h"
#include "pres-idle-x11-private.h"

/*
 * "x11-screensaver": for X servers without SYNC IDLETIME. MIT-SCREEN-SAVER
 * has no event for an arbitrary threshold, so this asks for the idle time,
 * sleeping until the threshold can be reached (timeout − idle), and once
 * idle looks every second for the input that ends it.
 */

#define PRES_TYPE_IDLE_X11_SAVER (pres_idle_x11_saver_get_type ())
G_DECLARE_FINAL_TYPE (PresIdleX11Saver, pres_idle_x11_saver, PRES, IDLE_X11_SAVER, PresIdleX11)

/* While idle nothing announces input, so look once a second. */
#define SAVER_IDLE_CHECK_MS 1000

struct _PresIdleX11Saver
{
  PresIdleX11 parent_instance;

  guint check_id;
};

G_DEFINE_FINAL_TYPE (PresIdleX11Saver, pres_idle_x11_saver, PRES_TYPE_IDLE_X11)

static gint64
saver_query_idle_ms (PresIdleX11Saver *self)
{
  Display *display = pres_idle_x11_get_display (PRES_IDLE_X11 (self));
  XScreenSaverInfo info = { 0 };
  gint64 idle_ms = -1;

  if (display != NULL && XScreenSaverQueryInfo (display, DefaultRootWindow (display), &info))
    idle_ms = (gint64) info.idle;
  pres_idle_x11_process_events (PRES_IDLE_X11 (self));
  return idle_ms;
}

static gboolean saver_check (gpointer user_data);

/*
 * Sleeps exactly until the threshold can be reached (timeout − idle), so
 * an active user costs one wakeup per timeout, not one per second.
 */
static gboolean
saver_check (gpointer user_data)
{
  PresIdleX11Saver *self = user_data;
  PresIdleSource *source = PRES_IDLE_SOURCE (self);
  gint64 idle_ms = saver_query_idle_ms (self);
  gint64 limit_ms = pres_idle_x11_timeout_ms (source);
  gint64 next_ms;

  self->check_id = 0;
  if (idle_ms < 0)
    return G_SOURCE_REMOVE;

  pres_idle_source_set_idle (source, idle_ms >= limit_ms);
  next_ms = idle_ms >= limit_ms ? SAVER_IDLE_CHECK_MS : limit_ms - idle_ms;
  self->check_id = g_timeout_add ((guint) CLAMP (next_ms, 1, G_MAXUINT), saver_check, self);
  return G_SOURCE_REMOVE;
}

static void
pres_idle_x11_saver_timeout_changed (PresIdleSource *source)
{
  PresIdleX11Saver *self = PRES_IDLE_X11_SAVER (source);

  g_clear_handle_id (&self->check_id, g_source_remove);
  saver_check (self);
}

static void
pres_idle_x11_saver_get_idle_time_async (PresIdleSource      *source,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  gint64 idle_ms = saver_query_idle_ms (PRES_IDLE_X11_SAVER (source));

  pres_idle_x11_report_idle_ms (source, idle_ms, pres_idle_x11_saver_get_idle_time_async,
                                callback, user_data);
}

static void
pres_idle_x11_saver_dispose (GObject *object)
{
  PresIdleX11Saver *self = PRES_IDLE_X11_SAVER (object);

  g_clear_handle_id (&self->check_id, g_source_remove);
  G_OBJECT_CLASS (pres_idle_x11_saver_parent_class)->dispose (object);
}

static void
pres_idle_x11_saver_class_init (PresIdleX11SaverClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PresIdleSourceClass *source_class = PRES_IDLE_SOURCE_CLASS (klass);

  object_class->dispose = pres_idle_x11_saver_dispose;
  source_class->name = "x11-screensaver";
  source_class->timeout_changed = pres_idle_x11_saver_timeout_changed;
  source_class->get_idle_time_async = pres_idle_x11_saver_get_idle_time_async;
}

static void
pres_idle_x11_saver_init (PresIdleX11Saver *self)
{
}

/* Takes @display on success only. */
PresIdleSource *
pres_idle_x11_saver_new (Display *display,
                         GError **error)
{
  g_autoptr (PresIdleX11Saver) self = NULL;
  int event_base, error_base;

  if (!XScreenSaverQueryExtension (display, &event_base, &error_base))
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                           "The X server has neither SYNC IDLETIME nor MIT-SCREEN-SAVER");
      return NULL;
    }
  self = g_object_new (PRES_TYPE_IDLE_X11_SAVER, NULL);
  pres_idle_x11_attach (PRES_IDLE_X11 (self), display);
  saver_check (self);
  return PRES_IDLE_SOURCE (g_steal_pointer (&self));
}
