#define G_LOG_DOMAIN "pres-idle"

#include "pres-error.h"
#include "pres-idle-source.h"

#define DEFAULT_TIMEOUT 300

typedef struct
{
  gboolean idle;
  guint    timeout;
} PresIdleSourcePrivate;

G_DEFINE_TYPE_WITH_PRIVATE (PresIdleSource, pres_idle_source, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_IDLE,
  PROP_TIMEOUT,
  PROP_NAME,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
none_get_idle_time_async (PresIdleSource      *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_task_report_new_error (self, callback, user_data, pres_idle_source_get_idle_time_async,
                           PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
                           "This desktop offers no way to see input idleness");
}

static guint
none_get_idle_time_finish (PresIdleSource *self,
                           GAsyncResult   *result,
                           GError        **error)
{
  gssize seconds = g_task_propagate_int (G_TASK (result), error);

  return seconds < 0 ? 0 : (guint) seconds;
}

const char *
pres_idle_source_get_name (PresIdleSource *self)
{
  PresIdleSourceClass *klass;

  g_return_val_if_fail (PRES_IS_IDLE_SOURCE (self), NULL);
  klass = PRES_IDLE_SOURCE_GET_CLASS (self);
  return klass->get_name != NULL ? klass->get_name (self) : klass->name;
}

gboolean
pres_idle_source_is_settled (PresIdleSource *self)
{
  PresIdleSourceClass *klass;

  g_return_val_if_fail (PRES_IS_IDLE_SOURCE (self), TRUE);
  klass = PRES_IDLE_SOURCE_GET_CLASS (self);
  return klass->is_settled == NULL || klass->is_settled (self);
}

gboolean
pres_idle_source_get_idle (PresIdleSource *self)
{
  PresIdleSourcePrivate *priv = pres_idle_source_get_instance_private (self);

  g_return_val_if_fail (PRES_IS_IDLE_SOURCE (self), FALSE);
  return priv->idle;
}

guint
pres_idle_source_get_timeout (PresIdleSource *self)
{
  PresIdleSourcePrivate *priv = pres_idle_source_get_instance_private (self);

  g_return_val_if_fail (PRES_IS_IDLE_SOURCE (self), 0);
  return priv->timeout;
}

void
pres_idle_source_set_timeout (PresIdleSource *self,
                              guint           seconds)
{
  PresIdleSourcePrivate *priv = pres_idle_source_get_instance_private (self);
  PresIdleSourceClass *klass;

  g_return_if_fail (PRES_IS_IDLE_SOURCE (self));
  if (priv->timeout == seconds)
    return;

  priv->timeout = seconds;
  klass = PRES_IDLE_SOURCE_GET_CLASS (self);
  if (klass->timeout_changed != NULL)
    klass->timeout_changed (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TIMEOUT]);
}

void
pres_idle_source_set_idle (PresIdleSource *self,
                           gboolean        idle)
{
  PresIdleSourcePrivate *priv = pres_idle_source_get_instance_private (self);

  g_return_if_fail (PRES_IS_IDLE_SOURCE (self));
  idle = !!idle;
  if (priv->idle == idle)
    return;
  priv->idle = idle;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_IDLE]);
}

void
pres_idle_source_get_idle_time_async (PresIdleSource      *self,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (PRES_IS_IDLE_SOURCE (self));
  PRES_IDLE_SOURCE_GET_CLASS (self)->get_idle_time_async (self, cancellable, callback, user_data);
}

guint
pres_idle_source_get_idle_time_finish (PresIdleSource *self,
                                       GAsyncResult   *result,
                                       GError        **error)
{
  g_return_val_if_fail (PRES_IS_IDLE_SOURCE (self), 0);
  return PRES_IDLE_SOURCE_GET_CLASS (self)->get_idle_time_finish (self, result, error);
}

static void
pres_idle_source_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  PresIdleSource *self = PRES_IDLE_SOURCE (object);

  switch (prop_id)
    {
    case PROP_IDLE:
      g_value_set_boolean (value, pres_idle_source_get_idle (self));
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, pres_idle_source_get_timeout (self));
      break;
    case PROP_NAME:
      g_value_set_string (value, pres_idle_source_get_name (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pres_idle_source_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  PresIdleSource *self = PRES_IDLE_SOURCE (object);

  switch (prop_id)
    {
    case PROP_TIMEOUT:
      pres_idle_source_set_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pres_idle_source_class_init (PresIdleSourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = pres_idle_source_get_property;
  object_class->set_property = pres_idle_source_set_property;

  klass->name = "none";
  klass->get_idle_time_async = none_get_idle_time_async;
  klass->get_idle_time_finish = none_get_idle_time_finish;

  props[PROP_IDLE] = g_param_spec_boolean ("idle", NULL, NULL, FALSE,
                                           G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                                           G_PARAM_STATIC_STRINGS);
  props[PROP_TIMEOUT] = g_param_spec_uint ("timeout", NULL, NULL, 1, G_MAXUINT, DEFAULT_TIMEOUT,
                                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                                           G_PARAM_STATIC_STRINGS);
  /* Notified by sources whose name changes. */
  props[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL,
                                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                                          G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
pres_idle_source_init (PresIdleSource *self)
{
  PresIdleSourcePrivate *priv = pres_idle_source_get_instance_private (self);

  priv->timeout = DEFAULT_TIMEOUT;
}

PresIdleSource *
pres_idle_source_new_none (void)
{
  return g_object_new (PRES_TYPE_IDLE_SOURCE, NULL);
}
