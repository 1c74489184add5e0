#pragma once

#include <glib.h>

#include "pres-state.h"

G_BEGIN_DECLS

/* The JSON messages of the presence HTTP protocol v1 (protocol.md), shared
 * by the agent's HTTP transport and presence-server.  Everything parsed here
 * comes from the network: parsers check node types, bounds and UTF-8 before
 * use and fail with a PRES_WIRE_ERROR whose message names the offending
 * field and what is allowed, so it can be sent back to a client as is. */

/* Bounds of protocol.md. */
#define PRES_WIRE_MAX_BODY_BYTES   4096
#define PRES_WIRE_MAX_STRING_BYTES 256
#define PRES_WIRE_MAX_ID_BYTES     128
/* A member's application data: a JSON object of at most this many bytes
 * once written compactly, nested at most this deep. */
#define PRES_WIRE_MAX_DATA_BYTES   1024
#define PRES_WIRE_MAX_DATA_DEPTH   8
/* Bounds on the server's ttl_ms and interval_ms that a client accepts
 * (presence-server's --ttl and --interval allow no less than 0.1 s). */
#define PRES_WIRE_MIN_TIMER_MS     100
#define PRES_WIRE_MAX_TIMER_MS     (24 * 3600 * 1000)

#define PRES_WIRE_ERROR (pres_wire_error_quark ())

/* Each code maps to the protocol's error "code" string
 * (pres_wire_error_code_to_string) and to an HTTP status, given in brackets:
 *
 * INVALID_JSON  "invalid_json"  [400] the body is not UTF-8 JSON, or not an object
 * INVALID_FIELD "invalid_field" [400] a field is missing, of the wrong type or out of bounds
 * INVALID_STATE "invalid_state" [400] "state" is not a state this message may carry
 * INVALID_ID    "invalid_id"    [400] an instance id does not match [a-z0-9._:-]{1,128}
 * TOO_LARGE     "too_large"     [413] the body exceeds PRES_WIRE_MAX_BODY_BYTES
 */
typedef enum
{
  PRES_WIRE_ERROR_INVALID_JSON,
  PRES_WIRE_ERROR_INVALID_FIELD,
  PRES_WIRE_ERROR_INVALID_STATE,
  PRES_WIRE_ERROR_INVALID_ID,
  PRES_WIRE_ERROR_TOO_LARGE,
} PresWireError;

GQuark      pres_wire_error_quark (void);
const char *pres_wire_error_code_to_string (PresWireError code);

/* The body of PUT /v1/instances/{id}. */
typedef struct
{
  PresState state;           /* online, idle, busy, appear_offline: offline is a leave */
  char *session;             /* random per agent run */
  guint64 seq;               /* grows per message within a session */
  gint64 last_input_seconds; /* -1 = absent */
  char *status_text;         /* this and the following: NULL = absent */
  char *host;
  char *version;
  char *device_family;
  char *model_identifier;
  char *mode;
  char *reason;
  char *data;     /* the member's data, a compact JSON object; NULL = absent */
  gint64 ttl_ms;  /* the member's own grace; PRES_HEARTBEAT_TTL_ABSENT = the server's */
} PresHeartbeat;

#define PRES_HEARTBEAT_TTL_ABSENT G_MININT64

/* The optional body of DELETE /v1/instances/{id}: {"reason": "…", "data": {…}},
 * both optional.  *reason and *data (compact JSON) are left NULL when absent. */
gboolean pres_leave_body_parse (const char *body,
                                gsize       length,
                                char      **reason,
                                char      **data,
                                GError    **error);

PresHeartbeat *pres_heartbeat_new (void);
PresHeartbeat *pres_heartbeat_copy (const PresHeartbeat *hb);
void           pres_heartbeat_free (PresHeartbeat *hb);
char          *pres_heartbeat_to_json (const PresHeartbeat *hb);
PresHeartbeat *pres_heartbeat_parse (const char *data,
                                     gsize       length,
                                     GError    **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresHeartbeat, pres_heartbeat_free)

/* The 200 reply to a heartbeat: the participant's public state across all
 * devices and the server's timers, which the client must follow. */
typedef struct
{
  char *participant_id;
  PresState state;
  guint ttl_ms;
  guint interval_ms;
} PresHeartbeatReply;

PresHeartbeatReply *pres_heartbeat_reply_new (void);
void                pres_heartbeat_reply_free (PresHeartbeatReply *reply);
char               *pres_heartbeat_reply_to_json (const PresHeartbeatReply *reply);
PresHeartbeatReply *pres_heartbeat_reply_parse (const char *data,
                                                gsize       length,
                                                GError    **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresHeartbeatReply, pres_heartbeat_reply_free)

/* {"error": {"code": CODE, "message": MESSAGE}} */
char    *pres_wire_error_to_json (const char *code,
                                  const char *message);
gboolean pres_wire_error_parse (const char *data,
                                gsize       length,
                                char      **code,
                                char      **message);

/* Whether data holds one JSON object and nothing after it but whitespace,
 * its escapes well-formed (a \u surrogate only in a pair).  json-glib 1.6
 * takes "{…}{…}" as the last of the two and leaks the first, and leaks at
 * each malformed \u escape: a text must be refused before it gets there. */
gboolean pres_wire_is_one_object (const char *data,
                                  gsize       length);

/* Appends TEXT as a quoted JSON string, escaping what JSON requires. */
void pres_wire_append_json_string (GString    *out,
                                   const char *text);

/* Instance ids are case-insensitive: valid when they match
 * [a-z0-9._:-]{1,128} after lower-casing. */
gboolean pres_instance_id_is_valid (const char *id);
/* The canonical (lower-case) form of a valid id, or NULL with INVALID_ID. */
char    *pres_instance_id_normalize (const char *id,
                                    GError    **error);

G_END_DECLS
