#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The gateway refuses more; older input than this is sent as this, marked
 * saturated, so that it never counts as newer than it is. */
#define PRES_OPENCLAW_MAX_IDLE_SECONDS (30 * 24 * 60 * 60)

/* Replies to node.* requests are small (a few hundred bytes; a pairing
 * list of a few devices): one far larger is refused unread. */
#define PRES_OPENCLAW_MAX_NODE_REPLY_BYTES (64 * 1024)

/* A request without parameters, such as node.pair.list. */
char *pres_openclaw_build_request (const char *request_id, const char *method);

/* node.event node.presence.activity: {idleSeconds, source "system"}, or
 * with IDLE_SECONDS < 0 the clear action that withdraws the last one. */
char *pres_openclaw_build_activity (const char *request_id, gint64 idle_seconds);

/* The result of a node.event: whether the gateway took it, and if not,
 * its reason (bounded, printable) or NULL. FALSE on a malformed result. */
gboolean pres_openclaw_parse_event_result (JsonNode *payload,
                                           gboolean *handled,
                                           char **reason,
                                           GError **error);

typedef enum
{
  PRES_OPENCLAW_PAIRING_UNKNOWN,  /* neither pending nor approved */
  PRES_OPENCLAW_PAIRING_PENDING,  /* REQUEST_ID waits for approval */
  PRES_OPENCLAW_PAIRING_APPROVED, /* the node is paired */
} PresOpenclawPairing;

/* Where NODE_ID stands in a node.pair.list result. A request id is only
 * taken when it is safe to show in a command line. */
PresOpenclawPairing pres_openclaw_parse_pairing_list (JsonNode *payload,
                                                      const char *node_id,
                                                      char **request_id,
                                                      GError **error);

/* node.pair.resolved: TRUE when it approves NODE_ID. */
gboolean pres_openclaw_parse_pairing_resolved (JsonNode *payload, const char *node_id);

/* A request id the gateway made: letters, digits and '-', at most 128. */
gboolean pres_openclaw_request_id_is_safe (const char *request_id);

G_END_DECLS
