#include "pres-fake-clock.h"

typedef struct
{
  guint       id;
  gint64      deadline_ms;
  GSourceFunc function;
  gpointer    data;
} FakeTimer;

struct _PresFakeClock
{
  PresClock parent_instance;

  gint64  real_us;
  gint64  monotonic_ms;
  guint   next_id;
  GSList *timers;
};

G_DEFINE_TYPE (PresFakeClock, pres_fake_clock, PRES_TYPE_CLOCK)

static gint64
fake_get_real_time (PresClock *clock)
{
  return PRES_FAKE_CLOCK (clock)->real_us;
}

static guint
fake_add_timeout (PresClock  *clock,
                  guint       interval_ms,
                  GSourceFunc function,
                  gpointer    data)
{
  PresFakeClock *self = PRES_FAKE_CLOCK (clock);
  FakeTimer *timer = g_new0 (FakeTimer, 1);

  timer->id = ++self->next_id;
  timer->deadline_ms = self->monotonic_ms + interval_ms;
  timer->function = function;
  timer->data = data;
  self->timers = g_slist_prepend (self->timers, timer);
  return timer->id;
}

static void
fake_remove_timeout (PresClock *clock,
                     guint      id)
{
  PresFakeClock *self = PRES_FAKE_CLOCK (clock);

  for (GSList *l = self->timers; l != NULL; l = l->next)
    {
      FakeTimer *timer = l->data;
      if (timer->id == id)
        {
          self->timers = g_slist_delete_link (self->timers, l);
          g_free (timer);
          return;
        }
    }
  g_assert_not_reached ();
}

static FakeTimer *
take_earliest_due (PresFakeClock *self)
{
  GSList *earliest = NULL;
  FakeTimer *timer;

  for (GSList *l = self->timers; l != NULL; l = l->next)
    {
      FakeTimer *t = l->data;
      if (t->deadline_ms <= self->monotonic_ms &&
          (earliest == NULL || t->deadline_ms < ((FakeTimer *) earliest->data)->deadline_ms))
        earliest = l;
    }
  if (earliest == NULL)
    return NULL;
  timer = earliest->data;
  self->timers = g_slist_delete_link (self->timers, earliest);
  return timer;
}

void
pres_fake_clock_advance (PresFakeClock *self,
                         guint          ms)
{
  gint64 target = self->monotonic_ms + ms;

  /* Step timer by timer so each fires at its own instant. */
  while (TRUE)
    {
      gint64 next = target;
      FakeTimer *timer;

      for (GSList *l = self->timers; l != NULL; l = l->next)
        next = MIN (next, ((FakeTimer *) l->data)->deadline_ms);
      next = MAX (next, self->monotonic_ms);
      self->real_us += (next - self->monotonic_ms) * 1000;
      self->monotonic_ms = next;

      timer = take_earliest_due (self);
      if (timer == NULL)
        break;
      /* The model's timers are one-shot. */
      g_assert_true (timer->function (timer->data) == G_SOURCE_REMOVE);
      g_free (timer);
    }
}

void
pres_fake_clock_jump_wall (PresFakeClock *self,
                           gint64         delta_us)
{
  self->real_us += delta_us;
  pres_clock_wall_clock_changed (PRES_CLOCK (self));
}

void
pres_fake_clock_suspend (PresFakeClock *self,
                         guint          ms)
{
  self->real_us += (gint64) ms * 1000;
}

guint
pres_fake_clock_n_timers (PresFakeClock *self)
{
  return g_slist_length (self->timers);
}

static void
pres_fake_clock_finalize (GObject *object)
{
  PresFakeClock *self = PRES_FAKE_CLOCK (object);

  g_slist_free_full (self->timers, g_free);
  G_OBJECT_CLASS (pres_fake_clock_parent_class)->finalize (object);
}

static void
pres_fake_clock_class_init (PresFakeClockClass *klass)
{
  PresClockClass *clock_class = PRES_CLOCK_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = pres_fake_clock_finalize;
  clock_class->get_real_time = fake_get_real_time;
  clock_class->add_timeout = fake_add_timeout;
  clock_class->remove_timeout = fake_remove_timeout;
}

static void
pres_fake_clock_init (PresFakeClock *self)
{
}

PresFakeClock *
pres_fake_clock_new (gint64 real_time_us)
{
  PresFakeClock *self = g_object_new (PRES_TYPE_FAKE_CLOCK, NULL);

  self->real_us = real_time_us;
  return self;
}
