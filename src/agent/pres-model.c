#define G_LOG_DOMAIN "pres-model"

#include "pres-enums.h"
#include "pres-error.h"
#include "pres-model.h"

/*
 * PresModel owns the presence state: facts from the sensors and the user's
 * manual choice go in, the effective state comes out. No I/O happens here.
 *
 * Manual expiry is a wall-clock instant (it must mean "until 17:00" across
 * suspend and restarts) while the timer that waits for it is monotonic;
 * pres_model_check_expiry() and the clock's wall-clock-changed signal cover
 * the cases where the two drift apart.
 */

/* Re-arm at least daily so long expiries never overflow a timer. */
#define MAX_TIMER_MS (24u * 60 * 60 * 1000)

struct _PresModel
{
  GObject parent_instance;

  PresClock *clock;
  guint      expiry_timer_id;

  gboolean started;
  gboolean idle;
  gboolean locked;
  gboolean asleep;
  gboolean session_active;
  gboolean shutting_down;
  gboolean away_on_lock;
  gboolean dnd;

  PresManual manual;
  gint64     manual_until;
  char      *status_text;

  PresState auto_state;
  PresState state;
  gint64    state_since;
};

G_DEFINE_TYPE (PresModel, pres_model, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_STATE,
  PROP_AUTO_STATE,
  PROP_MANUAL,
  PROP_MANUAL_UNTIL,
  PROP_STATUS_TEXT,
  PROP_IDLE,
  PROP_LOCKED,
  PROP_AWAY_ON_LOCK,
  PROP_DND,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

enum
{
  SIGNAL_STATE_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void arm_expiry (PresModel *self);

static PresState
compute_auto (PresModel *self)
{
  if (!self->started || self->asleep || self->shutting_down)
    return PRES_STATE_OFFLINE;
  if ((self->locked && self->away_on_lock) || !self->session_active || self->idle)
    return PRES_STATE_IDLE;
  return PRES_STATE_ONLINE;
}

static PresState
compute_effective (PresModel *self)
{
  if (self->auto_state == PRES_STATE_OFFLINE)
    return PRES_STATE_OFFLINE;
  if (self->manual != PRES_MANUAL_NONE)
    return pres_manual_to_state (self->manual);
  /* Do Not Disturb is a choice too, if a standing one: it beats idle. */
  if (self->dnd)
    return PRES_STATE_BUSY;
  return self->auto_state;
}

static void
update (PresModel  *self,
        PresReason  reason)
{
  PresState auto_state = compute_auto (self);
  PresState previous = self->state;
  PresState state;

  if (auto_state != self->auto_state)
    {
      self->auto_state = auto_state;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_AUTO_STATE]);
    }

  state = compute_effective (self);
  if (state == previous)
    return;

  self->state = state;
  self->state_since = pres_clock_get_real_time (self->clock);
  g_debug ("%s → %s (%s)", pres_state_to_string (previous), pres_state_to_string (state),
           pres_reason_to_string (reason));
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, state, previous, reason);
}

static void
set_manual_internal (PresModel  *self,
                     PresManual  manual,
                     gint64      until)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (self->manual != manual)
    {
      self->manual = manual;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MANUAL]);
    }
  if (self->manual_until != until)
    {
      self->manual_until = until;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MANUAL_UNTIL]);
    }
  g_object_thaw_notify (G_OBJECT (self));
  arm_expiry (self);
}

void
pres_model_check_expiry (PresModel *self)
{
  g_return_if_fail (PRES_IS_MODEL (self));

  if (self->manual_until != 0 &&
      pres_clock_get_real_time (self->clock) >= self->manual_until * G_USEC_PER_SEC)
    {
      g_debug ("Manual %s expired", pres_manual_to_string (self->manual));
      set_manual_internal (self, PRES_MANUAL_NONE, 0);
      update (self, PRES_REASON_EXPIRED);
      return;
    }
  arm_expiry (self);
}

static gboolean
on_expiry_timer (gpointer user_data)
{
  PresModel *self = user_data;

  self->expiry_timer_id = 0;
  pres_model_check_expiry (self);
  return G_SOURCE_REMOVE;
}

static void
arm_expiry (PresModel *self)
{
  gint64 remaining_ms;

  pres_clock_remove_timeout (self->clock, self->expiry_timer_id);
  self->expiry_timer_id = 0;
  if (self->manual_until == 0)
    return;

  remaining_ms = (self->manual_until * G_USEC_PER_SEC - pres_clock_get_real_time (self->clock) +
                  999) / 1000;
  self->expiry_timer_id = pres_clock_add_timeout (self->clock,
                                                  CLAMP (remaining_ms, 0, MAX_TIMER_MS),
                                                  on_expiry_timer, self);
}

static void
set_fact (PresModel  *self,
          gboolean   *fact,
          gboolean    value,
          GParamSpec *pspec,
          PresReason  reason)
{
  value = !!value;
  if (*fact == value)
    return;
  *fact = value;
  if (pspec != NULL)
    g_object_notify_by_pspec (G_OBJECT (self), pspec);
  update (self, reason);
}

