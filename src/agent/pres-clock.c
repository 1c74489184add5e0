#define G_LOG_DOMAIN "pres-clock"

#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <glib-unix.h>

#include "pres-clock.h"

/*
 * The system clock: real time from g_get_real_time(), timers from GLib's
 * monotonic main loop, and wall-clock jumps seen through a timerfd armed
 * with TFD_TIMER_CANCEL_ON_SET, so no polling is needed to notice them.
 */

G_DEFINE_TYPE (PresClock, pres_clock, G_TYPE_OBJECT)

enum
{
  SIGNAL_WALL_CLOCK_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

#define PRES_TYPE_SYSTEM_CLOCK (pres_system_clock_get_type ())
G_DECLARE_FINAL_TYPE (PresSystemClock, pres_system_clock, PRES, SYSTEM_CLOCK, PresClock)

struct _PresSystemClock
{
  PresClock parent_instance;

  int   timer_fd;
  guint timer_watch_id;
};

G_DEFINE_TYPE (PresSystemClock, pres_system_clock, PRES_TYPE_CLOCK)

static gint64
pres_clock_real_get_real_time (PresClock *self)
{
  return g_get_real_time ();
}

static guint
pres_clock_real_add_timeout (PresClock  *self,
                             guint       interval_ms,
                             GSourceFunc function,
                             gpointer    data)
{
  return g_timeout_add (interval_ms, function, data);
}

static void
pres_clock_real_remove_timeout (PresClock *self,
                                guint      id)
{
  g_source_remove (id);
}

static void
pres_clock_class_init (PresClockClass *klass)
{
  klass->get_real_time = pres_clock_real_get_real_time;
  klass->add_timeout = pres_clock_real_add_timeout;
  klass->remove_timeout = pres_clock_real_remove_timeout;

  signals[SIGNAL_WALL_CLOCK_CHANGED] =
    g_signal_new ("wall-clock-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
}

static void
pres_clock_init (PresClock *self)
{
}

gint64
pres_clock_get_real_time (PresClock *self)
{
  g_return_val_if_fail (PRES_IS_CLOCK (self), 0);
  return PRES_CLOCK_GET_CLASS (self)->get_real_time (self);
}

guint
pres_clock_add_timeout (PresClock  *self,
                        guint       interval_ms,
                        GSourceFunc function,
                        gpointer    data)
{
  g_return_val_if_fail (PRES_IS_CLOCK (self), 0);
  return PRES_CLOCK_GET_CLASS (self)->add_timeout (self, interval_ms, function, data);
}

void
pres_clock_remove_timeout (PresClock *self,
                           guint      id)
{
  g_return_if_fail (PRES_IS_CLOCK (self));
  if (id != 0)
    PRES_CLOCK_GET_CLASS (self)->remove_timeout (self, id);
}

void
pres_clock_wall_clock_changed (PresClock *self)
{
  g_return_if_fail (PRES_IS_CLOCK (self));
  g_signal_emit (self, signals[SIGNAL_WALL_CLOCK_CHANGED], 0);
}

static gboolean
arm_cancel_on_set (int fd)
{
  /* An absolute timer far in the future that the kernel cancels the moment
   * CLOCK_REALTIME is set. */
  struct itimerspec spec = { .it_value = { .tv_sec = G_MAXINT32 } };

  return timerfd_settime (fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, NULL) == 0;
}

static gboolean
on_timer_fd (int          fd,
             GIOCondition condition,
             gpointer     user_data)
{
  PresSystemClock *self = user_data;
  guint64 expirations;

  if (read (fd, &expirations, sizeof expirations) < 0 && errno == ECANCELED)
    {
      g_debug ("Wall clock changed");
      arm_cancel_on_set (fd);
      pres_clock_wall_clock_changed (PRES_CLOCK (self));
    }
  return G_SOURCE_CONTINUE;
}

static void
pres_system_clock_finalize (GObject *object)
{
  PresSystemClock *self = PRES_SYSTEM_CLOCK (object);

  g_clear_handle_id (&self->timer_watch_id, g_source_remove);
  if (self->timer_fd >= 0)
    close (self->timer_fd);

  G_OBJECT_CLASS (pres_system_clock_parent_class)->finalize (object);
}

static void
pres_system_clock_class_init (PresSystemClockClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pres_system_clock_finalize;
}

static void
pres_system_clock_init (PresSystemClock *self)
{
  self->timer_fd = timerfd_create (CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (self->timer_fd < 0 || !arm_cancel_on_set (self->timer_fd))
    {
      g_warning ("Cannot watch for wall-clock changes: %s", g_strerror (errno));
      return;
    }
  self->timer_watch_id = g_unix_fd_add (self->timer_fd, G_IO_IN, on_timer_fd, self);
}

PresClock *
pres_clock_new_system (void)
{
  return g_object_new (PRES_TYPE_SYSTEM_CLOCK, NULL);
}
