#pragma once

#include "pres-transport.h"

G_BEGIN_DECLS

#define PRES_TYPE_HTTP_TRANSPORT (pres_http_transport_get_type ())
G_DECLARE_FINAL_TYPE (PresHttpTransport, pres_http_transport, PRES, HTTP_TRANSPORT, GObject)

/*
 * The transport to a presence-server (protocol.md): a heartbeat at once on
 * every change and every server-given interval, a leave when the state
 * becomes offline, backoff on failure.
 */
PresTransport *pres_http_transport_new (const PresTransportSetup *setup);

const char *pres_http_transport_get_session (PresHttpTransport *self);

G_END_DECLS
