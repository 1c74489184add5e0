#pragma once

#include "pres-transport.h"

G_BEGIN_DECLS

#define PRES_TYPE_OPENCLAW_TRANSPORT (pres_openclaw_transport_get_type ())
G_DECLARE_FINAL_TYPE (PresOpenclawTransport,
                      pres_openclaw_transport,
                      PRES,
                      OPENCLAW_TRANSPORT,
                      GObject)

/*
 * The transport to an OpenClaw gateway: with this device's signed
 * identity, a node connection (the desktop's roster row, its activity for
 * the gateway's active computer) and an operator connection that sends a
 * "system-event" presence beacon into that row at once on every change and
 * every 30 s. Going offline (sleep, logout, quit) closes both: that is its
 * leave. The setup's state_dir keeps the device key and the gateway's
 * device tokens.
 */
PresTransport *pres_openclaw_transport_new (const PresTransportSetup *setup);

/* The URL libsoup opens for a configured gateway URL (ws, wss, http or
 * https), or NULL with a message for LastError. Plain ws only to this
 * machine unless ALLOW_INSECURE: the token travels in the first frame. */
char *pres_openclaw_check_url (const char *url, gboolean allow_insecure, GError **error);

G_END_DECLS
