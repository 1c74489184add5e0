#define G_LOG_DOMAIN "pres-agent"

#include "pres-agent.h"
#include "pres-clock.h"
#include "pres-instance-id.h"
#include "pres-link.h"
#include "pres-model.h"
#include "pres-service.h"
#include "pres-settings.h"
#include "pres-state-file.h"
#include "sensors/pres-idle-source.h"
#include "transport/pres-http-transport.h"

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
  PresLink       *link;
  PresIdleSource *idle_source;
  PresService    *service;
  PresHttpTransport *transport; /* NULL for transports not built in */

  char *state_path;
};

G_DEFINE_TYPE (PresAgent, pres_agent, G_TYPE_OBJECT)

static void
save_manual_state (PresAgent *self)
{
  g_autoptr (GError) error = NULL;
  PresSavedState saved = {
    .manual = pres_model_get_manual (self->model),
    .manual_until = pres_model_get_manual_until (self->model),
    .status_text = (char *) pres_model_get_status_text (self->model),
  };

  if (!pres_state_file_save (self->state_path, &saved, &error))
    g_warning ("Cannot save the manual state: %s", error->message);
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

static void
pres_agent_dispose (GObject *object)
{
  PresAgent *self = PRES_AGENT (object);

  g_clear_object (&self->transport);
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
  g_autofree char *server = NULL;
  g_autofree char *transport = NULL;

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

  server = options->server ? g_strdup (options->server)
                           : g_settings_get_string (self->settings, "server-url");

  self->clock = pres_clock_new_system ();
  self->model = pres_model_new (self->clock);
  self->link = pres_link_new (server);
  self->idle_source = pres_idle_source_new_none ();
  self->service = pres_service_new (self->model, self->link, self->idle_source, self->settings,
                                    instance_id);

  g_settings_bind (self->settings, "away-on-lock", self->model, "away-on-lock",
                   G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "idle-timeout", self->idle_source, "timeout",
                   G_SETTINGS_BIND_GET);
  g_signal_connect_object (self->idle_source, "notify::idle", G_CALLBACK (on_idle_changed), self,
                           G_CONNECT_SWAPPED);

  transport = g_settings_get_string (self->settings, "transport");
  if (g_str_equal (transport, "http"))
    {
      self->transport = pres_http_transport_new (self->model, self->link, self->idle_source,
                                                 self->settings, instance_id, options->server,
                                                 options->token_file);
      g_signal_connect_object (self->service, "reconnect-requested",
                               G_CALLBACK (pres_http_transport_reconnect), self->transport,
                               G_CONNECT_SWAPPED);
    }
  else
    g_warning ("The openclaw transport is not available yet; staying off line");

  restore_manual_state (self);
  g_signal_connect_object (self->model, "notify::manual", G_CALLBACK (save_manual_state), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->model, "notify::manual-until", G_CALLBACK (save_manual_state),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->model, "notify::status-text", G_CALLBACK (save_manual_state),
                           self, G_CONNECT_SWAPPED);

  g_debug ("Instance id %s, server %s", instance_id, server);
  return g_steal_pointer (&self);
}

gboolean
pres_agent_export (PresAgent       *self,
                   GDBusConnection *connection,
                   GError         **error)
{
  g_return_val_if_fail (PRES_IS_AGENT (self), FALSE);
  return pres_service_export (self->service, connection, error);
}

/* Called once the bus name is ours, so a second agent never acts. */
void
pres_agent_start (PresAgent *self)
{
  g_return_if_fail (PRES_IS_AGENT (self));
  pres_model_start (self->model);
  if (self->transport != NULL)
    pres_http_transport_start (self->transport);
}

static void
on_left (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr (GTask) task = user_data;

  pres_http_transport_leave_finish (PRES_HTTP_TRANSPORT (source), result, NULL);
  g_task_return_boolean (task, TRUE);
}

/* Tells the server this device is leaving (REASON: quit, shutdown…);
 * finishes within 2 s whatever the server does. */
void
pres_agent_quit_async (PresAgent           *self,
                       const char          *reason,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);

  g_return_if_fail (PRES_IS_AGENT (self));
  if (self->transport == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  pres_http_transport_leave_async (self->transport, reason, on_left, g_steal_pointer (&task));
}

gboolean
pres_agent_quit_finish (PresAgent     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
