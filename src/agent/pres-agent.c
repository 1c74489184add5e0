#define G_LOG_DOMAIN "pres-agent"

#include "config.h"

#include "pres-agent.h"
#include "pres-clock.h"
#include "pres-destinations.h"
#include "pres-instance-id.h"
#include "pres-link.h"
#include "pres-model.h"
#include "pres-service.h"
#include "pres-settings.h"
#include "pres-state-file.h"
#include "sensors/pres-idle-select.h"
#include "sensors/pres-dnd-monitor.h"
#include "sensors/pres-idle-source.h"
#include "sensors/pres-logind-monitor.h"
#include "sensors/pres-network-monitor.h"
#include "sensors/pres-screensaver-monitor.h"
#include "pres-transport-factory.h"
#include "ui/pres-menu.h"
#include "ui/pres-tray.h"

/*
 * PresAgent builds every part and wires them together: sensors feed the
 * model, the model feeds the D-Bus service and the state file.
 */

struct _PresAgent
{
  GObject parent_instance;

  GSettings      *settings;
  PresClock      *clock;
  PresModel      *model;
  PresLink       *link;         /* the first destination's, for the tray and the old properties */
  PresIdleSource *idle_source;
  PresService    *service;
  PresDestinations *destinations;
  PresMenu       *menu;         /* NULL with --no-tray */
  PresTray       *tray;         /* NULL with --no-tray or without the tray feature */
  gboolean        show_tray;
  PresLogindMonitor *logind;
  PresScreensaverMonitor *screensaver; /* once on the session bus */
  PresNetworkMonitor *network;         /* once started */
  PresDndMonitor *dnd;                 /* while follow-dnd is on */
  GDBusConnection *session_bus;
  gboolean awaiting_leave; /* logind waits for it before sleep or shutdown */

  char *state_path;
  guint save_id; /* a state file write waiting for the loop to be idle */
};

G_DEFINE_TYPE (PresAgent, pres_agent, G_TYPE_OBJECT)

enum
{
  SIGNAL_SESSION_ENDED,
  SIGNAL_QUIT_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
save_manual_state (PresAgent *self,
                   gboolean   durable)
{
  g_autoptr (GError) error = NULL;
  PresSavedState saved = {
    .manual = pres_model_get_manual (self->model),
    .manual_until = pres_model_get_manual_until (self->model),
    .status_text = (char *) pres_model_get_status_text (self->model),
  };
  gboolean saved_ok;

  if (durable)
    {
      g_clear_handle_id (&self->save_id, g_source_remove);
      saved_ok = pres_state_file_save (self->state_path, &saved, &error);
    }
  else
    saved_ok = pres_state_file_save_unsynced (self->state_path, &saved, &error);
  if (!saved_ok)
    g_warning ("Cannot save the manual state: %s", error->message);
}

static gboolean
on_save_idle (gpointer user_data)
{
  PresAgent *self = user_data;

  self->save_id = 0;
  save_manual_state (self, TRUE);
  return G_SOURCE_REMOVE;
}

/* A change is written twice. At once and unsynced, before the D-Bus reply
 * leaves: once the caller hears of it, it survives the agent's death (kill -9,
 * a crash), for the price of a write and a rename without a disk wait. Then
 * with fsync, for a power cut, once the change is out: after the reply and
 * the heartbeat, which run at higher priority, and once for the several
 * properties one change notifies. Dispose writes what waits. */
static void
schedule_save (PresAgent *self)
{
  save_manual_state (self, FALSE);
  if (self->save_id == 0)
    self->save_id = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, on_save_idle, self, NULL);
}

static void
restore_manual_state (PresAgent *self)
{
  g_auto (PresSavedState) saved = { 0 };
  g_autoptr (GError) error = NULL;

  if (!pres_state_file_load (self->state_path, &saved, &error))
    {
      g_warning ("Ignoring the saved state: %s", error->message);
      return;
    }
  pres_model_restore (self->model, saved.manual, saved.manual_until, saved.status_text);
}

static void
on_idle_changed (PresAgent *self)
{
  pres_model_set_idle (self->model, pres_idle_source_get_idle (self->idle_source));
}

/* Locked if any source says so: a locker sets LockedHint or speaks on the
 * session bus, rarely both, and a stale "unlocked" from the silent one must
 * not hide the lock. */
static void
on_locked_changed (PresAgent *self)
{
  gboolean locked = pres_logind_monitor_get_locked (self->logind);

  if (self->screensaver != NULL)
    locked |= pres_screensaver_monitor_get_locked (self->screensaver);
  pres_model_set_locked (self->model, locked);
}

static void
on_session_active_changed (PresAgent *self)
{
  pres_model_set_session_active (self->model,
                                 pres_logind_monitor_get_session_active (self->logind));
}

/* Each destination's link turns disconnected once its leave is answered
 * (or once it knows there is nothing to take back): only when all have may
 * the machine go, or a leave dies with the network. */