void
pres_model_set_idle (PresModel *self,
                     gboolean   idle)
{
  g_return_if_fail (PRES_IS_MODEL (self));
  set_fact (self, &self->idle, idle, props[PROP_IDLE],
            idle ? PRES_REASON_IDLE : PRES_REASON_ACTIVE);
}

void
pres_model_set_locked (PresModel *self,
                       gboolean   locked)
{
  g_return_if_fail (PRES_IS_MODEL (self));
  set_fact (self, &self->locked, locked, props[PROP_LOCKED],
            locked ? PRES_REASON_LOCK : PRES_REASON_UNLOCK);
}

void
pres_model_set_asleep (PresModel *self,
                       gboolean   asleep)
{
  g_return_if_fail (PRES_IS_MODEL (self));
  /* The monotonic expiry timer did not run while suspended: a choice that
   * ran out meanwhile ends before the state comes back, not after. */
  if (!asleep)
    pres_model_check_expiry (self);
  set_fact (self, &self->asleep, asleep, NULL,
            asleep ? PRES_REASON_SLEEP : PRES_REASON_RESUME);
}

void
pres_model_set_session_active (PresModel *self,
                               gboolean   active)
{
  g_return_if_fail (PRES_IS_MODEL (self));
  set_fact (self, &self->session_active, active, NULL,
            active ? PRES_REASON_ACTIVE : PRES_REASON_IDLE);
}

void
pres_model_set_shutting_down (PresModel *self,
                              gboolean   shutting_down)
{
  g_return_if_fail (PRES_IS_MODEL (self));
  set_fact (self, &self->shutting_down, shutting_down, NULL,
            shutting_down ? PRES_REASON_SHUTDOWN : PRES_REASON_RESUME);
}

void
pres_model_set_away_on_lock (PresModel *self,
                             gboolean   away_on_lock)
{
  g_return_if_fail (PRES_IS_MODEL (self));
  set_fact (self, &self->away_on_lock, away_on_lock, props[PROP_AWAY_ON_LOCK],
            away_on_lock ? PRES_REASON_LOCK : PRES_REASON_UNLOCK);
}

void
pres_model_set_dnd (PresModel *self,
                    gboolean   dnd)
{
  g_return_if_fail (PRES_IS_MODEL (self));
  /* The desktop's setting is an automatic source, not the user's choice
   * here: "auto" is the reason either way. */
  set_fact (self, &self->dnd, dnd, props[PROP_DND], PRES_REASON_AUTO);
}

gboolean
pres_model_set_manual (PresModel  *self,
                       PresManual  manual,
                       guint       seconds,
                       GError    **error)
{
  gint64 until = 0;

  g_return_val_if_fail (PRES_IS_MODEL (self), FALSE);

  if (manual == PRES_MANUAL_NONE)
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                           "state: must be busy or appear_offline");
      return FALSE;
    }
  if (seconds > PRES_MAX_MANUAL_SECONDS)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "seconds: must be between 1 and %u (one year), or 0 for until "
                   "switched back to automatic; got %u",
                   PRES_MAX_MANUAL_SECONDS, seconds);
      return FALSE;
    }

  if (seconds > 0)
    until = pres_clock_get_real_time (self->clock) / G_USEC_PER_SEC + seconds;
  set_manual_internal (self, manual, until);
  update (self, PRES_REASON_MANUAL);
  return TRUE;
}

void
pres_model_set_auto (PresModel *self)
{
  g_return_if_fail (PRES_IS_MODEL (self));

  set_manual_internal (self, PRES_MANUAL_NONE, 0);
  update (self, PRES_REASON_AUTO);
}

gboolean
pres_model_set_status_text (PresModel  *self,
                            const char *text,
                            GError    **error)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), FALSE);

  if (!pres_status_text_validate (text, error))
    return FALSE;
  if (g_strcmp0 (self->status_text, text) == 0)
    return TRUE;

  g_free (self->status_text);
  self->status_text = g_strdup (text);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATUS_TEXT]);
  return TRUE;
}

void
pres_model_restore (PresModel  *self,
                    PresManual  manual,
                    gint64      manual_until,
                    const char *status_text)
{
  g_return_if_fail (PRES_IS_MODEL (self));
  g_return_if_fail (!self->started);

  if (manual_until < 0 || manual == PRES_MANUAL_NONE)
    manual_until = 0;
  set_manual_internal (self, manual, manual_until);
  if (status_text != NULL && !pres_model_set_status_text (self, status_text, NULL))
    g_warning ("Ignoring an invalid saved status text");

  /* A choice that ran out while the agent was not running is simply gone. */
  if (manual_until != 0 && pres_clock_get_real_time (self->clock) >= manual_until * G_USEC_PER_SEC)
    set_manual_internal (self, PRES_MANUAL_NONE, 0);
}

void
pres_model_start (PresModel *self)
{
  g_return_if_fail (PRES_IS_MODEL (self));

  self->started = TRUE;
  update (self, PRES_REASON_STARTUP);
}

PresState
pres_model_get_state (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), PRES_STATE_OFFLINE);
  return self->state;
}

