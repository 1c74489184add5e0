#define G_LOG_DOMAIN "pres-service"

#include "config.h"

#include "pres-dbus.h"
#include "pres-destinations.h"
#include "pres-error.h"
#include "pres-explain.h"
#include "pres-link.h"
#include "pres-service.h"
#include "pres-settings.h"

/*
 * PresService exports org.presence.Agent by composition: it owns the
 * generated skeleton, binds the model's properties onto it (the skeleton
 * emits PropertiesChanged) and turns method calls into model calls.
 */

#define MIN_IDLE_TIMEOUT 10
#define MAX_IDLE_TIMEOUT 86400

struct _PresService
{
  GObject parent_instance;

  PresDBusAgent  *skeleton;
  PresModel      *model;
  PresLink       *link;
  PresIdleSource *idle_source;
  PresDestinations *destinations; /* NULL until followed */
  GCancellable   *cancellable;
};

G_DEFINE_TYPE (PresService, pres_service, G_TYPE_OBJECT)

enum
{
  SIGNAL_RECONNECT_REQUESTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/*
 * The generated skeleton writes properties without validation, so its
 * vtable is wrapped: an out-of-range IdleTimeout is refused with
 * InvalidArgs, and one the settings backend cannot store with Failed,
 * before anything changes. Only a stored value reaches the property.
 */
#define PRES_TYPE_SERVICE_SKELETON (pres_service_skeleton_get_type ())
G_DECLARE_FINAL_TYPE (PresServiceSkeleton, pres_service_skeleton, PRES, SERVICE_SKELETON,
                      PresDBusAgentSkeleton)

struct _PresServiceSkeleton
{
  PresDBusAgentSkeleton parent_instance;

  GSettings *settings;
};

G_DEFINE_TYPE (PresServiceSkeleton, pres_service_skeleton, PRES_DBUS_TYPE_AGENT_SKELETON)

static GDBusInterfaceVTable validating_vtable;
static GDBusInterfaceSetPropertyFunc generated_set_property;

static gboolean
validating_set_property (GDBusConnection *connection,
                         const char      *sender,
                         const char      *object_path,
                         const char      *interface_name,
                         const char      *property_name,
                         GVariant        *variant,
                         GError         **error,
                         gpointer         user_data)
{
  if (g_str_equal (property_name, "IdleTimeout") &&
      g_variant_is_of_type (variant, G_VARIANT_TYPE_UINT32))
    {
      guint32 seconds = g_variant_get_uint32 (variant);

      if (seconds < MIN_IDLE_TIMEOUT || seconds > MAX_IDLE_TIMEOUT)
        {
          g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                       "IdleTimeout: must be between %d and %d seconds; got %u",
                       MIN_IDLE_TIMEOUT, MAX_IDLE_TIMEOUT, seconds);
          return FALSE;
        }
      if (!pres_settings_store_uint (PRES_SERVICE_SKELETON (user_data)->settings,
                                     "idle-timeout", seconds, error))
        return FALSE;
    }
  return generated_set_property (connection, sender, object_path, interface_name, property_name,
                                 variant, error, user_data);
}

static GDBusInterfaceVTable *
pres_service_skeleton_get_vtable (GDBusInterfaceSkeleton *skeleton)
{
  if (generated_set_property == NULL)
    {
      GDBusInterfaceSkeletonClass *parent =
        G_DBUS_INTERFACE_SKELETON_CLASS (pres_service_skeleton_parent_class);

      validating_vtable = *parent->get_vtable (skeleton);
      generated_set_property = validating_vtable.set_property;
      validating_vtable.set_property = validating_set_property;
    }
  return &validating_vtable;
}

static void
pres_service_skeleton_dispose (GObject *object)
{
  g_clear_object (&PRES_SERVICE_SKELETON (object)->settings);

  G_OBJECT_CLASS (pres_service_skeleton_parent_class)->dispose (object);
}

static void
pres_service_skeleton_class_init (PresServiceSkeletonClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pres_service_skeleton_dispose;
  G_DBUS_INTERFACE_SKELETON_CLASS (klass)->get_vtable = pres_service_skeleton_get_vtable;
}

static void
pres_service_skeleton_init (PresServiceSkeleton *self)
{
}

static gboolean
state_to_string (GBinding     *binding,
                 const GValue *from,
                 GValue       *to,
                 gpointer      user_data)
{
  g_value_set_string (to, pres_state_to_string (g_value_get_enum (from)));
  return TRUE;
}

static gboolean
manual_to_string (GBinding     *binding,
                  const GValue *from,
                  GValue       *to,
                  gpointer      user_data)
{
  g_value_set_string (to, pres_manual_to_string (g_value_get_enum (from)));
  return TRUE;
}

static gboolean
connection_to_string (GBinding     *binding,
                      const GValue *from,
                      GValue       *to,
                      gpointer      user_data)
{
  g_value_set_string (to, pres_connection_to_string (g_value_get_enum (from)));
  return TRUE;
}