static void
check_leave_done (PresAgent *self)
{
  if (!self->awaiting_leave)
    return;
  if (!pres_destinations_all_left (self->destinations))
    return;
  g_debug ("The leave is out; releasing the delay inhibitor");
  self->awaiting_leave = FALSE;
  pres_logind_monitor_release_delay (self->logind);
}

static void
leave_then_release (PresAgent *self)
{
  self->awaiting_leave = TRUE;
  check_leave_done (self);
}

static void
on_prepare_for_sleep (PresAgent *self,
                      gboolean   going_down)
{
  pres_model_set_asleep (self->model, going_down);
  if (going_down)
    leave_then_release (self);
  else
    {
      self->awaiting_leave = FALSE;
      pres_idle_select_rearm (PRES_IDLE_SELECT (self->idle_source));
      /* After the model: its state change already asks for the "resume"
       * heartbeat, which this only hurries past any backoff. */
      pres_destinations_resume (self->destinations);
    }
}

static void
on_prepare_for_shutdown (PresAgent *self,
                         gboolean   going_down)
{
  pres_model_set_shutting_down (self->model, going_down);
  if (going_down)
    leave_then_release (self);
  else
    self->awaiting_leave = FALSE;
}

static void
on_session_ended (PresAgent *self)
{
  g_signal_emit (self, signals[SIGNAL_SESSION_ENDED], 0);
}

static void
on_dnd_changed (PresAgent *self)
{
  pres_model_set_dnd (self->model, self->dnd != NULL && pres_dnd_monitor_get_dnd (self->dnd));
}

static void
on_follow_dnd_changed (PresAgent *self)
{
  if (!g_settings_get_boolean (self->settings, "follow-dnd"))
    g_clear_object (&self->dnd);
  else if (self->dnd == NULL && self->session_bus != NULL)
    {
      self->dnd = pres_dnd_monitor_new (self->session_bus);
      g_signal_connect_object (self->dnd, "notify::dnd", G_CALLBACK (on_dnd_changed), self,
                               G_CONNECT_SWAPPED);
    }
  on_dnd_changed (self);
}

static void
pres_agent_dispose (GObject *object)
{
  PresAgent *self = PRES_AGENT (object);

  if (self->save_id != 0)
    save_manual_state (self, TRUE);
  g_clear_object (&self->network);
  g_clear_object (&self->dnd);
  g_clear_object (&self->session_bus);
  g_clear_object (&self->screensaver);
  g_clear_object (&self->logind);
  g_clear_object (&self->tray);
  g_clear_object (&self->menu);
  g_clear_object (&self->destinations);
  g_clear_object (&self->service);
  g_clear_object (&self->idle_source);
  g_clear_object (&self->link);
  g_clear_object (&self->model);
  g_clear_object (&self->clock);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->state_path, g_free);

  G_OBJECT_CLASS (pres_agent_parent_class)->dispose (object);
}

