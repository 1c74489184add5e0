#define G_LOG_DOMAIN "pres-openclaw"

#include "config.h"

#include "pres-openclaw-frames.h"

#include "pres-error.h"

/*
 * Frames of the OpenClaw gateway protocol 4: requests {type:"req", id,
 * method, params}, responses {type:"res", id, ok, payload|error} and events
 * {type:"event", event, payload}. The gateway's schemas are closed: a member
 * it does not know fails the whole request, so only documented members are
 * ever sent.
 */

#define MAX_NAME_BYTES 128
#define MAX_NONCE_BYTES 256
#define MAX_DEVICE_TOKEN_BYTES 1024

static const char *const operator_scopes[] = { "operator.read", "operator.admin", NULL };
static const char *const node_scopes[] = { NULL };

const char *
pres_openclaw_role_to_string (PresOpenclawRole role)
{
  return role == PRES_OPENCLAW_ROLE_NODE ? "node" : "operator";
}

/* "cli" is one of the modes the gateway treats as a passing client and
 * keeps out of the roster. */
const char *
pres_openclaw_role_mode (PresOpenclawRole role)
{
  return role == PRES_OPENCLAW_ROLE_NODE ? "node" : "cli";
}

const char *const *
pres_openclaw_role_scopes (PresOpenclawRole role)
{
  return role == PRES_OPENCLAW_ROLE_NODE ? node_scopes : operator_scopes;
}

char *
pres_openclaw_signature_payload (const char *device_id,
                                 PresOpenclawRole role,
                                 gint64 signed_at,
                                 const char *token,
                                 const char *nonce)
{
  g_autofree char *scope_list = g_strjoinv (",", (char **)pres_openclaw_role_scopes (role));
  g_autofree char *platform = g_ascii_strdown (PRES_OPENCLAW_PLATFORM, -1);
  g_autofree char *family = g_ascii_strdown (PRES_OPENCLAW_DEVICE_FAMILY, -1);

  return g_strdup_printf ("v3|%s|%s|%s|%s|%s|%" G_GINT64_FORMAT "|%s|%s|%s|%s", device_id,
                          PRES_OPENCLAW_CLIENT_ID, pres_openclaw_role_mode (role),
                          pres_openclaw_role_to_string (role), scope_list, signed_at,
                          token ? token : "", nonce, platform, family);
}

static void
add_string (JsonBuilder *builder, const char *member, const char *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (builder, member);
  json_builder_add_string_value (builder, value);
}

static void
add_string_array (JsonBuilder *builder, const char *member, const char *const *values)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (guint i = 0; values[i] != NULL; i++)
    json_builder_add_string_value (builder, values[i]);
  json_builder_end_array (builder);
}

static char *
to_text (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);

  return json_to_string (root, FALSE);
}

char *
pres_openclaw_build_connect (const PresOpenclawConnect *connect, PresOpenclawIdentity *identity)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  const char *token = connect->token ? connect->token : connect->device_token;
  const char *const none[] = { NULL };
  g_autofree char *payload = NULL;
  g_autofree char *signature = NULL;

  payload
    = pres_openclaw_signature_payload (pres_openclaw_identity_get_id (identity), connect->role,
                                       connect->signed_at, token, connect->nonce);
  signature = pres_openclaw_identity_sign (identity, payload);
  explicit_bzero (payload, strlen (payload));

  json_builder_begin_object (builder);
  add_string (builder, "type", "req");
  add_string (builder, "id", connect->request_id);
  add_string (builder, "method", "connect");
  json_builder_set_member_name (builder, "params");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "minProtocol");
  json_builder_add_int_value (builder, PRES_OPENCLAW_PROTOCOL);
  json_builder_set_member_name (builder, "maxProtocol");
  json_builder_add_int_value (builder, PRES_OPENCLAW_PROTOCOL);

  json_builder_set_member_name (builder, "client");
  json_builder_begin_object (builder);
  add_string (builder, "id", PRES_OPENCLAW_CLIENT_ID);
  add_string (builder, "version", PACKAGE_VERSION);
  add_string (builder, "platform", PRES_OPENCLAW_PLATFORM);
  add_string (builder, "mode", pres_openclaw_role_mode (connect->role));
  add_string (builder, "deviceFamily", PRES_OPENCLAW_DEVICE_FAMILY);
  add_string (builder, "displayName", connect->display_name);
  add_string (builder, "instanceId", connect->instance_id);
  add_string (builder, "modelIdentifier", connect->model_identifier);
  json_builder_end_object (builder);

  add_string (builder, "role", pres_openclaw_role_to_string (connect->role));
  add_string_array (builder, "scopes", pres_openclaw_role_scopes (connect->role));
  /* A node that names no capability nor command is asked for none: the
   * agent can run nothing on the gateway's behalf. */
  add_string_array (builder, "caps", none);
  if (connect->role == PRES_OPENCLAW_ROLE_NODE)
    {
      add_string_array (builder, "commands", none);
      if (connect->declare_activity)
        {
          json_builder_set_member_name (builder, "permissions");
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "accessibility");
          json_builder_add_boolean_value (builder, TRUE);
          json_builder_end_object (builder);
        }
    }
  add_string (builder, "userAgent", "presence-agent/" PACKAGE_VERSION);

  /* The signature covers the token actually sent, so exactly one goes. */
  json_builder_set_member_name (builder, "auth");
  json_builder_begin_object (builder);
  if (connect->token != NULL)
    add_string (builder, "token", connect->token);
  else
    add_string (builder, "deviceToken", connect->device_token);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "device");
  json_builder_begin_object (builder);
  add_string (builder, "id", pres_openclaw_identity_get_id (identity));
  add_string (builder, "publicKey", pres_openclaw_identity_get_public_key (identity));
  add_string (builder, "signature", signature);
  json_builder_set_member_name (builder, "signedAt");
  json_builder_add_int_value (builder, connect->signed_at);
  add_string (builder, "nonce", connect->nonce);
  json_builder_end_object (builder);

  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return to_text (builder);
}

