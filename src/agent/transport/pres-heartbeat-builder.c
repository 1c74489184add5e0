#define G_LOG_DOMAIN "pres-http"

#include "pres-heartbeat-builder.h"

struct _PresHeartbeatBuilder
{
  PresModel *model;
  PresIdleSource *idle_source;
  GSettings *settings;
  PresHostInfo *host_info;
  char *session;
  guint64 seq;
};

PresHeartbeatBuilder *
pres_heartbeat_builder_new (PresModel *model,
                            PresIdleSource *idle_source,
                            GSettings *settings,
                            PresHostInfo *host_info)
{
  PresHeartbeatBuilder *self = g_new0 (PresHeartbeatBuilder, 1);

  self->model = g_object_ref (model);
  self->idle_source = g_object_ref (idle_source);
  self->settings = g_object_ref (settings);
  self->host_info = host_info;
  /* 128 random bits: the server tells this run from earlier ones by it. */
  self->session = g_strdup_printf ("%08x%08x%08x%08x", g_random_int (), g_random_int (),
                                   g_random_int (), g_random_int ());
  return self;
}

void
pres_heartbeat_builder_free (PresHeartbeatBuilder *self)
{
  if (self == NULL)
    return;
  g_object_unref (self->model);
  g_object_unref (self->idle_source);
  g_object_unref (self->settings);
  pres_host_info_free (self->host_info);
  g_free (self->session);
  g_free (self);
}

const char *
pres_heartbeat_builder_get_session (PresHeartbeatBuilder *self)
{
  return self->session;
}

typedef struct
{
  PresHeartbeatBuilder *self;
  char *reason;
} Request;

static void
request_free (Request *request)
{
  g_free (request->reason);
  g_free (request);
}

static PresHeartbeat *
build (PresHeartbeatBuilder *self, const char *reason, gint64 last_input_seconds)
{
  PresHeartbeat *hb = pres_heartbeat_new ();
  g_auto (PresHostPrivacy) privacy = { 0 };

  pres_host_privacy_init_from_settings (&privacy, self->settings);
  pres_host_info_fill (self->host_info, &privacy, pres_model_get_state (self->model),
                       last_input_seconds, pres_model_get_status_text (self->model), hb);
  hb->session = g_strdup (self->session);
  hb->seq = ++self->seq;
  hb->reason = g_strdup (reason);
  return hb;
}

static void
on_idle_time (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Request *request = g_task_get_task_data (task);
  PresHeartbeatBuilder *self = request->self;
  g_autoptr (GError) error = NULL;
  guint seconds;

  seconds = pres_idle_source_get_idle_time_finish (PRES_IDLE_SOURCE (source), result, &error);
  if (g_task_return_error_if_cancelled (task))
    return;
  /* The state may have changed while the idle source answered. */
  if (pres_model_get_state (self->model) == PRES_STATE_OFFLINE)
    {
      g_task_return_pointer (task, NULL, NULL);
      return;
    }
  /* A source that cannot tell sends nothing rather than a made-up figure. */
  g_task_return_pointer (task, build (self, request->reason, error == NULL ? (gint64)seconds : -1),
                         (GDestroyNotify)pres_heartbeat_free);
}

void
pres_heartbeat_builder_build_async (PresHeartbeatBuilder *self,
                                    const char *reason,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  PresState state = pres_model_get_state (self->model);
  Request *request = g_new0 (Request, 1);

  /* The builder outlives the task: its owner keeps itself alive until the
   * callback, and frees the builder only when finalized. */
  request->self = self;
  request->reason = g_strdup (reason);
  g_task_set_source_tag (task, pres_heartbeat_builder_build_async);
  g_task_set_task_data (task, request, (GDestroyNotify)request_free);

  if (state == PRES_STATE_OFFLINE)
    g_task_return_pointer (task, NULL, NULL);
  /* Appearing offline never asks for the idle time: it is not sent. */
  else if (state == PRES_STATE_APPEAR_OFFLINE)
    g_task_return_pointer (task, build (self, reason, -1), (GDestroyNotify)pres_heartbeat_free);
  else
    pres_idle_source_get_idle_time_async (self->idle_source, cancellable, on_idle_time,
                                          g_steal_pointer (&task));
}

PresHeartbeat *
pres_heartbeat_builder_build_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
