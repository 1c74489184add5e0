#pragma once

#include <json-glib/json-glib.h>

#include "pres-openclaw-identity.h"
#include "pres-wire.h"

G_BEGIN_DECLS

/* The gateway's wire protocol this client speaks (research/openclaw.md). */
#define PRES_OPENCLAW_PROTOCOL 4
#define PRES_OPENCLAW_CLIENT_ID "openclaw-linux"
#define PRES_OPENCLAW_PLATFORM "linux"
#define PRES_OPENCLAW_DEVICE_FAMILY "Linux"

/* hello-ok is ~20 KB and every "presence" event carries the whole roster
 * (up to 200 rows): far above libsoup's 128 KiB default in a big team, yet
 * a bound, since everything here comes from the network. */
#define PRES_OPENCLAW_MAX_FRAME_BYTES (8 * 1024 * 1024)

/*
 * The two connections of one desktop, with the same device key. The node
 * connection is the desktop's row in the gateway's roster (keyed by the
 * device id) and reports its input activity; the operator connection sends
 * the presence beacons into that row, in the client mode the gateway keeps
 * no row for, so that it adds none of its own.
 */
typedef enum
{
  PRES_OPENCLAW_ROLE_OPERATOR,
  PRES_OPENCLAW_ROLE_NODE,
} PresOpenclawRole;

const char *pres_openclaw_role_to_string (PresOpenclawRole role);
/* The client.mode each role connects with. */
const char *pres_openclaw_role_mode (PresOpenclawRole role);
/* What the operator asks for: read needs no explanation, admin is what
 * system-event requires. A node asks for none. */
const char *const *pres_openclaw_role_scopes (PresOpenclawRole role);

/* The v3 string the device signs: every field joined with "|". TOKEN is the
 * one sent in auth ("" for none); platform and family are lowercased. */
char *pres_openclaw_signature_payload (const char *device_id,
                                       PresOpenclawRole role,
                                       gint64 signed_at,
                                       const char *token,
                                       const char *nonce);

typedef struct
{
  PresOpenclawRole role;
  /* A node that reports system-wide input activity declares the
   * permission the gateway asks for it (accessibility); nothing else. */
  gboolean declare_activity;
  const char *request_id;
  const char *instance_id;
  const char *display_name;     /* NULL: not shared */
  const char *model_identifier; /* NULL: not shared */
  const char *token;            /* the shared gateway token, or NULL */
  const char *device_token;     /* used only when TOKEN is NULL */
  const char *nonce;            /* from connect.challenge */
  gint64 signed_at;             /* the challenge's ts, in the gateway's clock */
} PresOpenclawConnect;

char *pres_openclaw_build_connect (const PresOpenclawConnect *connect,
                                   PresOpenclawIdentity *identity);

/* The beacon's text: always starts with "Node:" (any other text becomes a
 * message in the user's agent session) and never matches the gateway's
 * text parser, so only the explicit fields count. */
char *pres_openclaw_beacon_text (const char *mode, const PresHeartbeat *hb);
/* DEVICE_ID keys the beacon into the node connection's row (or, without
 * one, makes it the desktop's only row); MODE is that row's. */
char *pres_openclaw_build_system_event (const char *request_id,
                                        const char *device_id,
                                        const char *mode,
                                        const PresHeartbeat *hb);

typedef enum
{
  PRES_OPENCLAW_FRAME_EVENT,
  PRES_OPENCLAW_FRAME_RESPONSE,
} PresOpenclawFrameKind;

typedef struct
{
  PresOpenclawFrameKind kind;
  char *event;       /* events */
  char *id;          /* responses */
  gboolean ok;       /* responses */
  JsonNode *payload; /* NULL when absent */
  JsonObject *error; /* responses with ok false: never NULL then */
} PresOpenclawFrame;

/* Checks the frame's shape and types; the payload is left for the caller,
 * which must check it in turn. */
PresOpenclawFrame *pres_openclaw_frame_parse (const char *data, gsize length, GError **error);
void pres_openclaw_frame_free (PresOpenclawFrame *frame);

/* connect.challenge: the nonce to sign and the gateway's clock (ms). */
gboolean
pres_openclaw_parse_challenge (JsonNode *payload, char **nonce, gint64 *ts, GError **error);

/* hello-ok: the deviceToken to keep (NULL when none) and the tick period. */
void pres_openclaw_parse_hello (JsonNode *payload, char **device_token, guint *tick_ms);

/* A string member of OBJECT, NULL when absent, of another type or longer
 * than MAX_BYTES. */
const char *pres_openclaw_get_string (JsonObject *object, const char *member, gsize max_bytes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresOpenclawFrame, pres_openclaw_frame_free)

G_END_DECLS