static void
pres_agent_class_init (PresAgentClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pres_agent_dispose;

  signals[SIGNAL_QUIT_REQUESTED] =
    g_signal_new ("quit-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);

  /* logind removed the session: quit as on SIGTERM, with reason "logout". */
  signals[SIGNAL_SESSION_ENDED] =
    g_signal_new ("session-ended", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
}

static void
pres_agent_init (PresAgent *self)
{
}

PresAgent *
pres_agent_new (const PresAgentOptions *options,
                GError                **error)
{
  g_autoptr (PresAgent) self = g_object_new (PRES_TYPE_AGENT, NULL);
  g_autofree char *state_dir = NULL;
  g_autofree char *instance_id = NULL;
  g_autoptr (GPtrArray) configs = NULL;
  PresTransportSetup setup = { 0 };

  self->settings = pres_settings_new (error);
  if (self->settings == NULL)
    return NULL;

  state_dir = options->state_dir ? g_strdup (options->state_dir)
                                 : g_build_filename (g_get_user_state_dir (), "presence-agent",
                                                     NULL);
  instance_id = pres_instance_id_get (NULL, state_dir, error);
  if (instance_id == NULL)
    return NULL;
  self->state_path = g_build_filename (state_dir, "state", NULL);
  self->show_tray = !options->no_tray;

  /* The command line names a kind that must exist: it cannot be fixed
   * later the way a setting can. */
  if (options->transport != NULL && !pres_transport_kind_check (options->transport, error))
    return NULL;
  configs = pres_destination_configs_read (self->settings, options->transport, options->server);

  self->clock = pres_clock_new_system ();
  self->model = pres_model_new (self->clock);
  self->idle_source = pres_idle_select_new ();

  g_settings_bind (self->settings, "away-on-lock", self->model, "away-on-lock",
                   G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "idle-timeout", self->idle_source, "timeout",
                   G_SETTINGS_BIND_GET);
  g_signal_connect_object (self->idle_source, "notify::idle", G_CALLBACK (on_idle_changed), self,
                           G_CONNECT_SWAPPED);
  /* Losing the X or Wayland display ends the session like logind's word. */
  g_signal_connect_object (self->idle_source, "display-lost", G_CALLBACK (on_session_ended), self,
                           G_CONNECT_SWAPPED);

  setup.model = self->model;
  setup.idle_source = self->idle_source;
  setup.settings = self->settings;
  setup.instance_id = instance_id;
  setup.state_dir = state_dir;
  setup.token_file = options->token_file;
  self->destinations = pres_destinations_new (configs, &setup, error);
  if (self->destinations == NULL)
    return NULL;
  self->link = g_object_ref (pres_destinations_get_link (self->destinations, 0));
  self->service = pres_service_new (self->model, self->link, self->idle_source, self->settings,
                                    instance_id);
  pres_service_follow_destinations (self->service, self->destinations);
  g_signal_connect_object (self->service, "reconnect-requested",
                           G_CALLBACK (pres_destinations_reconnect), self->destinations,
                           G_CONNECT_SWAPPED);

  self->logind = pres_logind_monitor_new ();
  g_signal_connect_object (self->logind, "notify::locked", G_CALLBACK (on_locked_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->logind, "notify::session-active",
                           G_CALLBACK (on_session_active_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->logind, "prepare-for-sleep", G_CALLBACK (on_prepare_for_sleep),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->logind, "prepare-for-shutdown",
                           G_CALLBACK (on_prepare_for_shutdown), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->logind, "session-ended", G_CALLBACK (on_session_ended), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->destinations, "changed", G_CALLBACK (check_leave_done), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::follow-dnd",
                           G_CALLBACK (on_follow_dnd_changed), self, G_CONNECT_SWAPPED);

  restore_manual_state (self);
  g_signal_connect_object (self->model, "notify::manual", G_CALLBACK (schedule_save), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->model, "notify::manual-until", G_CALLBACK (schedule_save), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->model, "notify::status-text", G_CALLBACK (schedule_save), self,
                           G_CONNECT_SWAPPED);

  g_debug ("Instance id %s, %u destination(s)", instance_id,
           pres_destinations_get_n (self->destinations));
  return g_steal_pointer (&self);
}

gboolean
pres_agent_export (PresAgent       *self,
                   GDBusConnection *connection,
                   GError         **error)
{
  g_return_val_if_fail (PRES_IS_AGENT (self), FALSE);
  if (self->screensaver == NULL)
    {
      self->session_bus = g_object_ref (connection);
      self->screensaver = pres_screensaver_monitor_new (connection);
      g_signal_connect_object (self->screensaver, "notify::locked",
                               G_CALLBACK (on_locked_changed), self, G_CONNECT_SWAPPED);
      on_follow_dnd_changed (self);
    }
  return pres_service_export (self->service, connection, error);
}

static void
on_menu_quit (PresAgent *self)
{
  g_signal_emit (self, signals[SIGNAL_QUIT_REQUESTED], 0);
}

static void
start_tray (PresAgent *self)
{
  self->menu = pres_menu_new (self->model, self->link, self->idle_source, self->clock);
  pres_menu_follow_destinations (self->menu, self->destinations);
  g_signal_connect_object (self->menu, "quit-requested", G_CALLBACK (on_menu_quit), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->menu, "reconnect-requested",
                           G_CALLBACK (pres_destinations_reconnect), self->destinations,
                           G_CONNECT_SWAPPED);
#if HAVE_TRAY
  self->tray = pres_tray_new (self->menu);
  pres_service_follow_tray_hint (self->service, pres_tray_get_host (self->tray));
#else
  g_debug ("Built without the tray");
#endif
}

/* Called once the bus name is ours, so a second agent never acts. */
void
pres_agent_start (PresAgent *self)
{
  g_return_if_fail (PRES_IS_AGENT (self));
  if (self->show_tray)
    start_tray (self);
  pres_model_start (self->model);
  pres_idle_select_start (PRES_IDLE_SELECT (self->idle_source));
  /* Only the agent that owns the name holds an inhibitor. */
  pres_logind_monitor_start (self->logind, NULL);
  self->network = pres_network_monitor_new (NULL, PRES_NETWORK_DEBOUNCE_MS);
  g_signal_connect_object (self->network, "changed",
                           G_CALLBACK (pres_destinations_network_changed), self->destinations,
                           G_CONNECT_SWAPPED);
  pres_destinations_start (self->destinations);
}

static void
on_left (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;

  pres_destinations_leave_finish (PRES_DESTINATIONS (source), result, NULL);
  g_task_return_boolean (task, TRUE);
}

/* Tells every destination this device is leaving (REASON: quit,
 * shutdown…); finishes within 2 s whatever the servers do. */
void
pres_agent_quit_async (PresAgent           *self,
                       const char          *reason,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);

  g_return_if_fail (PRES_IS_AGENT (self));
  pres_destinations_leave_async (self->destinations, reason, on_left, g_steal_pointer (&task));
}

gboolean
pres_agent_quit_finish (PresAgent     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
