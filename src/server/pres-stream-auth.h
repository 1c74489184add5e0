#pragma once

#include "pres-http-server.h"

G_BEGIN_DECLS

/* The stream's subprotocol, and the one a browser may carry its token in. */
#define PRES_STREAM_PROTOCOL        "presence.v1"
#define PRES_STREAM_BEARER_PROTOCOL "bearer."

/* A browser cannot set Authorization on a WebSocket, so the handshake may
 * carry the token as a subprotocol instead:
 *
 *   Sec-WebSocket-Protocol: presence.v1, bearer.<token>
 *
 * Returns the Authorization value to check: the header when there is one,
 * else "Bearer <token>" from the subprotocols, else NULL.  *protocol is set
 * to the subprotocol to answer when the client offered presence.v1 (a
 * client that offers subprotocols fails a handshake that picks none), and
 * to NULL otherwise; the bearer one is never echoed. */
char *pres_stream_auth_credentials (PresHttpRequest *req,
                                    const char     **protocol);

G_END_DECLS
