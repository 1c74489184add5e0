#define G_LOG_DOMAIN "pres-openclaw"

#include "pres-openclaw-node-frames.h"

#include "pres-error.h"
#include "pres-openclaw-frames.h"

/*
 * The node side of the gateway protocol: the activity report the gateway
 * picks its active computer by, and the node pairing it must approve
 * first. What comes back is checked member by member: a gateway (or what
 * poses as one) may send anything, and only a few bounded fields matter.
 */

#define MAX_REQUEST_ID_BYTES 128
#define MAX_REASON_BYTES 64
/* More pending requests than anyone approves by hand. */
#define MAX_PAIRING_ENTRIES 1000

static char *
finish (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);

  return json_to_string (root, FALSE);
}

static void
begin_request (JsonBuilder *builder, const char *request_id, const char *method)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "type");
  json_builder_add_string_value (builder, "req");
  json_builder_set_member_name (builder, "id");
  json_builder_add_string_value (builder, request_id);
  json_builder_set_member_name (builder, "method");
  json_builder_add_string_value (builder, method);
  json_builder_set_member_name (builder, "params");
  json_builder_begin_object (builder);
}

static void
end_request (JsonBuilder *builder)
{
  json_builder_end_object (builder);
  json_builder_end_object (builder);
}

char *
pres_openclaw_build_request (const char *request_id, const char *method)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  begin_request (builder, request_id, method);
  end_request (builder);
  return finish (builder);
}

static char *
activity_payload (gint64 idle_seconds)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  if (idle_seconds < 0)
    {
      json_builder_set_member_name (builder, "action");
      json_builder_add_string_value (builder, "clear");
    }
  else
    {
      json_builder_set_member_name (builder, "idleSeconds");
      json_builder_add_int_value (builder, MIN (idle_seconds, PRES_OPENCLAW_MAX_IDLE_SECONDS));
      /* System-wide input, seen by the compositor: the source the gateway
       * accepts from any platform that declared the permission. */
      json_builder_set_member_name (builder, "source");
      json_builder_add_string_value (builder, "system");
      if (idle_seconds >= PRES_OPENCLAW_MAX_IDLE_SECONDS)
        {
          json_builder_set_member_name (builder, "saturated");
          json_builder_add_boolean_value (builder, TRUE);
        }
    }
  json_builder_end_object (builder);
  return finish (builder);
}

char *
pres_openclaw_build_activity (const char *request_id, gint64 idle_seconds)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autofree char *payload = activity_payload (idle_seconds);

  begin_request (builder, request_id, "node.event");
  json_builder_set_member_name (builder, "event");
  json_builder_add_string_value (builder, "node.presence.activity");
  /* The gateway's own nodes send the payload as a JSON string. */
  json_builder_set_member_name (builder, "payloadJSON");
  json_builder_add_string_value (builder, payload);
  end_request (builder);
  return finish (builder);
}

static JsonObject *
get_object (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
get_array (JsonObject *object, const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static gboolean
get_boolean (JsonObject *object, const char *member, gboolean *value)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return FALSE;
  *value = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
malformed (GError **error, const char *what)
{
  g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED, "The gateway sent a malformed %s", what);
  return FALSE;
}

static gboolean
is_printable_word (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-' && *p != '.')
      return FALSE;
  return *text != '\0';
}

gboolean
pres_openclaw_parse_event_result (JsonNode *payload,
                                  gboolean *handled,
                                  char **reason,
                                  GError **error)
{
  JsonObject *object = get_object (payload);
  const char *said;

  if (object == NULL || !get_boolean (object, "handled", handled))
    return malformed (error, "node event result");
  said = pres_openclaw_get_string (object, "reason", MAX_REASON_BYTES);
  *reason = said != NULL && is_printable_word (said) ? g_strdup (said) : NULL;
  return TRUE;
}

gboolean
pres_openclaw_request_id_is_safe (const char *request_id)
{
  if (request_id == NULL || *request_id == '\0' || strlen (request_id) > MAX_REQUEST_ID_BYTES)
    return FALSE;
  for (const char *p = request_id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

/* The entry of ARRAY for NODE_ID, looking at no more than a bounded
 * number of entries. */
static JsonObject *
find_node (JsonArray *array, const char *node_id)
{
  guint n = array ? MIN (json_array_get_length (array), MAX_PAIRING_ENTRIES) : 0;

  for (guint i = 0; i < n; i++)
    {
      JsonObject *entry = get_object (json_array_get_element (array, i));

      if (g_strcmp0 (pres_openclaw_get_string (entry, "nodeId", 128), node_id) == 0)
        return entry;
    }
  return NULL;
}

PresOpenclawPairing
pres_openclaw_parse_pairing_list (JsonNode *payload,
                                  const char *node_id,
                                  char **request_id,
                                  GError **error)
{
  JsonObject *object = get_object (payload);
  JsonArray *pending = get_array (object, "pending");
  JsonArray *paired = get_array (object, "paired");
  JsonObject *entry;
  const char *id;

  *request_id = NULL;
  if (pending == NULL || paired == NULL)
    {
      malformed (error, "node pairing list");
      return PRES_OPENCLAW_PAIRING_UNKNOWN;
    }
  /* A pending request is what the user must act on, even beside an older
   * approval (a node that now declares more). */
  entry = find_node (pending, node_id);
  if (entry != NULL)
    {
      id = pres_openclaw_get_string (entry, "requestId", MAX_REQUEST_ID_BYTES);
      if (!pres_openclaw_request_id_is_safe (id))
        {
          malformed (error, "node pairing request id");
          return PRES_OPENCLAW_PAIRING_UNKNOWN;
        }
      *request_id = g_strdup (id);
      return PRES_OPENCLAW_PAIRING_PENDING;
    }
  return find_node (paired, node_id) != NULL ? PRES_OPENCLAW_PAIRING_APPROVED
                                             : PRES_OPENCLAW_PAIRING_UNKNOWN;
}

gboolean
pres_openclaw_parse_pairing_resolved (JsonNode *payload, const char *node_id)
{
  JsonObject *object = get_object (payload);

  return g_strcmp0 (pres_openclaw_get_string (object, "nodeId", 128), node_id) == 0
         && g_strcmp0 (pres_openclaw_get_string (object, "decision", 32), "approved") == 0;
}
