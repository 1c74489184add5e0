#pragma once

#include "pres-destination-config.h"
#include "pres-link.h"
#include "pres-transport.h"

G_BEGIN_DECLS

#define PRES_TYPE_DESTINATIONS (pres_destinations_get_type ())
G_DECLARE_FINAL_TYPE (PresDestinations, pres_destinations, PRES, DESTINATIONS, GObject)

/*
 * The places the agent sends presence to, side by side: one transport per
 * destination, each with its own PresLink, connection, backoff and HTTP
 * session, so that one that fails or hangs holds up no other. What the
 * agent asks of "the transport" (start, reconnect, resume, leave) goes to
 * every one; "changed" says that something a destination reports changed.
 */
/* CONFIGS as pres_destination_configs_read() gives them; BASE is what every
 * transport is built from (its link, server and token file are filled in
 * here: the token file counts for the first destination only). Fails only
 * when a destination that looked able to run has no transport. */
PresDestinations *pres_destinations_new (GPtrArray                *configs,
                                         const PresTransportSetup *base,
                                         GError                  **error);

guint       pres_destinations_get_n    (PresDestinations *self);
const char *pres_destinations_get_name (PresDestinations *self,
                                        guint             index);
const char *pres_destinations_get_kind (PresDestinations *self,
                                        guint             index);
PresLink   *pres_destinations_get_link (PresDestinations *self,
                                        guint             index);

void pres_destinations_start           (PresDestinations *self);
void pres_destinations_reconnect       (PresDestinations *self);
void pres_destinations_network_changed (PresDestinations *self);
void pres_destinations_resume          (PresDestinations *self);

/* Whether every destination's leave is out (or none was needed). */
gboolean pres_destinations_all_left (PresDestinations *self);

/* Every destination leaves with REASON, side by side; finishes when all
 * have, so within the 2 s each one takes at most. */
void     pres_destinations_leave_async  (PresDestinations   *self,
                                         const char         *reason,
                                         GAsyncReadyCallback callback,
                                         gpointer            user_data);
gboolean pres_destinations_leave_finish (PresDestinations *self,
                                         GAsyncResult     *result,
                                         GError          **error);

G_END_DECLS
