#define G_LOG_DOMAIN "pres-destinations"

#include "pres-destinations.h"

#include "pres-transport-factory.h"

typedef struct
{
  char *name;
  char *kind;
  PresLink *link;
  PresTransport *transport; /* NULL when the destination cannot run */
} Destination;

struct _PresDestinations
{
  GObject parent_instance;

  GArray *destinations; /* of Destination */
};

G_DEFINE_TYPE (PresDestinations, pres_destinations, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
destination_clear (Destination *destination)
{
  g_clear_pointer (&destination->name, g_free);
  g_clear_pointer (&destination->kind, g_free);
  g_clear_object (&destination->transport);
  g_clear_object (&destination->link);
}

static Destination *
get (PresDestinations *self, guint index)
{
  return &g_array_index (self->destinations, Destination, index);
}

static void
on_link_notify (PresDestinations *self)
{
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
pres_destinations_dispose (GObject *object)
{
  PresDestinations *self = PRES_DESTINATIONS (object);

  g_clear_pointer (&self->destinations, g_array_unref);

  G_OBJECT_CLASS (pres_destinations_parent_class)->dispose (object);
}

static void
pres_destinations_class_init (PresDestinationsClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pres_destinations_dispose;

  /* A destination's connection, error, server, delivery or id changed. */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pres_destinations_init (PresDestinations *self)
{
  self->destinations = g_array_new (FALSE, TRUE, sizeof (Destination));
  g_array_set_clear_func (self->destinations, (GDestroyNotify) destination_clear);
}

PresDestinations *
pres_destinations_new (GPtrArray *configs, const PresTransportSetup *base, GError **error)
{
  g_autoptr (PresDestinations) self = g_object_new (PRES_TYPE_DESTINATIONS, NULL);

  g_return_val_if_fail (configs != NULL && configs->len > 0, NULL);

  for (guint i = 0; i < configs->len; i++)
    {
      PresDestinationConfig *config = g_ptr_array_index (configs, i);
      PresTransportSetup setup = *base;
      Destination destination = { 0 };
      g_autofree char *server = NULL;

      destination.name = g_strdup (config->name);
      destination.kind = g_strdup (config->kind);
      /* Until the transport reads it, the link shows the URL configured. */
      server = config->url != NULL ? g_strdup (config->url)
                                   : g_settings_get_string (base->settings, "server-url");
      destination.link = pres_link_new (server);
      g_array_append_val (self->destinations, destination);

      if (config->problem != NULL)
        {
          g_message ("Destination %s: %s", config->name, config->problem);
          pres_link_set_connection (destination.link, PRES_CONNECTION_ERROR);
          pres_link_set_last_error (destination.link, config->problem);
        }
      else
        {
          setup.link = destination.link;
          setup.server = config->url;
          setup.token_file = i == 0 ? base->token_file : NULL;
          get (self, i)->transport = pres_transport_new (config->kind, &setup, error);
          if (get (self, i)->transport == NULL)
            return NULL;
        }
      g_signal_connect_object (destination.link, "notify", G_CALLBACK (on_link_notify), self,
                               G_CONNECT_SWAPPED);
    }
  return g_steal_pointer (&self);
}

guint
pres_destinations_get_n (PresDestinations *self)
{
  g_return_val_if_fail (PRES_IS_DESTINATIONS (self), 0);
  return self->destinations->len;
}

const char *
pres_destinations_get_name (PresDestinations *self, guint index)
{
  g_return_val_if_fail (PRES_IS_DESTINATIONS (self), NULL);
  g_return_val_if_fail (index < self->destinations->len, NULL);
  return get (self, index)->name;
}

const char *
pres_destinations_get_kind (PresDestinations *self, guint index)
{
  g_return_val_if_fail (PRES_IS_DESTINATIONS (self), NULL);
  g_return_val_if_fail (index < self->destinations->len, NULL);
  return get (self, index)->kind;
}

PresLink *
pres_destinations_get_link (PresDestinations *self, guint index)
{
  g_return_val_if_fail (PRES_IS_DESTINATIONS (self), NULL);
  g_return_val_if_fail (index < self->destinations->len, NULL);
  return get (self, index)->link;
}

typedef void (*TransportFunc) (PresTransport *transport);

static void
for_each (PresDestinations *self, TransportFunc func)
{
  for (guint i = 0; i < self->destinations->len; i++)
    if (get (self, i)->transport != NULL)
      func (get (self, i)->transport);
}

void
pres_destinations_start (PresDestinations *self)
{
  g_return_if_fail (PRES_IS_DESTINATIONS (self));
  for_each (self, pres_transport_start);
}

void
pres_destinations_reconnect (PresDestinations *self)
{
  g_return_if_fail (PRES_IS_DESTINATIONS (self));
  for_each (self, pres_transport_reconnect);
}

void
pres_destinations_network_changed (PresDestinations *self)
{
  g_return_if_fail (PRES_IS_DESTINATIONS (self));
  for_each (self, pres_transport_network_changed);
}

void
pres_destinations_resume (PresDestinations *self)
{
  g_return_if_fail (PRES_IS_DESTINATIONS (self));
  for_each (self, pres_transport_resume);
}

/* A destination that cannot run has nothing to take back. */
gboolean
pres_destinations_all_left (PresDestinations *self)
{
  g_return_val_if_fail (PRES_IS_DESTINATIONS (self), TRUE);
  for (guint i = 0; i < self->destinations->len; i++)
    if (get (self, i)->transport != NULL
        && pres_link_get_connection (get (self, i)->link) != PRES_CONNECTION_DISCONNECTED)
      return FALSE;
  return TRUE;
}

static void
on_left (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  guint *pending = g_task_get_task_data (task);

  pres_transport_leave_finish (PRES_TRANSPORT (source), result, NULL);
  if (--*pending == 0)
    g_task_return_boolean (task, TRUE);
}

void
pres_destinations_leave_async (PresDestinations *self,
                               const char *reason,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, NULL, callback, user_data);
  guint *pending = g_new0 (guint, 1);

  g_return_if_fail (PRES_IS_DESTINATIONS (self));
  g_task_set_source_tag (task, pres_destinations_leave_async);
  g_task_set_task_data (task, pending, g_free);

  /* One count for this loop, so that a leave that finishes at once cannot
   * finish the task before the others have begun. */
  *pending = 1;
  for (guint i = 0; i < self->destinations->len; i++)
    if (get (self, i)->transport != NULL)
      {
        ++*pending;
        pres_transport_leave_async (get (self, i)->transport, reason, on_left,
                                    g_object_ref (task));
      }
  if (--*pending == 0)
    g_task_return_boolean (task, TRUE);
}

gboolean
pres_destinations_leave_finish (PresDestinations *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