/* Text meant for a one-line display: no control characters, and none of
 * the separators the gateway's own text format uses. */
static void
append_clean (GString *out, const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c) || c == 0x00B7 || c == '(' || c == ')')
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
    }
}

/*
 * Our states in the gateway's terms: the protocol has no state field, so
 * online and idle show only as lastInputSeconds (the gateway's own notion);
 * busy is said in the text ("state busy", with the status text); and
 * appear_offline sends no input time and clears the one sent before, with
 * nothing in the text that says the user is there.
 */
char *
pres_openclaw_beacon_text (const char *mode, const PresHeartbeat *hb)
{
  GString *text = g_string_new ("Node: ");

  append_clean (text, hb->host ? hb->host : "linux");
  g_string_append (text, " · app presence-agent " PACKAGE_VERSION);
  if (hb->last_input_seconds >= 0)
    g_string_append_printf (text, " · last input %" G_GINT64_FORMAT "s ago",
                            hb->last_input_seconds);
  g_string_append_printf (text, " · mode %s", mode);
  if (hb->state != PRES_STATE_APPEAR_OFFLINE)
    {
      g_string_append_printf (text, " · state %s", pres_state_to_string (hb->state));
      if (hb->status_text != NULL)
        {
          g_string_append (text, " · status ");
          append_clean (text, hb->status_text);
        }
    }
  if (hb->reason != NULL)
    {
      g_string_append (text, " · reason ");
      append_clean (text, hb->reason);
    }
  return g_string_free (text, FALSE);
}

char *
pres_openclaw_build_system_event (const char *request_id,
                                  const char *device_id,
                                  const char *mode,
                                  const PresHeartbeat *hb)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autofree char *text = pres_openclaw_beacon_text (mode, hb);

  json_builder_begin_object (builder);
  add_string (builder, "type", "req");
  add_string (builder, "id", request_id);
  add_string (builder, "method", "system-event");
  json_builder_set_member_name (builder, "params");
  json_builder_begin_object (builder);
  add_string (builder, "text", text);
  /* The node's row carries the device id as its instanceId: the same one
   * here keeps the row from changing it back and forth. */
  add_string (builder, "deviceId", device_id);
  add_string (builder, "instanceId", device_id);
  add_string (builder, "host", hb->host);
  add_string (builder, "mode", mode);
  add_string (builder, "version", hb->version);
  add_string (builder, "platform", PRES_OPENCLAW_PLATFORM);
  add_string (builder, "deviceFamily", hb->device_family);
  add_string (builder, "modelIdentifier", hb->model_identifier);
  if (hb->last_input_seconds >= 0)
    {
      json_builder_set_member_name (builder, "lastInputSeconds");
      json_builder_add_int_value (builder, hb->last_input_seconds);
    }
  else
    {
      /* An absent field keeps its old value in the gateway's row: this tag
       * is the only way to take back an input time sent earlier. */
      json_builder_set_member_name (builder, "tags");
      json_builder_begin_array (builder);
      json_builder_add_string_value (builder, "system-presence-clear-last-input");
      json_builder_end_array (builder);
    }
  add_string (builder, "reason", hb->reason);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  return to_text (builder);
}

