#pragma once

#include "pres-clock.h"

G_BEGIN_DECLS

#define PRES_TYPE_FAKE_CLOCK (pres_fake_clock_get_type ())
G_DECLARE_FINAL_TYPE (PresFakeClock, pres_fake_clock, PRES, FAKE_CLOCK, PresClock)

/* A clock the test drives: time stands still until advanced. */
PresFakeClock *pres_fake_clock_new (gint64 real_time_us);

/* Both clocks move on; due timers fire in deadline order. */
void pres_fake_clock_advance    (PresFakeClock *self,
                                 guint          ms);
/* Only the wall clock moves, and the jump is announced. */
void pres_fake_clock_jump_wall  (PresFakeClock *self,
                                 gint64         delta_us);
/* A suspend: the wall clock moves, monotonic time and timers do not. */
void pres_fake_clock_suspend    (PresFakeClock *self,
                                 guint          ms);
guint pres_fake_clock_n_timers  (PresFakeClock *self);

G_END_DECLS