PresState
pres_model_get_auto_state (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), PRES_STATE_OFFLINE);
  return self->auto_state;
}

PresManual
pres_model_get_manual (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), PRES_MANUAL_NONE);
  return self->manual;
}

gint64
pres_model_get_manual_until (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), 0);
  return self->manual_until;
}

const char *
pres_model_get_status_text (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), NULL);
  return self->status_text;
}

gboolean
pres_model_get_idle (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), FALSE);
  return self->idle;
}

gboolean
pres_model_get_locked (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), FALSE);
  return self->locked;
}

gboolean
pres_model_get_dnd (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), FALSE);
  return self->dnd;
}

gboolean
pres_model_get_asleep (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), FALSE);
  return self->asleep;
}

gboolean
pres_model_get_session_active (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), FALSE);
  return self->session_active;
}

gboolean
pres_model_get_away_on_lock (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), FALSE);
  return self->away_on_lock;
}

/* Wall time in µs of the last effective change, for "idle for 12 min". */
gint64
pres_model_get_state_since (PresModel *self)
{
  g_return_val_if_fail (PRES_IS_MODEL (self), 0);
  return self->state_since;
}

static void
on_wall_clock_changed (PresModel *self)
{
  pres_model_check_expiry (self);
}

static void
pres_model_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PresModel *self = PRES_MODEL (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_AUTO_STATE:
      g_value_set_enum (value, self->auto_state);
      break;
    case PROP_MANUAL:
      g_value_set_enum (value, self->manual);
      break;
    case PROP_MANUAL_UNTIL:
      g_value_set_int64 (value, self->manual_until);
      break;
    case PROP_STATUS_TEXT:
      g_value_set_string (value, self->status_text ? self->status_text : "");
      break;
    case PROP_IDLE:
      g_value_set_boolean (value, self->idle);
      break;
    case PROP_LOCKED:
      g_value_set_boolean (value, self->locked);
      break;
    case PROP_AWAY_ON_LOCK:
      g_value_set_boolean (value, self->away_on_lock);
      break;
    case PROP_DND:
      g_value_set_boolean (value, self->dnd);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pres_model_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  PresModel *self = PRES_MODEL (object);

  switch (prop_id)
    {
    case PROP_AWAY_ON_LOCK:
      pres_model_set_away_on_lock (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pres_model_dispose (GObject *object)
{
  PresModel *self = PRES_MODEL (object);

  if (self->clock != NULL)
    {
      pres_clock_remove_timeout (self->clock, self->expiry_timer_id);
      self->expiry_timer_id = 0;
      g_signal_handlers_disconnect_by_data (self->clock, self);
    }
  g_clear_object (&self->clock);
  g_clear_pointer (&self->status_text, g_free);

  G_OBJECT_CLASS (pres_model_parent_class)->dispose (object);
}

static void
pres_model_class_init (PresModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = pres_model_get_property;
  object_class->set_property = pres_model_set_property;
  object_class->dispose = pres_model_dispose;

  props[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, PRES_TYPE_STATE,
                                         PRES_STATE_OFFLINE, ro);
  props[PROP_AUTO_STATE] = g_param_spec_enum ("auto-state", NULL, NULL, PRES_TYPE_STATE,
                                              PRES_STATE_OFFLINE, ro);
  props[PROP_MANUAL] = g_param_spec_enum ("manual", NULL, NULL, PRES_TYPE_MANUAL,
                                          PRES_MANUAL_NONE, ro);
  props[PROP_MANUAL_UNTIL] = g_param_spec_int64 ("manual-until", NULL, NULL, 0, G_MAXINT64, 0, ro);
  props[PROP_STATUS_TEXT] = g_param_spec_string ("status-text", NULL, NULL, "", ro);
  props[PROP_IDLE] = g_param_spec_boolean ("idle", NULL, NULL, FALSE, ro);
  props[PROP_LOCKED] = g_param_spec_boolean ("locked", NULL, NULL, FALSE, ro);
  props[PROP_AWAY_ON_LOCK] = g_param_spec_boolean ("away-on-lock", NULL, NULL, TRUE,
                                                   G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                                                   G_PARAM_STATIC_STRINGS);
  props[PROP_DND] = g_param_spec_boolean ("dnd", NULL, NULL, FALSE, ro);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* (state, previous, reason) */
  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 3, PRES_TYPE_STATE, PRES_TYPE_STATE, PRES_TYPE_REASON);
}

static void
pres_model_init (PresModel *self)
{
  self->session_active = TRUE;
  self->away_on_lock = TRUE;
  self->state = PRES_STATE_OFFLINE;
  self->auto_state = PRES_STATE_OFFLINE;
}

PresModel *
pres_model_new (PresClock *clock)
{
  PresModel *self;

  g_return_val_if_fail (PRES_IS_CLOCK (clock), NULL);

  self = g_object_new (PRES_TYPE_MODEL, NULL);
  self->clock = g_object_ref (clock);
  g_signal_connect_swapped (clock, "wall-clock-changed", G_CALLBACK (on_wall_clock_changed), self);
  return self;
}
