#pragma once

#include "pres-auth.h"
#include "pres-http-server.h"
#include "pres-metrics.h"
#include "pres-rate-limit.h"
#include "pres-store.h"

G_BEGIN_DECLS

/* The HTTP endpoints of protocol.md: PUT and DELETE /v1/instances/{id},
 * GET /v1/instances, GET /v1/presence, GET /v1/members,
 * POST /v1/conversations, GET /healthz, GET /metrics.
 * Every rejection is a JSON error with its status and changes nothing. */

#define PRES_TYPE_HTTP_API (pres_http_api_get_type ())
G_DECLARE_FINAL_TYPE (PresHttpApi, pres_http_api, PRES, HTTP_API, GObject)

#define PRES_HTTP_MAX_READ_IDS 500

typedef guint (*PresSubscriberCountFunc) (gpointer user_data);

PresHttpApi *pres_http_api_new (PresHttpServer *server,
                                PresStore      *store,
                                PresAuth       *auth,
                                PresRateLimit  *rate_limit,
                                PresMetrics    *metrics,
                                guint           ttl_ms,
                                guint           interval_ms);
/* For the subscriber gauge of /metrics, which the stream owns. */
void pres_http_api_set_subscriber_count_func (PresHttpApi            *self,
                                              PresSubscriberCountFunc func,
                                              gpointer                user_data);

/* How long after a conversation its two participants see through each
 * other's appear_offline (default 24 h). */
void pres_http_api_set_conversation_window (PresHttpApi *self,
                                            guint        window_ms);

G_END_DECLS
