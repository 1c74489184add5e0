#pragma once

#include <libsoup/soup.h>

#include "pres-http-reply.h"
#include "pres-wire.h"

G_BEGIN_DECLS

/* The two requests of protocol.md for one instance. */
SoupMessage *pres_http_exchange_new_heartbeat (const char *base_url,
                                               const char *instance_id,
                                               const PresHeartbeat *hb);
SoupMessage *pres_http_exchange_new_leave (const char *base_url,
                                           const char *instance_id,
                                           const char *session,
                                           const char *reason);

/*
 * Sends MSG with the bearer TOKEN and sums up what came back as an outcome.
 * Gives up after PRES_HTTP_REQUEST_TIMEOUT_S, even on a server that
 * dribbles bytes (the session's I/O timeout alone would not), and reads
 * at most PRES_HTTP_MAX_REPLY_BYTES of a reply body: a larger one, from
 * its Content-Length or as it arrives, is a failed outcome.
 */
void pres_http_exchange_send_async (SoupSession *soup,
                                    SoupMessage *msg,
                                    const char *token,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
/* NULL with G_IO_ERROR_CANCELLED only when cancelled (not on timeout);
 * REPLY gets the reply as Explain shows it, NULL when none came. */
PresHttpOutcome *
pres_http_exchange_send_finish (GAsyncResult *result, char **reply, GError **error);

G_END_DECLS
