#define G_LOG_DOMAIN "pres-openclaw"

#include "pres-openclaw-activity.h"

#include "pres-openclaw-node-frames.h"

/*
 * Idle sources tell when input crosses the idle timeout, not of every
 * input; so while the user is at the desk the idle time is read once per
 * gap (the most the gateway wants to hear), and while away only for the
 * keepalive. Input after an idle spell is seen at once, through the idle
 * source's own event.
 */

/* Idle times are whole seconds: input times closer than this are the same. */
#define SAME_INPUT_MS 2000

struct _PresOpenclawActivity
{
  PresModel *model;
  PresIdleSource *idle_source;
  PresOpenclawActivitySend send;
  gpointer user_data;

  gboolean started;
  PresOpenclawActivityClock clock;
  GCancellable *sampling; /* an idle time read under way */
  guint sample_id;
};

gint64
pres_openclaw_activity_clock_due (const PresOpenclawActivityClock *clock,
                                  gint64 now_ms,
                                  gint64 idle_seconds)
{
  gint64 active_at = now_ms - MIN (idle_seconds, PRES_OPENCLAW_MAX_IDLE_SECONDS) * 1000;
  gint64 since = now_ms - clock->sent_at_ms;

  if (!clock->reported)
    return 0;
  /* A capped idle time moves forward with the clock, not with input. */
  if (idle_seconds < PRES_OPENCLAW_MAX_IDLE_SECONDS
      && active_at > clock->active_at_ms + SAME_INPUT_MS)
    return MAX (0, PRES_OPENCLAW_ACTIVITY_GAP_MS - since);
  return MAX (0, PRES_OPENCLAW_ACTIVITY_KEEPALIVE_MS - since);
}

void
pres_openclaw_activity_clock_sent (PresOpenclawActivityClock *clock,
                                   gint64 now_ms,
                                   gint64 idle_seconds)
{
  clock->reported = TRUE;
  clock->sent_at_ms = now_ms;
  clock->active_at_ms = now_ms - MIN (idle_seconds, PRES_OPENCLAW_MAX_IDLE_SECONDS) * 1000;
}

static gint64
now_ms (void)
{
  return g_get_monotonic_time () / 1000;
}

static gboolean
may_report (PresOpenclawActivity *self)
{
  PresState state = pres_model_get_state (self->model);

  return self->started && !pres_model_get_locked (self->model)
         && (state == PRES_STATE_ONLINE || state == PRES_STATE_IDLE || state == PRES_STATE_BUSY);
}

static void sample (PresOpenclawActivity *self);

static gboolean
on_sample_due (gpointer user_data)
{
  PresOpenclawActivity *self = user_data;

  self->sample_id = 0;
  sample (self);
  return G_SOURCE_REMOVE;
}

static void
sample_in (PresOpenclawActivity *self, gint64 delay_ms)
{
  g_clear_handle_id (&self->sample_id, g_source_remove);
  self->sample_id = g_timeout_add ((guint)CLAMP (delay_ms, 0, G_MAXINT32), on_sample_due, self);
}

static void
on_idle_time (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PresOpenclawActivity *self = user_data;
  g_autoptr (GError) error = NULL;
  gint64 now = now_ms ();
  gint64 idle_seconds;
  gint64 due;

  idle_seconds = pres_idle_source_get_idle_time_finish (PRES_IDLE_SOURCE (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&self->sampling);
  if (!may_report (self))
    return;
  if (error != NULL)
    {
      /* No figure is better than a made-up one; try again later. */
      g_debug ("No idle time for the activity report: %s", error->message);
      sample_in (self, PRES_OPENCLAW_ACTIVITY_KEEPALIVE_MS);
      return;
    }
  due = pres_openclaw_activity_clock_due (&self->clock, now, idle_seconds);
  if (due == 0)
    {
      g_debug ("Activity: idle %" G_GINT64_FORMAT " s", idle_seconds);
      self->send (self->user_data, idle_seconds);
      pres_openclaw_activity_clock_sent (&self->clock, now, idle_seconds);
      due = pres_openclaw_activity_clock_due (&self->clock, now, idle_seconds);
    }
  /* At the desk, newer input may come at any time; away, only the idle
   * source's event or the keepalive can change anything. */
  if (!pres_idle_source_get_idle (self->idle_source))
    due = MIN (due, PRES_OPENCLAW_ACTIVITY_GAP_MS);
  sample_in (self, due);
}

static void
sample (PresOpenclawActivity *self)
{
  if (!may_report (self) || self->sampling != NULL)
    return;
  self->sampling = g_cancellable_new ();
  pres_idle_source_get_idle_time_async (self->idle_source, self->sampling, on_idle_time, self);
}

static void
cancel_sampling (PresOpenclawActivity *self)
{
  g_clear_handle_id (&self->sample_id, g_source_remove);
  if (self->sampling != NULL)
    {
      g_cancellable_cancel (self->sampling);
      g_clear_object (&self->sampling);
    }
}

gboolean
pres_openclaw_activity_withdraw (PresOpenclawActivity *self)
{
  cancel_sampling (self);
  if (!self->started || !self->clock.reported)
    return FALSE;
  g_debug ("Activity: withdrawn");
  self->send (self->user_data, -1);
  self->clock.reported = FALSE;
  return TRUE;
}

void
pres_openclaw_activity_update (PresOpenclawActivity *self)
{
  if (!self->started)
    return;
  if (may_report (self))
    sample (self);
  else
    pres_openclaw_activity_withdraw (self);
}

static void
on_model_changed (PresModel *model, GParamSpec *pspec, PresOpenclawActivity *self)
{
  pres_openclaw_activity_update (self);
}

static void
on_idle_changed (PresIdleSource *idle_source, GParamSpec *pspec, PresOpenclawActivity *self)
{
  /* Back at the desk: the gap decides how soon the gateway hears of it. */
  if (!pres_idle_source_get_idle (idle_source) && self->sample_id != 0)
    {
      g_clear_handle_id (&self->sample_id, g_source_remove);
      sample (self);
    }
}

void
pres_openclaw_activity_start (PresOpenclawActivity *self)
{
  self->started = TRUE;
  self->clock.reported = FALSE;
  pres_openclaw_activity_update (self);
}

void
pres_openclaw_activity_stop (PresOpenclawActivity *self)
{
  cancel_sampling (self);
  self->started = FALSE;
  self->clock.reported = FALSE;
}

PresOpenclawActivity *
pres_openclaw_activity_new (PresModel *model,
                            PresIdleSource *idle_source,
                            PresOpenclawActivitySend send,
                            gpointer user_data)
{
  PresOpenclawActivity *self = g_new0 (PresOpenclawActivity, 1);

  self->model = g_object_ref (model);
  self->idle_source = g_object_ref (idle_source);
  self->send = send;
  self->user_data = user_data;
  g_signal_connect (idle_source, "notify::idle", G_CALLBACK (on_idle_changed), self);
  /* A lock need not change the state (away-on-lock off), yet it ends the
   * reports. */
  g_signal_connect (model, "notify::state", G_CALLBACK (on_model_changed), self);
  g_signal_connect (model, "notify::locked", G_CALLBACK (on_model_changed), self);
  return self;
}

void
pres_openclaw_activity_free (PresOpenclawActivity *self)
{
  if (self == NULL)
    return;
  cancel_sampling (self);
  g_signal_handlers_disconnect_by_data (self->idle_source, self);
  g_signal_handlers_disconnect_by_data (self->model, self);
  g_object_unref (self->idle_source);
  g_object_unref (self->model);
  g_free (self);
}
