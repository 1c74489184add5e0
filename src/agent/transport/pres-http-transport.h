#pragma once

#include <gio/gio.h>

#include "pres-link.h"
#include "pres-model.h"
#include "sensors/pres-idle-source.h"

G_BEGIN_DECLS

#define PRES_TYPE_HTTP_TRANSPORT (pres_http_transport_get_type ())
G_DECLARE_FINAL_TYPE (PresHttpTransport, pres_http_transport, PRES, HTTP_TRANSPORT, GObject)

/*
 * Keeps the model's effective state on a presence-server (protocol.md):
 * a heartbeat at once on every change and every server-given interval,
 * a leave when the state becomes offline, backoff on failure. It reports
 * how that goes through LINK. SERVER and TOKEN_FILE override the
 * server-url setting and the token lookup when not NULL.
 *
 * "left" is emitted once a leave is answered, has failed, or turned out
 * not to be needed: a sleep or shutdown delay can be released then.
 */
PresHttpTransport *pres_http_transport_new (PresModel *model,
                                            PresLink *link,
                                            PresIdleSource *idle_source,
                                            GSettings *settings,
                                            const char *instance_id,
                                            const char *server,
                                            const char *token_file);

void pres_http_transport_start (PresHttpTransport *self);

/* Drops the connection, looks the token up again and heartbeats now. */
void pres_http_transport_reconnect (PresHttpTransport *self);
/* The network or the machine came back: whatever the backoff says, try now. */
void pres_http_transport_network_changed (PresHttpTransport *self);
void pres_http_transport_resume (PresHttpTransport *self);

/* Sends the leave with REASON and stops; finishes within 2 s whatever the
 * server does. */
void pres_http_transport_leave_async (PresHttpTransport *self,
                                      const char *reason,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
gboolean
pres_http_transport_leave_finish (PresHttpTransport *self, GAsyncResult *result, GError **error);

const char *pres_http_transport_get_session (PresHttpTransport *self);

G_END_DECLS
