#define G_LOG_DOMAIN "pres-server"

#include "pres-auth.h"
#include "pres-member-event.h"
#include "pres-stream-message.h"
#include "pres-stream.h"

static gboolean
parse_events (JsonNode *node, guint *events, GError **error)
{
  JsonArray *array;

  *events = 0;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    goto invalid;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      PresMemberAction action;

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING
          || !pres_member_action_from_string (json_node_get_string (element), &action))
        goto invalid;
      *events |= 1u << action;
    }
  return TRUE;

invalid:
  g_set_error_literal (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_FIELD,
                       "events: must be an array of \"enter\", \"update\" and \"leave\"");
  return FALSE;
}

static gboolean
parse_sub_fields (JsonObject *object, GPtrArray *ids, const char **cursor, guint *events,
                  GError **error)
{
  JsonNode *node = json_object_get_member (object, "ids");
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error_literal (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_FIELD,
                           "ids: must be an array of participant ids");
      return FALSE;
    }
  array = json_node_get_array (node);
  if (json_array_get_length (array) > PRES_STREAM_MAX_IDS)
    {
      g_set_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_FIELD,
                   "ids: at most %d ids are allowed", PRES_STREAM_MAX_IDS);
      return FALSE;
    }
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (element) || json_node_get_value_type (element) != G_TYPE_STRING
          || !pres_participant_id_is_valid (json_node_get_string (element)))
        {
          g_set_error_literal (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_ID,
                               "ids: each must match [A-Za-z0-9._:@-]{1,128}");
          return FALSE;
        }
      g_ptr_array_add (ids, (gpointer)json_node_get_string (element));
    }

  node = json_object_get_member (object, "cursor");
  *cursor = NULL;
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_STRING)
    *cursor = json_node_get_string (node);
  else if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      g_set_error_literal (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_FIELD,
                           "cursor: must be a string");
      return FALSE;
    }
  return parse_events (json_object_get_member (object, "events"), events, error);
}

gboolean
pres_stream_message_parse_sub (JsonParser *parser,
                               PresWebSocketDataType type,
                               const char *data,
                               gsize length,
                               GPtrArray *ids,
                               const char **cursor,
                               guint *events,
                               GError **error)
{
  JsonNode *root, *op;

  if (type != PRES_WEBSOCKET_TEXT || !g_utf8_validate (data, length, NULL)
      || !pres_wire_is_one_object (data, length)
      || !json_parser_load_from_data (parser, data, length, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_JSON,
                           "message: must be a JSON object in a text frame");
      return FALSE;
    }
  op = json_object_get_member (json_node_get_object (root), "op");
  if (op == NULL || !JSON_NODE_HOLDS_VALUE (op) || json_node_get_value_type (op) != G_TYPE_STRING
      || !g_str_equal (json_node_get_string (op), "sub"))
    {
      g_set_error_literal (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_FIELD,
                           "op: must be \"sub\"");
      return FALSE;
    }
  return parse_sub_fields (json_node_get_object (root), ids, cursor, events, error);
}
