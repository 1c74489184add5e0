#define G_LOG_DOMAIN "pres-wire"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "pres-wire.h"
#include "pres-wire-data.h"

G_DEFINE_QUARK (pres-wire-error-quark, pres_wire_error)

static const char *const error_codes[] = {
  [PRES_WIRE_ERROR_INVALID_JSON] = "invalid_json",
  [PRES_WIRE_ERROR_INVALID_FIELD] = "invalid_field",
  [PRES_WIRE_ERROR_INVALID_STATE] = "invalid_state",
  [PRES_WIRE_ERROR_INVALID_ID] = "invalid_id",
  [PRES_WIRE_ERROR_TOO_LARGE] = "too_large",
};

const char *
pres_wire_error_code_to_string (PresWireError code)
{
  g_return_val_if_fail (code < G_N_ELEMENTS (error_codes), "invalid_field");
  return error_codes[code];
}

static gboolean
is_json_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static gboolean
read_hex4 (const char *data,
           gsize       length,
           gsize       at,
           guint      *out)
{
  *out = 0;
  if (at + 4 > length)
    return FALSE;
  for (gsize i = at; i < at + 4; i++)
    {
      int digit = g_ascii_xdigit_value (data[i]);

      if (digit < 0)
        return FALSE;
      *out = *out << 4 | digit;
    }
  return TRUE;
}

/* The escape at data[*i] (a backslash) is one JSON allows, with a \u
 * surrogate only as the first of a pair; *i is left on its last byte.
 * json-glib 1.6 leaks a string at each malformed \u escape, and decodes a
 * lone surrogate into bytes that are not UTF-8. */
static gboolean
escape_is_valid (const char *data,
                 gsize       length,
                 gsize      *i)
{
  guint unit, low;

  if (*i + 1 >= length)
    return FALSE;
  if (strchr ("\"\\/bfnrt", data[*i + 1]) != NULL && data[*i + 1] != '\0')
    {
      *i += 1;
      return TRUE;
    }
  if (data[*i + 1] != 'u' || !read_hex4 (data, length, *i + 2, &unit) ||
      (unit >= 0xdc00 && unit <= 0xdfff))
    return FALSE;
  *i += 5;
  if (unit < 0xd800 || unit > 0xdbff)
    return TRUE;
  if (*i + 2 >= length || data[*i + 1] != '\\' || data[*i + 2] != 'u' ||
      !read_hex4 (data, length, *i + 3, &low) || low < 0xdc00 || low > 0xdfff)
    return FALSE;
  *i += 6;
  return TRUE;
}

gboolean
pres_wire_is_one_object (const char *data,
                         gsize       length)
{
  gsize i = 0, depth = 0;
  gboolean in_string = FALSE;

  while (i < length && is_json_space (data[i]))
    i++;
  if (i == length || data[i] != '{')
    return FALSE;
  /* Where the first value ends: brackets outside strings. */
  for (; i < length; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '\\' && !escape_is_valid (data, length, &i))
            return FALSE;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        depth++;
      else if ((c == '}' || c == ']') && --depth == 0)
        break;
    }
  for (i++; i < length; i++)
    {
      if (!is_json_space (data[i]))
        return FALSE;
    }
  return depth == 0;
}

/* The body must be a bounded, valid UTF-8 JSON object.  g_utf8_validate also
 * rejects an embedded NUL, which json-glib would otherwise stop at. */
static JsonObject *
parse_object (const char *data,
              gsize       length,
              JsonParser *parser,
              GError    **error)
{
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;

  if (length > PRES_WIRE_MAX_BODY_BYTES)
    {
      g_set_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_TOO_LARGE,
                   "body: at most %d bytes are allowed, got %" G_GSIZE_FORMAT,
                   PRES_WIRE_MAX_BODY_BYTES, length);
      return NULL;
    }
  if (data == NULL || !g_utf8_validate (data, length, NULL))
    {
      g_set_error_literal (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_JSON,
                           "body: must be UTF-8 JSON");
      return NULL;
    }
  /* json-glib would decode \u0000 and the C string would end there, so a
   * field could pass validation as a shorter string than was sent. */
  if (g_strstr_len (data, length, "\\u0000") != NULL)
    {
      g_set_error_literal (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_JSON,
                           "body: NUL characters (\\u0000) are not allowed");
      return NULL;
    }
  if (!pres_wire_is_one_object (data, length))
    {
      g_set_error_literal (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_JSON,
                           "body: must be one JSON object (with valid escapes), and nothing "
                           "after it");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, length, &local_error))
    {
      /* json-glib quotes the offending text cut at a byte count, maybe
       * inside a character: the message goes into JSON and to D-Bus. */
      g_autofree char *why = g_utf8_make_valid (local_error->message, -1);

      g_set_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_JSON,
                   "body: not valid JSON: %s", why);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_JSON,
                           "body: must be a JSON object");
      return NULL;
    }
  return json_node_get_object (root);
}

