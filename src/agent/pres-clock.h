#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define PRES_TYPE_CLOCK (pres_clock_get_type ())
G_DECLARE_DERIVABLE_TYPE (PresClock, pres_clock, PRES, CLOCK, GObject)

/*
 * The model's view of time: wall time for expiry instants, monotonic
 * timers for waiting. Tests substitute a clock they drive by hand.
 *
 * "wall-clock-changed" is emitted when the wall clock jumps (settimeofday,
 * NTP step), so expiry instants can be checked again.
 */
struct _PresClockClass
{
  GObjectClass parent_class;

  gint64 (*get_real_time) (PresClock *self);
  guint  (*add_timeout)   (PresClock  *self,
                           guint       interval_ms,
                           GSourceFunc function,
                           gpointer    data);
  void   (*remove_timeout) (PresClock *self,
                            guint      id);
};

PresClock *pres_clock_new_system (void);

gint64 pres_clock_get_real_time (PresClock *self);
guint  pres_clock_add_timeout   (PresClock  *self,
                                 guint       interval_ms,
                                 GSourceFunc function,
                                 gpointer    data);
void   pres_clock_remove_timeout (PresClock *self,
                                  guint      id);
void   pres_clock_wall_clock_changed (PresClock *self);

G_END_DECLS
