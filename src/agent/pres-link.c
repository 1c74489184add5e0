#define G_LOG_DOMAIN "pres-link"

#include "pres-agent-enums.h"
#include "pres-link.h"

struct _PresLink
{
  GObject parent_instance;

  PresConnection connection;
  char          *last_error;
  gint64         last_heartbeat;
  char          *last_reply;
  char          *server;
  char          *public_state; /* what others see, as the server last said; "" = unknown */
  char          *known_as;     /* the id the far side knows this desktop by; "" = not yet */
};

G_DEFINE_TYPE (PresLink, pres_link, G_TYPE_OBJECT)

enum
{
  PROP_0,
  PROP_CONNECTION,
  PROP_LAST_ERROR,
  PROP_LAST_HEARTBEAT,
  PROP_LAST_REPLY,
  PROP_SERVER,
  PROP_PUBLIC_STATE,
  PROP_KNOWN_AS,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static const char *const connection_names[] = {
  [PRES_CONNECTION_DISCONNECTED] = "disconnected",
  [PRES_CONNECTION_CONNECTING] = "connecting",
  [PRES_CONNECTION_CONNECTED] = "connected",
  [PRES_CONNECTION_UNAUTHORIZED] = "unauthorized",
  [PRES_CONNECTION_ERROR] = "error",
};

const char *
pres_connection_to_string (PresConnection connection)
{
  g_return_val_if_fail (connection < G_N_ELEMENTS (connection_names), NULL);
  return connection_names[connection];
}

static void
set_string (PresLink   *self,
            char      **field,
            const char *value,
            guint       prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
}

void
pres_link_set_connection (PresLink       *self,
                          PresConnection  connection)
{
  g_return_if_fail (PRES_IS_LINK (self));
  if (self->connection == connection)
    return;
  self->connection = connection;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CONNECTION]);
  /* Without a connection, the server's last word may no longer hold. */
  if (connection != PRES_CONNECTION_CONNECTED)
    pres_link_set_public_state (self, NULL);
}

void
pres_link_set_last_error (PresLink   *self,
                          const char *last_error)
{
  g_return_if_fail (PRES_IS_LINK (self));
  set_string (self, &self->last_error, last_error ? last_error : "", PROP_LAST_ERROR);
}

void
pres_link_set_last_heartbeat (PresLink *self,
                              gint64    unix_ms)
{
  g_return_if_fail (PRES_IS_LINK (self));
  if (self->last_heartbeat == unix_ms)
    return;
  self->last_heartbeat = unix_ms;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LAST_HEARTBEAT]);
}

void
pres_link_set_last_reply (PresLink   *self,
                          const char *last_reply)
{
  g_return_if_fail (PRES_IS_LINK (self));
  set_string (self, &self->last_reply, last_reply ? last_reply : "", PROP_LAST_REPLY);
}

void
pres_link_set_server (PresLink   *self,
                      const char *server)
{
  g_return_if_fail (PRES_IS_LINK (self));
  set_string (self, &self->server, server ? server : "", PROP_SERVER);
}

void
pres_link_set_public_state (PresLink   *self,
                            const char *public_state)
{
  g_return_if_fail (PRES_IS_LINK (self));
  set_string (self, &self->public_state, public_state ? public_state : "", PROP_PUBLIC_STATE);
}

void
pres_link_set_known_as (PresLink   *self,
                        const char *known_as)
{
  g_return_if_fail (PRES_IS_LINK (self));
  set_string (self, &self->known_as, known_as ? known_as : "", PROP_KNOWN_AS);
}

PresConnection
pres_link_get_connection (PresLink *self)
{
  g_return_val_if_fail (PRES_IS_LINK (self), PRES_CONNECTION_DISCONNECTED);
  return self->connection;
}

const char *
pres_link_get_last_error (PresLink *self)
{
  g_return_val_if_fail (PRES_IS_LINK (self), NULL);
  return self->last_error;
}

gint64
pres_link_get_last_heartbeat (PresLink *self)
{
  g_return_val_if_fail (PRES_IS_LINK (self), 0);
  return self->last_heartbeat;
}

const char *
pres_link_get_last_reply (PresLink *self)
{
  g_return_val_if_fail (PRES_IS_LINK (self), NULL);
  return self->last_reply;
}

const char *
pres_link_get_server (PresLink *self)
{
  g_return_val_if_fail (PRES_IS_LINK (self), NULL);
  return self->server;
}

const char *
pres_link_get_public_state (PresLink *self)
{
  g_return_val_if_fail (PRES_IS_LINK (self), NULL);
  return self->public_state;
}

const char *
pres_link_get_known_as (PresLink *self)
{
  g_return_val_if_fail (PRES_IS_LINK (self), NULL);
  return self->known_as;
}

static void
pres_link_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  PresLink *self = PRES_LINK (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      g_value_set_enum (value, self->connection);
      break;
    case PROP_LAST_ERROR:
      g_value_set_string (value, self->last_error);
      break;
    case PROP_LAST_HEARTBEAT:
      g_value_set_int64 (value, self->last_heartbeat);
      break;
    case PROP_LAST_REPLY:
      g_value_set_string (value, self->last_reply);
      break;
    case PROP_SERVER:
      g_value_set_string (value, self->server);
      break;
    case PROP_PUBLIC_STATE:
      g_value_set_string (value, self->public_state);
      break;
    case PROP_KNOWN_AS:
      g_value_set_string (value, self->known_as);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pres_link_finalize (GObject *object)
{
  PresLink *self = PRES_LINK (object);

  g_free (self->last_error);
  g_free (self->last_reply);
  g_free (self->server);
  g_free (self->public_state);
  g_free (self->known_as);

  G_OBJECT_CLASS (pres_link_parent_class)->finalize (object);
}

static void
pres_link_class_init (PresLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = pres_link_get_property;
  object_class->finalize = pres_link_finalize;

  props[PROP_CONNECTION] = g_param_spec_enum ("connection", NULL, NULL, PRES_TYPE_CONNECTION,
                                              PRES_CONNECTION_DISCONNECTED, ro);
  props[PROP_LAST_ERROR] = g_param_spec_string ("last-error", NULL, NULL, "", ro);
  props[PROP_LAST_HEARTBEAT] = g_param_spec_int64 ("last-heartbeat", NULL, NULL, 0, G_MAXINT64, 0,
                                                   ro);
  props[PROP_LAST_REPLY] = g_param_spec_string ("last-reply", NULL, NULL, "", ro);
  props[PROP_SERVER] = g_param_spec_string ("server", NULL, NULL, "", ro);
  props[PROP_PUBLIC_STATE] = g_param_spec_string ("public-state", NULL, NULL, "", ro);
  props[PROP_KNOWN_AS] = g_param_spec_string ("known-as", NULL, NULL, "", ro);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
pres_link_init (PresLink *self)
{
  self->last_error = g_strdup ("");
  self->last_reply = g_strdup ("");
  self->server = g_strdup ("");
  self->public_state = g_strdup ("");
  self->known_as = g_strdup ("");
}

PresLink *
pres_link_new (const char *server)
{
  PresLink *self = g_object_new (PRES_TYPE_LINK, NULL);

  pres_link_set_server (self, server);
  return self;
}