static gboolean
has_control_chars (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return TRUE;
  return FALSE;
}

/* Every field error names the field first, so that a client can tell which
 * one to fix. */
static gboolean G_GNUC_PRINTF (3, 4)
set_field_error (GError    **error,
                 const char *name,
                 const char *format,
                 ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  va_start (args, format);
  detail = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_FIELD, "%s: %s", name, detail);
  return FALSE;
}

/* Finds member NAME, which must hold a scalar of VALUE_TYPE (TYPE_NAME in the
 * error).  A null member counts as absent; when absent and not REQUIRED, *out
 * is NULL and the caller keeps its default. */
static gboolean
get_value_node (JsonObject *object,
                const char *name,
                gboolean    required,
                GType       value_type,
                const char *type_name,
                JsonNode  **out,
                GError    **error)
{
  JsonNode *node = json_object_get_member (object, name);

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (required)
        return set_field_error (error, name, "required");
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != value_type)
    return set_field_error (error, name, "must be %s", type_name);
  *out = node;
  return TRUE;
}

/* Reads an optional string member into *out (left NULL when absent or null).
 * Strings are shown to people and stored: bounded, no control characters. */
static gboolean
get_string (JsonObject *object,
            const char *name,
            gboolean    required,
            gsize       max_chars,
            char      **out,
            GError    **error)
{
  JsonNode *node;
  const char *text;

  if (!get_value_node (object, name, required, G_TYPE_STRING, "a string", &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  text = json_node_get_string (node);
  /* The body was UTF-8, but json-glib decodes an escaped lone surrogate
   * ("\ud83d") into bytes that are not: stored, they would break the JSON
   * of every reply that shows them. */
  if (!g_utf8_validate (text, -1, NULL))
    return set_field_error (error, name, "must be valid UTF-8 (an escaped lone surrogate is not)");
  if (required && *text == '\0')
    return set_field_error (error, name, "must not be empty");
  /* A field bounded in characters (status text) is bounded by them alone:
   * 140 characters of CJK are 420 bytes and must pass whole.  The body's
   * own bound keeps the count cheap. */
  if (max_chars > 0)
    {
      if ((gsize) g_utf8_strlen (text, -1) > max_chars)
        return set_field_error (error, name, "at most %" G_GSIZE_FORMAT " characters are allowed",
                                max_chars);
    }
  else if (strlen (text) > PRES_WIRE_MAX_STRING_BYTES)
    return set_field_error (error, name, "at most %d bytes are allowed",
                            PRES_WIRE_MAX_STRING_BYTES);
  if (has_control_chars (text))
    return set_field_error (error, name, "control characters are not allowed");
  *out = g_strdup (text);
  return TRUE;
}

/* Integers only: json-glib reads 1.5 or 1e3 as a double, which is rejected. */
static gboolean
get_int (JsonObject *object,
         const char *name,
         gboolean    required,
         gint64      min,
         gint64      max,
         gint64     *out,
         GError    **error)
{
  JsonNode *node;
  gint64 value;

  if (!get_value_node (object, name, required, G_TYPE_INT64, "an integer", &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  value = json_node_get_int (node);
  if (value < min || value > max)
    return set_field_error (error, name,
                            "must be between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT, min, max);
  *out = value;
  return TRUE;
}

/* Writes node as compact JSON, in one pass with the checks (depth 1 is the
 * data object itself); NULL when it could, else what was wrong. Strings are
 * escaped as pres_wire_append_json_string() does: control characters never
 * appear raw, so a stored value cannot hold a separator. A number too large
 * for a double (1e400) is refused: it would be written as "inf", which no
 * subscriber could read. */
static const char TOO_DEEP[] = "too deep";

static const char *
append_compact (GString  *out,
                JsonNode *node,
                guint     depth)
{
  char number[G_ASCII_DTOSTR_BUF_SIZE];
  gboolean first = TRUE;
  const char *problem;

  if (depth > PRES_WIRE_MAX_DATA_DEPTH)
    return TOO_DEEP;
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        g_string_append_c (out, '{');
        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            pres_wire_append_json_string (out, name);
            g_string_append_c (out, ':');
            if ((problem = append_compact (out, member, depth + 1)) != NULL)
              return problem;
          }
        g_string_append_c (out, '}');
        return NULL;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            if ((problem = append_compact (out, json_array_get_element (array, i), depth + 1))
                != NULL)
              return problem;
          }
        g_string_append_c (out, ']');
        return NULL;
      }
    case JSON_NODE_NULL:
      g_string_append (out, "null");
      return NULL;
    case JSON_NODE_VALUE:
      break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      if (!isfinite (json_node_get_double (node)))
        return "numbers must be finite (1e400 is not)";
      g_string_append (out, g_ascii_dtostr (number, sizeof number, json_node_get_double (node)));
      break;
    case G_TYPE_BOOLEAN:
      g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
      break;
    default:
      pres_wire_append_json_string (out, json_node_get_string (node));
      break;
    }
  return NULL;
}

/* Application data is stored and sent to every subscriber as the server
 * wrote it: compact, so the bound is on what is kept, not on the spacing
 * a client chose. */
static gboolean
get_data (JsonObject *object,
          const char *name,
          char      **out,
          GError    **error)
{
  JsonNode *node = json_object_get_member (object, name);
  g_autoptr (GString) text = NULL;
  const char *problem;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return set_field_error (error, name, "must be a JSON object");
  text = g_string_sized_new (256);
  problem = append_compact (text, node, 1);
  if (problem == TOO_DEEP)
    return set_field_error (error, name, "at most %d levels of nesting are allowed",
                            PRES_WIRE_MAX_DATA_DEPTH);
  if (problem != NULL)
    return set_field_error (error, name, "%s", problem);
  if (text->len > PRES_WIRE_MAX_DATA_BYTES)
    {
      g_set_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_TOO_LARGE,
                   "%s: at most %d bytes of JSON are allowed, got %" G_GSIZE_FORMAT, name,
                   PRES_WIRE_MAX_DATA_BYTES, text->len);
      return FALSE;
    }
  *out = g_string_free (g_steal_pointer (&text), FALSE);
  return TRUE;
}

