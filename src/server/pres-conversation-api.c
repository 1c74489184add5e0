#define G_LOG_DOMAIN "pres-server"

#include <json-glib/json-glib.h>
#include <string.h>

#include "pres-http-api-private.h"

/* POST /v1/conversations {"a": "<id>", "b": "<id>", "at_ms": T}: the chat
 * platform says that A and B talked at T (wall clock, ms since the epoch;
 * absent: now).  For the conversation window from T each sees through the
 * other's appear_offline.  Only an admin token may say so: a participant
 * could otherwise grant itself a view of anyone. */

#define CONVERSATIONS_PATH "/v1/conversations"
/* Two ids of at most 128 bytes and a time fit well within this. */
#define MAX_BODY_BYTES 1024
/* How far ahead of this server's clock the platform's may run. */
#define FUTURE_SLACK_MS 5000

typedef struct
{
  const char *a, *b;
  gint64 at_ms;
} ConversationBody;

static gboolean
fail (GError **error, const char *message)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, message);
  return FALSE;
}

static gboolean
get_id (JsonObject *object, const char *name, const char **out, GError **error)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL)
    return fail (error, name[0] == 'a' ? "a: required, a participant id"
                                       : "b: required, a participant id");
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return fail (error, name[0] == 'a' ? "a: must be a string" : "b: must be a string");
  *out = json_node_get_string (node);
  if (!pres_participant_id_is_valid (*out))
    return fail (error, name[0] == 'a' ? "a: must match [A-Za-z0-9._:@-]{1,128}"
                                       : "b: must match [A-Za-z0-9._:@-]{1,128}");
  return TRUE;
}

/* object: the parsed body; its strings stay owned by it. */
static gboolean
body_parse (JsonObject *object, gint64 now_ms, ConversationBody *out, GError **error)
{
  g_autoptr (GList) names = json_object_get_members (object);
  JsonNode *at;

  for (GList *l = names; l != NULL; l = l->next)
    if (!g_str_equal (l->data, "a") && !g_str_equal (l->data, "b")
        && !g_str_equal (l->data, "at_ms"))
      return fail (error, "body: only \"a\", \"b\" and \"at_ms\" are allowed");
  if (!get_id (object, "a", &out->a, error) || !get_id (object, "b", &out->b, error))
    return FALSE;
  if (g_str_equal (out->a, out->b))
    return fail (error, "b: must differ from a");
  at = json_object_get_member (object, "at_ms");
  out->at_ms = now_ms;
  if (at == NULL)
    return TRUE;
  /* json-glib reads 1.5 or 1e3 as a double: integers only. */
  if (!JSON_NODE_HOLDS_VALUE (at) || json_node_get_value_type (at) != G_TYPE_INT64
      || json_node_get_int (at) < 0)
    return fail (error, "at_ms: must be a non-negative integer (ms since the epoch)");
  out->at_ms = json_node_get_int (at);
  return TRUE;
}

static void
recorded_cb (gint64 at_ms, gint64 expires_at_ms, const GError *error, gpointer user_data)
{
  g_autoptr (Pending) pending = user_data;
  GString *out;

  pres_api_pending_answered (pending, PRES_METRICS_STORE_HEARTBEAT);
  if (error != NULL)
    {
      pres_api_reply_unavailable (pending->self, pending->req, error);
      return;
    }
  out = g_string_new ("{\"a\":");
  pres_wire_append_json_string (out, pending->ids->pdata[0]);
  g_string_append (out, ",\"b\":");
  pres_wire_append_json_string (out, pending->ids->pdata[1]);
  g_string_append_printf (out,
                          ",\"at_ms\":%" G_GINT64_FORMAT ",\"expires_at_ms\":%" G_GINT64_FORMAT "}",
                          at_ms, expires_at_ms);
  pres_api_reply_json (pending->req, 200, g_string_free (out, FALSE));
}

static void
handle_post (PresHttpApi *self, PresHttpRequest *req)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) error = NULL;
  gint64 now_ms = g_get_real_time () / 1000;
  ConversationBody body;
  gsize length;
  const char *data = pres_http_request_get_body (req, &length);
  JsonNode *root;
  Pending *pending;

  if (length > MAX_BODY_BYTES)
    {
      pres_api_reply_error (self, req, 413, "too_large",
                            "body: at most " G_STRINGIFY (MAX_BODY_BYTES) " bytes are allowed");
      return;
    }
  /* As every body: valid UTF-8 without NUL, one object and nothing after. */
  if (data == NULL || !g_utf8_validate (data, length, NULL)
      || g_strstr_len (data, length, "\\u0000") != NULL || !pres_wire_is_one_object (data, length)
      || !json_parser_load_from_data (parser, data, length, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      pres_api_reply_error (self, req, 400, "invalid_json",
                            "body: must be one JSON object of UTF-8 text");
      return;
    }
  if (!body_parse (json_node_get_object (root), now_ms, &body, &error))
    {
      pres_api_reply_error (self, req, 400, "invalid_field", error->message);
      return;
    }
  if (body.at_ms > now_ms + FUTURE_SLACK_MS)
    {
      pres_api_reply_error (self, req, 400, "invalid_field",
                            "at_ms: in the future of this server's clock");
      return;
    }
  if (body.at_ms + self->conversation_window_ms <= now_ms)
    {
      pres_api_reply_error (self, req, 400, "invalid_field",
                            "at_ms: older than the conversation window, it would grant nothing");
      return;
    }
  pending = pres_api_pending_new (self, req, NULL);
  pending->ids = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (pending->ids, g_strdup (body.a));
  g_ptr_array_add (pending->ids, g_strdup (body.b));
  pres_store_record_conversation (self->store, body.a, body.b, body.at_ms,
                                  body.at_ms + self->conversation_window_ms, recorded_cb, pending);
}

void
pres_conversation_api_cb (PresHttpServer *server, PresHttpRequest *req, gpointer user_data)
{
  PresHttpApi *self = user_data;
  PresIdentity identity;

  if (!g_str_equal (pres_http_request_get_path (req), CONVERSATIONS_PATH))
    {
      pres_api_reply_error (self, req, 404, "not_found", "no such endpoint");
      return;
    }
  if (!pres_api_authorize (self, req, &identity))
    return;
  if (!identity.admin)
    {
      pres_api_reply_error (self, req, 403, "forbidden",
                            CONVERSATIONS_PATH ": only an admin (platform) token may record "
                                               "conversations");
      return;
    }
  if (!g_str_equal (pres_http_request_get_method (req), "POST"))
    {
      pres_api_reply_method_not_allowed (self, req, CONVERSATIONS_PATH, "POST");
      return;
    }
  handle_post (self, req);
}