static void
on_state_changed (PresService *self,
                  PresState    state,
                  PresState    previous,
                  PresReason   reason)
{
  pres_dbus_agent_emit_state_changed (self->skeleton, pres_state_to_string (state),
                                      pres_state_to_string (previous),
                                      pres_reason_to_string (reason));
}

static gboolean
set_manual (PresService           *self,
            GDBusMethodInvocation *invocation,
            PresManual             manual,
            guint                  seconds)
{
  g_autoptr (GError) error = NULL;

  if (!pres_model_set_manual (self->model, manual, seconds, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return TRUE;
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
  return TRUE;
}

static gboolean
handle_set_busy (PresService           *self,
                 GDBusMethodInvocation *invocation,
                 guint                  seconds)
{
  return set_manual (self, invocation, PRES_MANUAL_BUSY, seconds);
}

static gboolean
handle_set_appear_offline (PresService           *self,
                           GDBusMethodInvocation *invocation,
                           guint                  seconds)
{
  return set_manual (self, invocation, PRES_MANUAL_APPEAR_OFFLINE, seconds);
}

static gboolean
handle_set_auto (PresService           *self,
                 GDBusMethodInvocation *invocation)
{
  pres_model_set_auto (self->model);
  pres_dbus_agent_complete_set_auto (self->skeleton, invocation);
  return TRUE;
}

static gboolean
handle_set_status_text (PresService           *self,
                        GDBusMethodInvocation *invocation,
                        const char            *text)
{
  g_autoptr (GError) error = NULL;

  if (!pres_model_set_status_text (self->model, text, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return TRUE;
    }
  pres_dbus_agent_complete_set_status_text (self->skeleton, invocation);
  return TRUE;
}

static void
on_idle_time_ready (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr (GDBusMethodInvocation) invocation = user_data;
  g_autoptr (GError) error = NULL;
  guint seconds;

  seconds = pres_idle_source_get_idle_time_finish (PRES_IDLE_SOURCE (source), result, &error);
  if (error != NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", seconds));
}

static gboolean
handle_get_idle_time (PresService           *self,
                      GDBusMethodInvocation *invocation)
{
  pres_idle_source_get_idle_time_async (self->idle_source, self->cancellable, on_idle_time_ready,
                                        g_object_ref (invocation));
  return TRUE;
}

static gboolean
handle_reconnect (PresService           *self,
                  GDBusMethodInvocation *invocation)
{
  g_signal_emit (self, signals[SIGNAL_RECONNECT_REQUESTED], 0);
  pres_dbus_agent_complete_reconnect (self->skeleton, invocation);
  return TRUE;
}

static gboolean
handle_explain (PresService           *self,
                GDBusMethodInvocation *invocation)
{
  g_autofree char *text
    = pres_explain (self->model, self->idle_source, self->link, self->destinations,
                    pres_dbus_agent_get_tray_hint (self->skeleton), g_get_real_time ());

  pres_dbus_agent_complete_explain (self->skeleton, invocation, text);
  return TRUE;
}

static void
bind_properties (PresService *self)
{
  GBindingFlags flags = G_BINDING_SYNC_CREATE;

  g_object_bind_property_full (self->model, "state", self->skeleton, "state", flags,
                               state_to_string, NULL, NULL, NULL);
  g_object_bind_property_full (self->model, "auto-state", self->skeleton, "auto-state", flags,
                               state_to_string, NULL, NULL, NULL);
  g_object_bind_property_full (self->model, "manual", self->skeleton, "manual-state", flags,
                               manual_to_string, NULL, NULL, NULL);
  g_object_bind_property (self->model, "manual-until", self->skeleton, "manual-until", flags);
  g_object_bind_property (self->model, "status-text", self->skeleton, "status-text", flags);
  g_object_bind_property (self->model, "locked", self->skeleton, "locked", flags);

  g_object_bind_property_full (self->link, "connection", self->skeleton, "connection", flags,
                               connection_to_string, NULL, NULL, NULL);
  g_object_bind_property (self->link, "last-error", self->skeleton, "last-error", flags);
  g_object_bind_property (self->link, "last-heartbeat", self->skeleton, "last-heartbeat", flags);
  g_object_bind_property (self->link, "server", self->skeleton, "server", flags);
}

static void
pres_service_dispose (GObject *object)
{
  PresService *self = PRES_SERVICE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->skeleton != NULL)
    pres_service_unexport (self);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->skeleton);
  g_clear_object (&self->model);
  g_clear_object (&self->link);
  g_clear_object (&self->idle_source);
  g_clear_object (&self->destinations);

  G_OBJECT_CLASS (pres_service_parent_class)->dispose (object);
}

static void
pres_service_class_init (PresServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pres_service_dispose;

  signals[SIGNAL_RECONNECT_REQUESTED] =
    g_signal_new ("reconnect-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
}

static void
pres_service_init (PresService *self)
{
  self->cancellable = g_cancellable_new ();
}

PresService *
pres_service_new (PresModel      *model,
                  PresLink       *link,
                  PresIdleSource *idle_source,
                  GSettings      *settings,
                  const char     *instance_id)
{
  PresService *self = g_object_new (PRES_TYPE_SERVICE, NULL);

  self->model = g_object_ref (model);
  self->link = g_object_ref (link);
  self->idle_source = g_object_ref (idle_source);
  self->skeleton = g_object_new (PRES_TYPE_SERVICE_SKELETON, NULL);
  PRES_SERVICE_SKELETON (self->skeleton)->settings = g_object_ref (settings);

  pres_dbus_agent_set_version (self->skeleton, PACKAGE_VERSION);
  pres_dbus_agent_set_instance_id (self->skeleton, instance_id);
  pres_dbus_agent_set_destinations (self->skeleton, g_variant_new ("aa{sv}", NULL));
  /* The chooser's name follows the backend it settles on. */
  g_object_bind_property (idle_source, "name", self->skeleton, "idle-source",
                          G_BINDING_SYNC_CREATE);
  bind_properties (self);
  /* `gsettings set` shows on the bus at once. D-Bus writes are stored by
   * validating_set_property() first, which can fail them; a binding that
   * wrote back could not. */
  g_settings_bind (settings, "idle-timeout", self->skeleton, "idle-timeout",
                   G_SETTINGS_BIND_GET);

  g_signal_connect_object (model, "state-changed", G_CALLBACK (on_state_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->skeleton, "handle-set-busy", G_CALLBACK (handle_set_busy), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->skeleton, "handle-set-appear-offline",
                           G_CALLBACK (handle_set_appear_offline), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->skeleton, "handle-set-auto", G_CALLBACK (handle_set_auto), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->skeleton, "handle-set-status-text",
                           G_CALLBACK (handle_set_status_text), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->skeleton, "handle-get-idle-time",
                           G_CALLBACK (handle_get_idle_time), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->skeleton, "handle-reconnect", G_CALLBACK (handle_reconnect), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->skeleton, "handle-explain", G_CALLBACK (handle_explain), self,
                           G_CONNECT_SWAPPED);
  return self;
}

gboolean
pres_service_export (PresService     *self,
                     GDBusConnection *connection,
                     GError         **error)
{
  g_return_val_if_fail (PRES_IS_SERVICE (self), FALSE);

  return g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                           PRES_AGENT_OBJECT_PATH, error);
}

static gboolean
hint_to_property (GBinding     *binding,
                  const GValue *from,
                  GValue       *to,
                  gpointer      user_data)
{
  const char *hint = g_value_get_string (from);

  g_value_set_string (to, hint != NULL ? hint : "");
  return TRUE;
}

void
pres_service_follow_tray_hint (PresService *self,
                               GObject     *host)
{
  g_return_if_fail (PRES_IS_SERVICE (self));

  g_object_bind_property_full (host, "hint", self->skeleton, "tray-hint", G_BINDING_SYNC_CREATE,
                               hint_to_property, NULL, NULL, NULL);
}

static GVariant *
describe_destination (PresDestinations *destinations,
                      guint             index)
{
  PresLink *link = pres_destinations_get_link (destinations, index);
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "Name", "s", pres_destinations_get_name (destinations, index));
  g_variant_dict_insert (&dict, "Kind", "s", pres_destinations_get_kind (destinations, index));
  g_variant_dict_insert (&dict, "Url", "s", pres_link_get_server (link));
  g_variant_dict_insert (&dict, "Connection", "s",
                         pres_connection_to_string (pres_link_get_connection (link)));
  g_variant_dict_insert (&dict, "LastError", "s", pres_link_get_last_error (link));
  g_variant_dict_insert (&dict, "LastDelivered", "x", pres_link_get_last_heartbeat (link));
  g_variant_dict_insert (&dict, "KnownAs", "s", pres_link_get_known_as (link));
  return g_variant_dict_end (&dict);
}

/* The skeleton compares the new value with the old one, so a change of
 * something the property does not show (a server's last reply) sends no
 * PropertiesChanged. */
static void
on_destinations_changed (PresService *self)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < pres_destinations_get_n (self->destinations); i++)
    g_variant_builder_add_value (&builder, describe_destination (self->destinations, i));
  pres_dbus_agent_set_destinations (self->skeleton, g_variant_builder_end (&builder));
}

void
pres_service_follow_destinations (PresService      *self,
                                  PresDestinations *destinations)
{
  g_return_if_fail (PRES_IS_SERVICE (self));
  g_return_if_fail (self->destinations == NULL);

  self->destinations = g_object_ref (destinations);
  g_signal_connect_object (destinations, "changed", G_CALLBACK (on_destinations_changed), self,
                           G_CONNECT_SWAPPED);
  on_destinations_changed (self);
}

void
pres_service_unexport (PresService *self)
{
  g_return_if_fail (PRES_IS_SERVICE (self));

  if (g_dbus_interface_skeleton_get_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton)))
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
}
