#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  PRES_CONNECTION_DISCONNECTED,
  PRES_CONNECTION_CONNECTING,
  PRES_CONNECTION_CONNECTED,
  PRES_CONNECTION_UNAUTHORIZED,
  PRES_CONNECTION_ERROR,
} PresConnection;

const char *pres_connection_to_string (PresConnection connection);

#define PRES_TYPE_LINK (pres_link_get_type ())
G_DECLARE_FINAL_TYPE (PresLink, pres_link, PRES, LINK, GObject)

/*
 * What the transport reports about its link to the server: a fact like the
 * sensors' ones, written only by the transport and read by the D-Bus
 * service, Explain and the tray.
 */
PresLink *pres_link_new (const char *server);

void pres_link_set_connection     (PresLink       *self,
                                   PresConnection  connection);
void pres_link_set_last_error     (PresLink   *self,
                                   const char *last_error);
void pres_link_set_last_heartbeat (PresLink *self,
                                   gint64    unix_ms);
void pres_link_set_last_reply     (PresLink   *self,
                                   const char *last_reply);
void pres_link_set_server         (PresLink   *self,
                                   const char *server);
void pres_link_set_public_state   (PresLink   *self,
                                   const char *public_state);
/* The id under which the server knows this desktop: the instance id for
 * presence-server, the device id for an OpenClaw gateway. */
void pres_link_set_known_as       (PresLink   *self,
                                   const char *known_as);

PresConnection pres_link_get_connection     (PresLink *self);
const char    *pres_link_get_last_error     (PresLink *self);
gint64         pres_link_get_last_heartbeat (PresLink *self);
const char    *pres_link_get_last_reply     (PresLink *self);
const char    *pres_link_get_server         (PresLink *self);
const char    *pres_link_get_public_state   (PresLink *self);
const char    *pres_link_get_known_as       (PresLink *self);

G_END_DECLS
