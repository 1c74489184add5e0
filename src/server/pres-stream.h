#pragma once

#include "pres-auth.h"
#include "pres-http-server.h"
#include "pres-metrics.h"
#include "pres-rate-limit.h"
#include "pres-store.h"

G_BEGIN_DECLS

/* GET /v1/stream (WebSocket).  A client sends
 *   {"op": "sub", "ids": [...], "cursor": "…"?}
 * and gets {"op": "snapshot", "states": {...}, "cursor": "…"}, or, when the
 * cursor can be resumed, {"op": "delta", "changes": {...}, "cursor": "…"}
 * with what changed since; then coalesced deltas for the ids it named.
 * A bad message gets {"op": "error", "error": {...}} and changes nothing. */

#define PRES_STREAM_MAX_IDS 1000

#define PRES_TYPE_STREAM (pres_stream_get_type ())
G_DECLARE_FINAL_TYPE (PresStream, pres_stream, PRES, STREAM, GObject)

PresStream *pres_stream_new (PresHttpServer *server,
                             PresStore      *store,
                             PresAuth       *auth,
                             PresRateLimit  *rate_limit,
                             PresMetrics    *metrics);
guint       pres_stream_get_n_subscribers (PresStream *self);

G_END_DECLS