const char *
pres_openclaw_get_string (JsonObject *object, const char *member, gsize max_bytes)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;
  const char *value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  value = json_node_get_string (node);
  if (strlen (value) > max_bytes)
    return NULL;
  return value;
}

void
pres_openclaw_frame_free (PresOpenclawFrame *frame)
{
  if (frame == NULL)
    return;
  g_free (frame->event);
  g_free (frame->id);
  g_clear_pointer (&frame->payload, json_node_unref);
  g_clear_pointer (&frame->error, json_object_unref);
  g_free (frame);
}

static gboolean
bad_frame (GError **error, const char *what)
{
  g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED, "Unexpected frame from the gateway: %s", what);
  return FALSE;
}

PresOpenclawFrame *
pres_openclaw_frame_parse (const char *data, gsize length, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (PresOpenclawFrame) frame = g_new0 (PresOpenclawFrame, 1);
  JsonObject *object;
  JsonNode *node;
  const char *type;

  if (length > PRES_OPENCLAW_MAX_FRAME_BYTES)
    return bad_frame (error, "too large"), NULL;
  if (!g_utf8_validate_len (data, length, NULL))
    return bad_frame (error, "not UTF-8"), NULL;
  if (!pres_wire_is_one_object (data, length) ||
      !json_parser_load_from_data (parser, data, length, NULL))
    return bad_frame (error, "not JSON"), NULL;
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return bad_frame (error, "not an object"), NULL;
  object = json_node_get_object (node);

  type = pres_openclaw_get_string (object, "type", MAX_NAME_BYTES);
  if (g_strcmp0 (type, "event") == 0)
    {
      const char *name = pres_openclaw_get_string (object, "event", MAX_NAME_BYTES);

      if (name == NULL)
        return bad_frame (error, "an event without a name"), NULL;
      frame->kind = PRES_OPENCLAW_FRAME_EVENT;
      frame->event = g_strdup (name);
    }
  else if (g_strcmp0 (type, "res") == 0)
    {
      const char *id = pres_openclaw_get_string (object, "id", MAX_NAME_BYTES);

      node = json_object_get_member (object, "ok");
      if (id == NULL || node == NULL || !JSON_NODE_HOLDS_VALUE (node)
          || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
        return bad_frame (error, "a response without an id or ok"), NULL;
      frame->kind = PRES_OPENCLAW_FRAME_RESPONSE;
      frame->id = g_strdup (id);
      frame->ok = json_node_get_boolean (node);
      if (!frame->ok)
        {
          node = json_object_get_member (object, "error");
          /* A failure that does not say why is still a failure. */
          frame->error = node != NULL && JSON_NODE_HOLDS_OBJECT (node)
                           ? json_object_ref (json_node_get_object (node))
                           : json_object_new ();
        }
    }
  else
    return bad_frame (error, "unknown type"), NULL;

  node = json_object_get_member (object, "payload");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    frame->payload = json_node_ref (node);
  return g_steal_pointer (&frame);
}

static gint64
get_int (JsonObject *object, const char *member, gint64 fallback)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return fallback;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_INT64)
    return json_node_get_int (node);
  if (type == G_TYPE_DOUBLE)
    {
      double value = json_node_get_double (node);

      if (value >= 0 && value < 9.0e15)
        return (gint64)value;
    }
  return fallback;
}

static JsonObject *
get_object (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

gboolean
pres_openclaw_parse_challenge (JsonNode *payload, char **nonce, gint64 *ts, GError **error)
{
  JsonObject *object = get_object (payload);
  const char *value = pres_openclaw_get_string (object, "nonce", MAX_NONCE_BYTES);
  gint64 when = get_int (object, "ts", -1);

  if (value == NULL || *value == '\0' || strchr (value, '|') != NULL)
    return bad_frame (error, "a challenge without a usable nonce");
  if (when <= 0)
    return bad_frame (error, "a challenge without a time");
  *nonce = g_strdup (value);
  *ts = when;
  return TRUE;
}

void
pres_openclaw_parse_hello (JsonNode *payload, char **device_token, guint *tick_ms)
{
  JsonObject *object = get_object (payload);
  JsonObject *auth = object ? get_object (json_object_get_member (object, "auth")) : NULL;
  JsonObject *policy = object ? get_object (json_object_get_member (object, "policy")) : NULL;
  const char *token = pres_openclaw_get_string (auth, "deviceToken", MAX_DEVICE_TOKEN_BYTES);
  gint64 tick = get_int (policy, "tickIntervalMs", 30000);

  *device_token = token != NULL && *token != '\0' ? g_strdup (token) : NULL;
  *tick_ms = (guint)CLAMP (tick, 1000, 10 * 60 * 1000);
}
