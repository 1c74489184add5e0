#pragma once

#include <gio/gio.h>

#include "pres-destinations.h"
#include "pres-link.h"
#include "pres-model.h"
#include "sensors/pres-idle-source.h"

G_BEGIN_DECLS

#define PRES_AGENT_OBJECT_PATH "/org/presence/Agent"
#define PRES_AGENT_BUS_NAME "org.presence.Agent"

#define PRES_TYPE_SERVICE (pres_service_get_type ())
G_DECLARE_FINAL_TYPE (PresService, pres_service, PRES, SERVICE, GObject)

/* Emits "reconnect-requested" when a client calls Reconnect(). */
PresService *pres_service_new (PresModel      *model,
                               PresLink       *link,
                               PresIdleSource *idle_source,
                               GSettings      *settings,
                               const char     *instance_id);

gboolean pres_service_export   (PresService     *self,
                                GDBusConnection *connection,
                                GError         **error);
void     pres_service_unexport (PresService *self);

/* TrayHint follows the "hint" string property of HOST (a PresTrayHost). */
void pres_service_follow_tray_hint (PresService *self,
                                    GObject     *host);

/* Destinations lists DESTINATIONS and follows their changes. */
void pres_service_follow_destinations (PresService      *self,
                                       PresDestinations *destinations);

G_END_DECLS