static gboolean
get_state (JsonObject *object,
           gboolean    allow_offline,
           PresState  *out,
           GError    **error)
{
  g_autofree char *text = NULL;
  const char *allowed = allow_offline
                          ? "online, idle, busy, appear_offline, offline"
                          : "online, idle, busy, appear_offline";

  if (!get_string (object, "state", TRUE, 0, &text, error))
    return FALSE;
  if (!pres_state_from_string (text, out) || (!allow_offline && *out == PRES_STATE_OFFLINE))
    {
      g_set_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_STATE,
                   "state: must be one of %s", allowed);
      return FALSE;
    }
  return TRUE;
}

PresHeartbeat *
pres_heartbeat_new (void)
{
  PresHeartbeat *hb = g_new0 (PresHeartbeat, 1);

  hb->state = PRES_STATE_ONLINE;
  hb->last_input_seconds = -1;
  hb->ttl_ms = PRES_HEARTBEAT_TTL_ABSENT;
  return hb;
}

PresHeartbeat *
pres_heartbeat_copy (const PresHeartbeat *hb)
{
  PresHeartbeat *copy = g_memdup2 (hb, sizeof *hb);

  copy->session = g_strdup (hb->session);
  copy->status_text = g_strdup (hb->status_text);
  copy->host = g_strdup (hb->host);
  copy->version = g_strdup (hb->version);
  copy->device_family = g_strdup (hb->device_family);
  copy->model_identifier = g_strdup (hb->model_identifier);
  copy->mode = g_strdup (hb->mode);
  copy->reason = g_strdup (hb->reason);
  copy->data = g_strdup (hb->data);
  return copy;
}

void
pres_heartbeat_free (PresHeartbeat *hb)
{
  if (hb == NULL)
    return;
  g_free (hb->session);
  g_free (hb->status_text);
  g_free (hb->host);
  g_free (hb->version);
  g_free (hb->device_family);
  g_free (hb->model_identifier);
  g_free (hb->mode);
  g_free (hb->reason);
  g_free (hb->data);
  g_free (hb);
}

static void
append_string_member (GString    *out,
                      const char *name,
                      const char *value)
{
  if (value == NULL)
    return;
  g_string_append_printf (out, ",\"%s\":", name);
  pres_wire_append_json_string (out, value);
}

