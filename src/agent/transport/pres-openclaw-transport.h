#pragma once

#include <gio/gio.h>

#include "pres-link.h"
#include "pres-model.h"
#include "sensors/pres-idle-source.h"

G_BEGIN_DECLS

#define PRES_TYPE_OPENCLAW_TRANSPORT (pres_openclaw_transport_get_type ())
G_DECLARE_FINAL_TYPE (PresOpenclawTransport,
                      pres_openclaw_transport,
                      PRES,
                      OPENCLAW_TRANSPORT,
                      GObject)

/*
 * Keeps the model's effective state on an OpenClaw gateway: one operator
 * WebSocket connection with this device's signed identity, and a
 * "system-event" presence beacon at once on every change and every 30 s.
 * Going offline (sleep, logout, quit) closes the connection. It reports how
 * that goes through LINK, as the HTTP transport does, and has the same entry
 * points. STATE_DIR keeps the device key and the gateway's device token;
 * SERVER and TOKEN_FILE override the server-url setting and token lookup.
 *
 * "left" is emitted once the connection is closed for a leave.
 */
PresOpenclawTransport *pres_openclaw_transport_new (PresModel *model,
                                                    PresLink *link,
                                                    PresIdleSource *idle_source,
                                                    GSettings *settings,
                                                    const char *instance_id,
                                                    const char *state_dir,
                                                    const char *server,
                                                    const char *token_file);

void pres_openclaw_transport_start (PresOpenclawTransport *self);
void pres_openclaw_transport_reconnect (PresOpenclawTransport *self);
void pres_openclaw_transport_network_changed (PresOpenclawTransport *self);
void pres_openclaw_transport_resume (PresOpenclawTransport *self);

/* Closes the connection cleanly and stops; finishes within 2 s whatever
 * the gateway does. */
void pres_openclaw_transport_leave_async (PresOpenclawTransport *self,
                                          const char *reason,
                                          GAsyncReadyCallback callback,
                                          gpointer user_data);
gboolean pres_openclaw_transport_leave_finish (PresOpenclawTransport *self,
                                               GAsyncResult *result,
                                               GError **error);

/* The URL libsoup opens for a configured gateway URL (ws, wss, http or
 * https), or NULL with a message for LastError. Plain ws only to this
 * machine unless ALLOW_INSECURE: the token travels in the first frame. */
char *pres_openclaw_check_url (const char *url, gboolean allow_insecure, GError **error);

G_END_DECLS
