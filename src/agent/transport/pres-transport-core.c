#define G_LOG_DOMAIN "pres-transport"

#include "config.h"

#include "pres-transport-core.h"

void
pres_transport_core_init (PresTransportCore *core, const PresTransportSetup *setup)
{
  core->model = g_object_ref (setup->model);
  core->link = g_object_ref (setup->link);
  core->settings = g_object_ref (setup->settings);
  core->instance_id = g_strdup (setup->instance_id);
  core->server_override = g_strdup (setup->server);
  core->token_file = g_strdup (setup->token_file);
  core->soup
    = soup_session_new_with_options ("user-agent", "presence-agent/" PACKAGE_VERSION, NULL);
  core->cancellable = g_cancellable_new ();
  core->rand = g_rand_new ();
  core->backoff = pres_backoff_new (NULL);
  core->builder = pres_heartbeat_builder_new (setup->model, setup->idle_source, setup->settings,
                                              pres_host_info_new_system ());
}

void
pres_transport_core_dispose (PresTransportCore *core, gpointer transport)
{
  pres_transport_core_finish_quit (core);
  if (core->settings != NULL)
    g_signal_handlers_disconnect_by_data (core->settings, transport);
  g_clear_object (&core->soup);
  g_clear_object (&core->model);
  g_clear_object (&core->link);
  g_clear_object (&core->settings);
}

static void
clear_token (PresTransportCore *core)
{
  if (core->token != NULL)
    explicit_bzero (core->token, strlen (core->token));
  g_clear_pointer (&core->token, g_free);
}

void
pres_transport_core_finalize (PresTransportCore *core)
{
  clear_token (core);
  g_clear_pointer (&core->server_url, g_free);
  g_clear_pointer (&core->instance_id, g_free);
  g_clear_pointer (&core->server_override, g_free);
  g_clear_pointer (&core->token_file, g_free);
  g_clear_pointer (&core->quit_reason, g_free);
  g_clear_pointer (&core->backoff, pres_backoff_free);
  g_clear_pointer (&core->builder, pres_heartbeat_builder_free);
  g_clear_pointer (&core->rand, g_rand_free);
  g_clear_object (&core->cancellable);
}

char *
pres_transport_core_check_url (PresTransportCore *core, PresTransportUrlCheck check)
{
  g_autoptr (GError) error = NULL;
  char *checked;

  g_free (core->server_url);
  core->server_url = core->server_override ? g_strdup (core->server_override)
                                           : g_settings_get_string (core->settings, "server-url");
  pres_link_set_server (core->link, core->server_url);
  checked
    = check (core->server_url, g_settings_get_boolean (core->settings, "allow-insecure"), &error);
  if (checked == NULL)
    {
      g_message ("%s", error->message);
      pres_link_set_connection (core->link, PRES_CONNECTION_ERROR);
      pres_link_set_last_error (core->link, error->message);
    }
  return checked;
}

PresTransportSetting
pres_transport_core_classify_setting (PresTransportCore *core, const char *key)
{
  if (g_str_equal (key, "server-url"))
    return core->server_override ? PRES_TRANSPORT_SETTING_OTHER : PRES_TRANSPORT_SETTING_SERVER;
  if (g_str_equal (key, "allow-insecure"))
    return PRES_TRANSPORT_SETTING_SERVER;
  if (g_str_equal (key, "share-host-name") || g_str_equal (key, "host-alias")
      || g_str_equal (key, "share-device-model"))
    return PRES_TRANSPORT_SETTING_PRIVACY;
  return PRES_TRANSPORT_SETTING_OTHER;
}

void
pres_transport_core_forget_token (PresTransportCore *core)
{
  if (!core->token_lookup_running)
    core->token_known = FALSE;
}

void
pres_transport_core_lookup_token (PresTransportCore *core,
                                  gpointer transport,
                                  GAsyncReadyCallback callback)
{
  if (core->token_lookup_running)
    return;
  core->token_lookup_running = TRUE;
  pres_token_lookup_async (core->token_file, core->server_url, core->cancellable, callback,
                           g_object_ref (transport));
}

gboolean
pres_transport_core_take_token (PresTransportCore *core,
                                GAsyncResult *result,
                                PresTokenOrigin *origin,
                                GError **error)
{
  g_autoptr (GError) local_error = NULL;
  char *token = pres_token_lookup_finish (result, origin, &local_error);

  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return FALSE;
  core->token_lookup_running = FALSE;
  clear_token (core);
  core->token = token;
  if (local_error != NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return TRUE;
}

void
pres_transport_core_finish_quit (PresTransportCore *core)
{
  g_autoptr (GTask) task = g_steal_pointer (&core->quit_task);

  if (task != NULL)
    g_task_return_boolean (task, TRUE);
}