char *
pres_heartbeat_to_json (const PresHeartbeat *hb)
{
  GString *out = g_string_sized_new (256);

  g_return_val_if_fail (hb != NULL, NULL);

  g_string_append (out, "{\"state\":");
  pres_wire_append_json_string (out, pres_state_to_string (hb->state));
  append_string_member (out, "session", hb->session != NULL ? hb->session : "");
  g_string_append_printf (out, ",\"seq\":%" G_GUINT64_FORMAT, hb->seq);
  if (hb->last_input_seconds >= 0)
    g_string_append_printf (out, ",\"last_input_seconds\":%" G_GINT64_FORMAT,
                            hb->last_input_seconds);
  append_string_member (out, "status_text", hb->status_text);
  append_string_member (out, "host", hb->host);
  append_string_member (out, "version", hb->version);
  append_string_member (out, "device_family", hb->device_family);
  append_string_member (out, "model_identifier", hb->model_identifier);
  append_string_member (out, "mode", hb->mode);
  append_string_member (out, "reason", hb->reason);
  if (hb->ttl_ms != PRES_HEARTBEAT_TTL_ABSENT)
    g_string_append_printf (out, ",\"ttl_ms\":%" G_GINT64_FORMAT, hb->ttl_ms);
  if (hb->data != NULL)
    g_string_append_printf (out, ",\"data\":%s", hb->data);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/* Unknown members are ignored so that newer agents can add optional fields. */
PresHeartbeat *
pres_heartbeat_parse (const char *data,
                      gsize       length,
                      GError    **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (PresHeartbeat) hb = pres_heartbeat_new ();
  g_autoptr (GString) fast_data = NULL;
  char rest[PRES_WIRE_MAX_BODY_BYTES + sizeof "null"];
  JsonObject *object;
  gint64 seq = 0;
  gsize start, end;

  /* Data of the common form is read here, and json-glib reads (and checks)
   * the rest with "data":null in its place. */
  if (data != NULL && length <= PRES_WIRE_MAX_BODY_BYTES
      && g_strstr_len (data, length, "\"data\"") != NULL
      && pres_wire_data_take (data, length, &start, &end, &fast_data) && fast_data != NULL)
    {
      /* "null" is at most two bytes longer than the value it stands for. */
      memcpy (rest, data, start);
      memcpy (rest + start, "null", 4);
      memcpy (rest + start + 4, data + end, length - end);
      length = start + 4 + (length - end);
      data = rest;
    }
  object = parse_object (data, length, parser, error);
  if (object == NULL)
    return NULL;

  if (!get_state (object, FALSE, &hb->state, error) ||
      !get_string (object, "session", TRUE, 0, &hb->session, error) ||
      !get_int (object, "seq", TRUE, 0, G_MAXINT64, &seq, error) ||
      !get_int (object, "last_input_seconds", FALSE, 0, G_MAXINT32, &hb->last_input_seconds,
                error) ||
      !get_string (object, "status_text", FALSE, PRES_STATUS_TEXT_MAX_CHARS, &hb->status_text,
                   error) ||
      !get_string (object, "host", FALSE, 0, &hb->host, error) ||
      !get_string (object, "version", FALSE, 0, &hb->version, error) ||
      !get_string (object, "device_family", FALSE, 0, &hb->device_family, error) ||
      !get_string (object, "model_identifier", FALSE, 0, &hb->model_identifier, error) ||
      !get_string (object, "mode", FALSE, 0, &hb->mode, error) ||
      !get_string (object, "reason", FALSE, 0, &hb->reason, error) ||
      /* Any integer here: the server's bounds are checked, and named, by it. */
      !get_int (object, "ttl_ms", FALSE, G_MININT64 + 1, G_MAXINT64, &hb->ttl_ms, error) ||
      !get_data (object, "data", &hb->data, error))
    return NULL;
  hb->seq = (guint64) seq;
  if (fast_data != NULL)
    hb->data = g_string_free (g_steal_pointer (&fast_data), FALSE);

  return g_steal_pointer (&hb);
}

gboolean
pres_leave_body_parse (const char *body,
                       gsize       length,
                       char      **reason,
                       char      **data,
                       GError    **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autofree char *reason_text = NULL;
  g_autofree char *data_text = NULL;
  JsonObject *object;

  *reason = NULL;
  *data = NULL;
  object = parse_object (body, length, parser, error);
  if (object == NULL || !get_string (object, "reason", FALSE, 0, &reason_text, error) ||
      !get_data (object, "data", &data_text, error))
    return FALSE;
  *reason = g_steal_pointer (&reason_text);
  *data = g_steal_pointer (&data_text);
  return TRUE;
}

PresHeartbeatReply *
pres_heartbeat_reply_new (void)
{
  return g_new0 (PresHeartbeatReply, 1);
}

void
pres_heartbeat_reply_free (PresHeartbeatReply *reply)
{
  if (reply == NULL)
    return;
  g_free (reply->participant_id);
  g_free (reply);
}

char *
pres_heartbeat_reply_to_json (const PresHeartbeatReply *reply)
{
  GString *out = g_string_sized_new (128);

  g_return_val_if_fail (reply != NULL, NULL);

  g_string_append (out, "{\"participant_id\":");
  pres_wire_append_json_string (out, reply->participant_id != NULL ? reply->participant_id : "");
  g_string_append (out, ",\"state\":");
  pres_wire_append_json_string (out, pres_state_to_string (reply->state));
  g_string_append_printf (out, ",\"ttl_ms\":%u,\"interval_ms\":%u}", reply->ttl_ms,
                          reply->interval_ms);
  return g_string_free (out, FALSE);
}

/* A reply comes from a server the agent does not control: the timers are
 * bounded so that a broken server cannot make the agent spin or go silent. */
PresHeartbeatReply *
pres_heartbeat_reply_parse (const char *data,
                            gsize       length,
                            GError    **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (PresHeartbeatReply) reply = pres_heartbeat_reply_new ();
  JsonObject *object;
  gint64 ttl_ms = 0, interval_ms = 0;

  object = parse_object (data, length, parser, error);
  if (object == NULL)
    return NULL;

  if (!get_string (object, "participant_id", TRUE, 0, &reply->participant_id, error) ||
      !get_state (object, TRUE, &reply->state, error) ||
      !get_int (object, "ttl_ms", TRUE, PRES_WIRE_MIN_TIMER_MS, PRES_WIRE_MAX_TIMER_MS, &ttl_ms,
                error) ||
      !get_int (object, "interval_ms", TRUE, PRES_WIRE_MIN_TIMER_MS, PRES_WIRE_MAX_TIMER_MS,
                &interval_ms, error))
    return NULL;
  reply->ttl_ms = (guint) ttl_ms;
  reply->interval_ms = (guint) interval_ms;

  return g_steal_pointer (&reply);
}

char *
pres_wire_error_to_json (const char *code,
                         const char *message)
{
  GString *out = g_string_sized_new (128);

  g_string_append (out, "{\"error\":{\"code\":");
  pres_wire_append_json_string (out, code != NULL ? code : "");
  g_string_append (out, ",\"message\":");
  pres_wire_append_json_string (out, message != NULL ? message : "");
  g_string_append (out, "}}");
  return g_string_free (out, FALSE);
}

gboolean
pres_wire_error_parse (const char *data,
                       gsize       length,
                       char      **code,
                       char      **message)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autofree char *code_text = NULL;
  g_autofree char *message_text = NULL;
  JsonObject *object;
  JsonNode *node;

  object = parse_object (data, length, parser, NULL);
  if (object == NULL)
    return FALSE;
  node = json_object_get_member (object, "error");
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  object = json_node_get_object (node);
  if (!get_string (object, "code", TRUE, 0, &code_text, NULL) ||
      !get_string (object, "message", FALSE, 0, &message_text, NULL))
    return FALSE;

  if (code != NULL)
    *code = g_steal_pointer (&code_text);
  if (message != NULL)
    *message = message_text != NULL ? g_steal_pointer (&message_text) : g_strdup ("");
  return TRUE;
}

void
pres_wire_append_json_string (GString    *out,
                              const char *text)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) text; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (char) *p);
        }
    }
  g_string_append_c (out, '"');
}

static gboolean
is_id_char (char c)
{
  return g_ascii_isalnum (c) || c == '.' || c == '_' || c == ':' || c == '-';
}

gboolean
pres_instance_id_is_valid (const char *id)
{
  gsize i;

  if (id == NULL)
    return FALSE;
  for (i = 0; id[i] != '\0'; i++)
    if (i >= PRES_WIRE_MAX_ID_BYTES || !is_id_char (id[i]))
      return FALSE;
  return i > 0;
}

char *
pres_instance_id_normalize (const char *id,
                            GError    **error)
{
  if (!pres_instance_id_is_valid (id))
    {
      g_set_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_ID,
                   "instance_id: must match [a-z0-9._:-]{1,%d} (case-insensitive)",
                   PRES_WIRE_MAX_ID_BYTES);
      return NULL;
    }
  return g_ascii_strdown (id, -1);
}
