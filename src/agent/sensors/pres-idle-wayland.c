#define G_LOG_DOMAIN "pres-idle"

#include <errno.h>

#include "pres-error.h"
#include "pres-idle-wayland.h"

#ifdef HAVE_WAYLAND
#include <glib-unix.h>
#include <wayland-client.h>

#include "sensors/ext-idle-notify-v1-client-protocol.h"
#include "sensors/kde-idle-client-protocol.h"
#endif

/*
 * PresIdleWayland owns the compositor connection and the idle state; its
 * final subclasses PresIdleWaylandExt and PresIdleWaylandKde only speak
 * their protocol. A notification object ("watch") per timeout: idled sets
 * idle, resumed clears it.
 */

enum
{
  SIGNAL_LOST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

#ifndef HAVE_WAYLAND

struct _PresIdleWaylandClass
{
  PresIdleSourceClass parent_class;
};

G_DEFINE_TYPE (PresIdleWayland, pres_idle_wayland, PRES_TYPE_IDLE_SOURCE)

static void
pres_idle_wayland_class_init (PresIdleWaylandClass *klass)
{
  signals[SIGNAL_LOST] = g_signal_new ("lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pres_idle_wayland_init (PresIdleWayland *self)
{
}

PresIdleSource *
pres_idle_wayland_new (GError **error)
{
  g_set_error_literal (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                       "Built without Wayland support");
  return NULL;
}

gboolean
pres_idle_wayland_is_lost (PresIdleWayland *self)
{
  return TRUE;
}

#else /* HAVE_WAYLAND */

struct _PresIdleWaylandClass
{
  PresIdleSourceClass parent_class;

  /* A notification object at @timeout_ms whose listener calls
   * watch_idled / watch_resumed with the source as data. */
  struct wl_proxy *(*watch_new)  (PresIdleWayland *self,
                                  struct wl_seat  *seat,
                                  guint32          timeout_ms);
  void             (*watch_free) (struct wl_proxy *watch);
};

typedef struct
{
  struct wl_display *display;
  struct wl_seat    *seat;
  struct wl_proxy   *watch;
  /* The watch of the previous timeout, kept while idle so that input is
   * still seen before the new watch has idled once. */
  struct wl_proxy   *old_watch;
  gint64             idle_since; /* monotonic µs: idled time − timeout */
  guint              fd_id;
  guint              lost_idle_id;
  gboolean           lost;
} PresIdleWaylandPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (PresIdleWayland, pres_idle_wayland, PRES_TYPE_IDLE_SOURCE)

gboolean
pres_idle_wayland_is_lost (PresIdleWayland *self)
{
  PresIdleWaylandPrivate *priv = pres_idle_wayland_get_instance_private (self);

  g_return_val_if_fail (PRES_IS_IDLE_WAYLAND (self), TRUE);
  return priv->lost;
}

static gboolean
emit_lost (gpointer data)
{
  PresIdleWayland *self = data;
  PresIdleWaylandPrivate *priv = pres_idle_wayland_get_instance_private (self);

  priv->lost_idle_id = 0;
  g_signal_emit (self, signals[SIGNAL_LOST], 0);
  return G_SOURCE_REMOVE;
}

/* The signal leaves from the main loop: a handler may drop the source. */
static void
mark_lost (PresIdleWayland *self,
           const char      *why)
{
  PresIdleWaylandPrivate *priv = pres_idle_wayland_get_instance_private (self);

  if (priv->lost)
    return;
  priv->lost = TRUE;
  g_message ("Lost the Wayland compositor: %s", why);
  g_clear_handle_id (&priv->fd_id, g_source_remove);
  priv->lost_idle_id = g_idle_add_full (G_PRIORITY_DEFAULT, emit_lost, g_object_ref (self),
                                        g_object_unref);
}

static void
flush (PresIdleWayland *self)
{
  PresIdleWaylandPrivate *priv = pres_idle_wayland_get_instance_private (self);

  /* EAGAIN would only mean a full socket buffer; a few bytes never fill it. */
  if (!priv->lost && wl_display_flush (priv->display) < 0 && errno != EAGAIN)
    mark_lost (self, g_strerror (errno));
}

static guint32
timeout_ms (PresIdleWayland *self)
{
  return (guint32) MIN ((guint64) pres_idle_source_get_timeout (PRES_IDLE_SOURCE (self)) * 1000,
                        G_MAXUINT32);
}

static void
clear_watch (PresIdleWayland  *self,
             struct wl_proxy **watch)
{
  if (*watch != NULL)
    PRES_IDLE_WAYLAND_GET_CLASS (self)->watch_free (g_steal_pointer (watch));
}

static void
watch_idled (PresIdleWayland *self,
             struct wl_proxy *watch)
{
  PresIdleWaylandPrivate *priv = pres_idle_wayland_get_instance_private (self);

  if (watch != priv->watch)
    return;
  g_debug ("%s: idle", pres_idle_source_get_name (PRES_IDLE_SOURCE (self)));
  clear_watch (self, &priv->old_watch);
  /* Already idle after a timeout change: the older stamp is the better one. */
  if (!pres_idle_source_get_idle (PRES_IDLE_SOURCE (self)))
    priv->idle_since = g_get_monotonic_time () - (gint64) timeout_ms (self) * 1000;
  pres_idle_source_set_idle (PRES_IDLE_SOURCE (self), TRUE);
}

static void
watch_resumed (PresIdleWayland *self,
               struct wl_proxy *watch)
{
  PresIdleWaylandPrivate *priv = pres_idle_wayland_get_instance_private (self);

  g_debug ("%s: input", pres_idle_source_get_name (PRES_IDLE_SOURCE (self)));
  /* The input also restarted the current watch's timer. */
  clear_watch (self, &priv->old_watch);
  pres_idle_source_set_idle (PRES_IDLE_SOURCE (self), FALSE);
}

static gboolean
on_display_fd (int          fd,
               GIOCondition condition,
               gpointer     user_data)
{
  PresIdleWayland *self = user_data;
  PresIdleWaylandPrivate *priv = pres_idle_wayland_get_instance_private (self);
  struct wl_display *display = priv->display;

  if ((condition & (G_IO_HUP | G_IO_ERR)) != 0)
    {
      mark_lost (self, "the connection was closed");
      return G_SOURCE_REMOVE;
    }

  /* The non-blocking read: wl_display_dispatch would poll if nothing came. */
  while (wl_display_prepare_read (display) != 0)
    if (wl_display_dispatch_pending (display) < 0)
      goto failed;
  if (wl_display_read_events (display) < 0 || wl_display_dispatch_pending (display) < 0)
    goto failed;
  flush (self);
  return priv->lost ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;

failed:
  mark_lost (self, g_strerror (wl_display_get_error (display)));
  return G_SOURCE_REMOVE;
}

static void
pres_idle_wayland_timeout_changed (PresIdleSource *source)
{
  PresIdleWayland *self = PRES_IDLE_WAYLAND (source);
  PresIdleWaylandPrivate *priv = pres_idle_wayland_get_instance_private (self);
  PresIdleWaylandClass *klass = PRES_IDLE_WAYLAND_GET_CLASS (self);
  gint64 idle_us = g_get_monotonic_time () - priv->idle_since;

  if (priv->lost)
    return;

  /*
   * A new watch counts from its creation, not from the last input. Still
   * idle under the new timeout: stay idle and keep the old watch for the
   * resume. Otherwise this is "active" until the new watch idles.
   */
  clear_watch (self, &priv->old_watch);
  if (pres_idle_source_get_idle (source) && idle_us >= (gint64) timeout_ms (self) * 1000)
    priv->old_watch = g_steal_pointer (&priv->watch);
  else
    {
      clear_watch (self, &priv->watch);
      pres_idle_source_set_idle (source, FALSE);
    }
  priv->watch = klass->watch_new (self, priv->seat, timeout_ms (self));
  flush (self);
}

static void
pres_idle_wayland_get_idle_time_async (PresIdleSource      *source,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  PresIdleWaylandPrivate *priv =
    pres_idle_wayland_get_instance_private (PRES_IDLE_WAYLAND (source));
  g_autoptr (GTask) task = g_task_new (source, cancellable, callback, user_data);
  gint64 idle_us = g_get_monotonic_time () - priv->idle_since;

  g_task_set_source_tag (task, pres_idle_wayland_get_idle_time_async);
  if (priv->lost)
    g_task_return_new_error (task, PRES_ERROR, PRES_ERROR_FAILED,
                             "The compositor is gone; the idle time is unknown");
  else if (!pres_idle_source_get_idle (source))
    g_task_return_int (task, 0);
  else
    g_task_return_int (task, MAX (idle_us, 0) / G_USEC_PER_SEC);
}

static guint
pres_idle_wayland_get_idle_time_finish (PresIdleSource *source,
                                        GAsyncResult   *result,
                                        GError        **error)
{
  gssize seconds = g_task_propagate_int (G_TASK (result), error);

  return seconds < 0 ? 0 : (guint) seconds;
}

static void
pres_idle_wayland_dispose (GObject *object)
{
  PresIdleWayland *self = PRES_IDLE_WAYLAND (object);
  PresIdleWaylandPrivate *priv = pres_idle_wayland_get_instance_private (self);

  g_clear_handle_id (&priv->fd_id, g_source_remove);
  g_clear_handle_id (&priv->lost_idle_id, g_source_remove);
  clear_watch (self, &priv->old_watch);
  clear_watch (self, &priv->watch);
  g_clear_pointer (&priv->seat, wl_seat_destroy);
  G_OBJECT_CLASS (pres_idle_wayland_parent_class)->dispose (object);
}

static void
pres_idle_wayland_finalize (GObject *object)
{
  PresIdleWaylandPrivate *priv =
    pres_idle_wayland_get_instance_private (PRES_IDLE_WAYLAND (object));

  g_clear_pointer (&priv->display, wl_display_disconnect);
  G_OBJECT_CLASS (pres_idle_wayland_parent_class)->finalize (object);
}

static void
pres_idle_wayland_class_init (PresIdleWaylandClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PresIdleSourceClass *source_class = PRES_IDLE_SOURCE_CLASS (klass);

  object_class->dispose = pres_idle_wayland_dispose;
  object_class->finalize = pres_idle_wayland_finalize;
  source_class->timeout_changed = pres_idle_wayland_timeout_changed;
  source_class->get_idle_time_async = pres_idle_wayland_get_idle_time_async;
  source_class->get_idle_time_finish = pres_idle_wayland_get_idle_time_finish;

  signals[SIGNAL_LOST] = g_signal_new ("lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pres_idle_wayland_init (PresIdleWayland *self)
{
}

/* Takes @display and @seat. */
static void
pres_idle_wayland_start (PresIdleWayland   *self,
                         struct wl_display *display,
                         struct wl_seat    *seat)
{
  PresIdleWaylandPrivate *priv = pres_idle_wayland_get_instance_private (self);

  priv->display = display;
  priv->seat = seat;
  priv->watch = PRES_IDLE_WAYLAND_GET_CLASS (self)->watch_new (self, seat, timeout_ms (self));
  priv->fd_id = g_unix_fd_add (wl_display_get_fd (display), G_IO_IN | G_IO_HUP | G_IO_ERR,
                               on_display_fd, self);
  flush (self);
  g_debug ("%s: watch at %u ms", pres_idle_source_get_name (PRES_IDLE_SOURCE (self)),
           timeout_ms (self));
}

/* ---- ext_idle_notifier_v1 ---------------------------------------------- */

#define PRES_TYPE_IDLE_WAYLAND_EXT (pres_idle_wayland_ext_get_type ())
G_DECLARE_FINAL_TYPE (PresIdleWaylandExt, pres_idle_wayland_ext, PRES, IDLE_WAYLAND_EXT,
                      PresIdleWayland)

struct _PresIdleWaylandExt
{
  PresIdleWayland parent_instance;

  struct ext_idle_notifier_v1 *notifier;
};

G_DEFINE_FINAL_TYPE (PresIdleWaylandExt, pres_idle_wayland_ext, PRES_TYPE_IDLE_WAYLAND)

static void
ext_idled (void                           *data,
           struct ext_idle_notification_v1 *notification)
{
  watch_idled (data, (struct wl_proxy *) notification);
}

static void
ext_resumed (void                           *data,
             struct ext_idle_notification_v1 *notification)
{
  watch_resumed (data, (struct wl_proxy *) notification);
}

static const struct ext_idle_notification_v1_listener ext_listener = {
  .idled = ext_idled,
  .resumed = ext_resumed,
};

static struct wl_proxy *
ext_watch_new (PresIdleWayland *self,
               struct wl_seat  *seat,
               guint32          timeout_ms)
{
  struct ext_idle_notification_v1 *notification =
    ext_idle_notifier_v1_get_idle_notification (PRES_IDLE_WAYLAND_EXT (self)->notifier,
                                                timeout_ms, seat);

  ext_idle_notification_v1_add_listener (notification, &ext_listener, self);
  return (struct wl_proxy *) notification;
}

static void
ext_watch_free (struct wl_proxy *watch)
{
  ext_idle_notification_v1_destroy ((struct ext_idle_notification_v1 *) watch);
}

static void
pres_idle_wayland_ext_dispose (GObject *object)
{
  PresIdleWaylandExt *self = PRES_IDLE_WAYLAND_EXT (object);

  /* The parent destroys the watches; the notifier may go first. */
  g_clear_pointer (&self->notifier, ext_idle_notifier_v1_destroy);
  G_OBJECT_CLASS (pres_idle_wayland_ext_parent_class)->dispose (object);
}

static void
pres_idle_wayland_ext_class_init (PresIdleWaylandExtClass *klass)
{
  PresIdleWaylandClass *wayland_class = PRES_IDLE_WAYLAND_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pres_idle_wayland_ext_dispose;
  PRES_IDLE_SOURCE_CLASS (klass)->name = "ext-idle-notify";
  wayland_class->watch_new = ext_watch_new;
  wayland_class->watch_free = ext_watch_free;
}

static void
pres_idle_wayland_ext_init (PresIdleWaylandExt *self)
{
}

/* ---- org_kde_kwin_idle -------------------------------------------------- */

#define PRES_TYPE_IDLE_WAYLAND_KDE (pres_idle_wayland_kde_get_type ())
G_DECLARE_FINAL_TYPE (PresIdleWaylandKde, pres_idle_wayland_kde, PRES, IDLE_WAYLAND_KDE,
                      PresIdleWayland)

struct _PresIdleWaylandKde
{
  PresIdleWayland parent_instance;

  struct org_kde_kwin_idle *idle;
};

G_DEFINE_FINAL_TYPE (PresIdleWaylandKde, pres_idle_wayland_kde, PRES_TYPE_IDLE_WAYLAND)

static void
kde_idle (void                             *data,
          struct org_kde_kwin_idle_timeout *timeout)
{
  watch_idled (data, (struct wl_proxy *) timeout);
}

static void
kde_resumed (void                             *data,
             struct org_kde_kwin_idle_timeout *timeout)
{
  watch_resumed (data, (struct wl_proxy *) timeout);
}

static const struct org_kde_kwin_idle_timeout_listener kde_listener = {
  .idle = kde_idle,
  .resumed = kde_resumed,
};

static struct wl_proxy *
kde_watch_new (PresIdleWayland *self,
               struct wl_seat  *seat,
               guint32          timeout_ms)
{
  struct org_kde_kwin_idle_timeout *timeout =
    org_kde_kwin_idle_get_idle_timeout (PRES_IDLE_WAYLAND_KDE (self)->idle, seat, timeout_ms);

  org_kde_kwin_idle_timeout_add_listener (timeout, &kde_listener, self);
  return (struct wl_proxy *) timeout;
}

static void
kde_watch_free (struct wl_proxy *watch)
{
  org_kde_kwin_idle_timeout_release ((struct org_kde_kwin_idle_timeout *) watch);
}

static void
pres_idle_wayland_kde_dispose (GObject *object)
{
  PresIdleWaylandKde *self = PRES_IDLE_WAYLAND_KDE (object);

  g_clear_pointer (&self->idle, org_kde_kwin_idle_destroy);
  G_OBJECT_CLASS (pres_idle_wayland_kde_parent_class)->dispose (object);
}

static void
pres_idle_wayland_kde_class_init (PresIdleWaylandKdeClass *klass)
{
  PresIdleWaylandClass *wayland_class = PRES_IDLE_WAYLAND_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = pres_idle_wayland_kde_dispose;
  PRES_IDLE_SOURCE_CLASS (klass)->name = "kde-idle";
  wayland_class->watch_new = kde_watch_new;
  wayland_class->watch_free = kde_watch_free;
}

static void
pres_idle_wayland_kde_init (PresIdleWaylandKde *self)
{
}

/* ---- constructor -------------------------------------------------------- */

typedef struct
{
  struct wl_seat              *seat;
  struct ext_idle_notifier_v1 *ext;
  struct org_kde_kwin_idle    *kde;
} Globals;

static void
on_global (void               *data,
           struct wl_registry *registry,
           uint32_t            name,
           const char         *interface,
           uint32_t            version)
{
  Globals *globals = data;

  /* The first seat: idle protocols on multi-seat compositors are per seat,
   * and the session's user sits on the first. */
  if (g_str_equal (interface, wl_seat_interface.name) && globals->seat == NULL)
    globals->seat = wl_registry_bind (registry, name, &wl_seat_interface, 1);
  else if (g_str_equal (interface, ext_idle_notifier_v1_interface.name) && globals->ext == NULL)
    globals->ext = wl_registry_bind (registry, name, &ext_idle_notifier_v1_interface, 1);
  else if (g_str_equal (interface, org_kde_kwin_idle_interface.name) && globals->kde == NULL)
    globals->kde = wl_registry_bind (registry, name, &org_kde_kwin_idle_interface, 1);
}

static void
on_global_remove (void               *data,
                  struct wl_registry *registry,
                  uint32_t            name)
{
}

static const struct wl_registry_listener registry_listener = {
  .global = on_global,
  .global_remove = on_global_remove,
};

PresIdleSource *
pres_idle_wayland_new (GError **error)
{
  const char *name = g_getenv ("WAYLAND_DISPLAY");
  struct wl_display *display;
  struct wl_registry *registry;
  PresIdleWayland *self;
  Globals globals = { 0 };

  /* libwayland would fall back to "wayland-0", someone else's session. */
  if ((name == NULL || *name == '\0') && g_getenv ("WAYLAND_SOCKET") == NULL)
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                           "No Wayland display (WAYLAND_DISPLAY is not set)");
      return NULL;
    }
  display = wl_display_connect (NULL);
  if (display == NULL)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                   "Cannot connect to the Wayland display %s: %s", name ? name : "(socket)",
                   g_strerror (errno));
      return NULL;
    }

  /* One blocking round trip at start-up, as every Wayland client makes. */
  registry = wl_display_get_registry (display);
  wl_registry_add_listener (registry, &registry_listener, &globals);
  if (wl_display_roundtrip (display) < 0)
    g_clear_pointer (&globals.seat, wl_seat_destroy);
  wl_registry_destroy (registry);

  if (globals.seat == NULL || (globals.ext == NULL && globals.kde == NULL))
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                           globals.seat == NULL
                             ? "The Wayland compositor offers no seat"
                             : "The Wayland compositor offers no idle protocol "
                               "(ext_idle_notifier_v1, org_kde_kwin_idle)");
      g_clear_pointer (&globals.seat, wl_seat_destroy);
      g_clear_pointer (&globals.ext, ext_idle_notifier_v1_destroy);
      g_clear_pointer (&globals.kde, org_kde_kwin_idle_destroy);
      wl_display_disconnect (display);
      return NULL;
    }

  if (globals.ext != NULL)
    {
      PresIdleWaylandExt *ext = g_object_new (PRES_TYPE_IDLE_WAYLAND_EXT, NULL);

      ext->notifier = g_steal_pointer (&globals.ext);
      g_clear_pointer (&globals.kde, org_kde_kwin_idle_destroy);
      self = PRES_IDLE_WAYLAND (ext);
    }
  else
    {
      PresIdleWaylandKde *kde = g_object_new (PRES_TYPE_IDLE_WAYLAND_KDE, NULL);

      kde->idle = g_steal_pointer (&globals.kde);
      self = PRES_IDLE_WAYLAND (kde);
    }
  pres_idle_wayland_start (self, display, globals.seat);
  return PRES_IDLE_SOURCE (self);
}

#endif /* HAVE_WAYLAND */
