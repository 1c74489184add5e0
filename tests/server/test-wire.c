#include <string.h>

#include "pres-wire.h"
#include "pres-wire-data.h"

static PresHeartbeat *
parse (const char *json,
       GError    **error)
{
  return pres_heartbeat_parse (json, strlen (json), error);
}

static void
test_heartbeat_roundtrip (void)
{
  g_autoptr (PresHeartbeat) hb = pres_heartbeat_new ();
  g_autoptr (PresHeartbeat) back = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;

  hb->state = PRES_STATE_BUSY;
  hb->session = g_strdup ("4f1c");
  hb->seq = 17;
  hb->last_input_seconds = 12;
  hb->status_text = g_strdup ("In a \"meeting\" — ünïcode\\");
  hb->host = g_strdup ("lena-laptop");
  hb->reason = g_strdup ("periodic");

  json = pres_heartbeat_to_json (hb);
  back = pres_heartbeat_parse (json, strlen (json), &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->state, ==, PRES_STATE_BUSY);
  g_assert_cmpstr (back->session, ==, "4f1c");
  g_assert_cmpuint (back->seq, ==, 17);
  g_assert_cmpint (back->last_input_seconds, ==, 12);
  g_assert_cmpstr (back->status_text, ==, hb->status_text);
  g_assert_cmpstr (back->host, ==, "lena-laptop");
  g_assert_cmpstr (back->reason, ==, "periodic");
  g_assert_null (back->version);
  g_assert_null (back->mode);
}

static void
test_heartbeat_optional_absent (void)
{
  g_autoptr (PresHeartbeat) hb = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;

  hb = parse ("{\"state\":\"appear_offline\",\"session\":\"s\",\"seq\":0,\"future\":[1]}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (hb->state, ==, PRES_STATE_APPEAR_OFFLINE);
  g_assert_cmpint (hb->last_input_seconds, ==, -1);
  g_assert_null (hb->host);

  /* Privacy: absent fields stay absent on the wire. */
  json = pres_heartbeat_to_json (hb);
  g_assert_null (strstr (json, "last_input_seconds"));
  g_assert_null (strstr (json, "host"));
}

typedef struct
{
  const char *json;
  PresWireError code;
  const char *field; /* the error message must name it */
} BadCase;

static void
check_bad_cases (const BadCase *cases,
                 gsize          n_cases)
{
  for (gsize i = 0; i < n_cases; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (PresHeartbeat) hb = parse (cases[i].json, &error);
      g_autofree char *escaped = g_strescape (cases[i].json, NULL);

      g_test_message ("input: %s", escaped);
      g_assert_null (hb);
      g_assert_error (error, PRES_WIRE_ERROR, (int) cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].field));
    }
}

static void
test_heartbeat_malformed (void)
{
  static const BadCase cases[] = {
    { "", PRES_WIRE_ERROR_INVALID_JSON, "body" },
    { "{", PRES_WIRE_ERROR_INVALID_JSON, "body" },
    { "{\"state\":\"online\",", PRES_WIRE_ERROR_INVALID_JSON, "body" },
    { "[]", PRES_WIRE_ERROR_INVALID_JSON, "body" },
    { "\"online\"", PRES_WIRE_ERROR_INVALID_JSON, "body" },
    { "null", PRES_WIRE_ERROR_INVALID_JSON, "body" },
    { "42", PRES_WIRE_ERROR_INVALID_JSON, "body" },
    { "{\"state\":\"online\"} trailing", PRES_WIRE_ERROR_INVALID_JSON, "body" },
    { "\xff\xfe{}", PRES_WIRE_ERROR_INVALID_JSON, "body" },
  };

  check_bad_cases (cases, G_N_ELEMENTS (cases));
}

static void
test_heartbeat_embedded_nul (void)
{
  static const char data[] = "{\"state\":\"online\",\"session\":\"s\0x\",\"seq\":1}";
  g_autoptr (GError) error = NULL;
  g_autoptr (PresHeartbeat) hb = pres_heartbeat_parse (data, sizeof data - 1, &error);

  g_assert_null (hb);
  g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_JSON);
}

static void
test_heartbeat_wrong_types (void)
{
  static const BadCase cases[] = {
    { "{\"state\":1,\"session\":\"s\",\"seq\":1}", PRES_WIRE_ERROR_INVALID_FIELD, "state" },
    { "{\"state\":[\"online\"],\"session\":\"s\",\"seq\":1}", PRES_WIRE_ERROR_INVALID_FIELD, "state" },
    { "{\"state\":\"online\",\"session\":{},\"seq\":1}", PRES_WIRE_ERROR_INVALID_FIELD, "session" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":\"1\"}", PRES_WIRE_ERROR_INVALID_FIELD, "seq" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1.5}", PRES_WIRE_ERROR_INVALID_FIELD, "seq" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":true}", PRES_WIRE_ERROR_INVALID_FIELD, "seq" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":-1}", PRES_WIRE_ERROR_INVALID_FIELD, "seq" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"last_input_seconds\":\"5\"}", PRES_WIRE_ERROR_INVALID_FIELD, "last_input_seconds" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"last_input_seconds\":-3}", PRES_WIRE_ERROR_INVALID_FIELD, "last_input_seconds" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"host\":5}", PRES_WIRE_ERROR_INVALID_FIELD, "host" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"status_text\":[]}", PRES_WIRE_ERROR_INVALID_FIELD, "status_text" },
    { "{\"session\":\"s\",\"seq\":1}", PRES_WIRE_ERROR_INVALID_FIELD, "state" },
    { "{\"state\":\"online\",\"seq\":1}", PRES_WIRE_ERROR_INVALID_FIELD, "session" },
    { "{\"state\":\"online\",\"session\":\"\",\"seq\":1}", PRES_WIRE_ERROR_INVALID_FIELD, "session" },
    { "{\"state\":\"online\",\"session\":\"s\"}", PRES_WIRE_ERROR_INVALID_FIELD, "seq" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"data\":\"x\"}", PRES_WIRE_ERROR_INVALID_FIELD, "data" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"data\":[1]}", PRES_WIRE_ERROR_INVALID_FIELD, "data" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"data\":7}", PRES_WIRE_ERROR_INVALID_FIELD, "data" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"ttl_ms\":\"5000\"}", PRES_WIRE_ERROR_INVALID_FIELD, "ttl_ms" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"ttl_ms\":5000.5}", PRES_WIRE_ERROR_INVALID_FIELD, "ttl_ms" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"ttl_ms\":{}}", PRES_WIRE_ERROR_INVALID_FIELD, "ttl_ms" },
  };

  check_bad_cases (cases, G_N_ELEMENTS (cases));
}

static void
test_heartbeat_unknown_state (void)
{
  static const BadCase cases[] = {
    { "{\"state\":\"away\",\"session\":\"s\",\"seq\":1}", PRES_WIRE_ERROR_INVALID_STATE, "state" },
    { "{\"state\":\"ONLINE\",\"session\":\"s\",\"seq\":1}", PRES_WIRE_ERROR_INVALID_STATE, "state" },
    /* offline is a leave, never a heartbeat */
    { "{\"state\":\"offline\",\"session\":\"s\",\"seq\":1}", PRES_WIRE_ERROR_INVALID_STATE, "state" },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (PresHeartbeat) hb = parse (cases[0].json, &error);

  check_bad_cases (cases, G_N_ELEMENTS (cases));
  /* The message says what is allowed. */
  g_assert_nonnull (strstr (error->message, "online, idle, busy, appear_offline"));
}

static void
test_heartbeat_oversize (void)
{
  g_autoptr (GString) json = g_string_new ("{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"x\":\"");
  g_autoptr (GString) field = g_string_new (NULL);
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (PresHeartbeat) hb = NULL;

  while (json->len <= PRES_WIRE_MAX_BODY_BYTES)
    g_string_append_c (json, 'a');
  g_string_append (json, "\"}");
  hb = pres_heartbeat_parse (json->str, json->len, &error);
  g_assert_null (hb);
  g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* A string of 257 bytes */
  g_string_append (field, "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"host\":\"");
  for (int i = 0; i < PRES_WIRE_MAX_STRING_BYTES + 1; i++)
    g_string_append_c (field, 'h');
  g_string_append (field, "\"}");
  hb = pres_heartbeat_parse (field->str, field->len, &error);
  g_assert_null (hb);
  g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_FIELD);
  g_assert_nonnull (strstr (error->message, "host"));
  g_clear_error (&error);

  /* 141 characters of status text (two bytes each: under the byte bound) */
  g_string_append (text, "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"status_text\":\"");
  for (int i = 0; i < PRES_STATUS_TEXT_MAX_CHARS + 1; i++)
    g_string_append (text, "é");
  g_string_append (text, "\"}");
  hb = pres_heartbeat_parse (text->str, text->len, &error);
  g_assert_null (hb);
  g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_FIELD);
  g_assert_nonnull (strstr (error->message, "status_text"));
}

static void
test_heartbeat_control_chars (void)
{
  static const BadCase cases[] = {
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"status_text\":\"a\\nb\"}", PRES_WIRE_ERROR_INVALID_FIELD, "status_text" },
    { "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"host\":\"a\\u0007\"}", PRES_WIRE_ERROR_INVALID_FIELD, "host" },
    { "{\"state\":\"online\",\"session\":\"s\\u0000x\",\"seq\":1}", PRES_WIRE_ERROR_INVALID_JSON, "\\u0000" },
  };

  check_bad_cases (cases, G_N_ELEMENTS (cases));
}

static void
test_reply_roundtrip (void)
{
  g_autoptr (PresHeartbeatReply) reply = pres_heartbeat_reply_new ();
  g_autoptr (PresHeartbeatReply) back = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;

  reply->participant_id = g_strdup ("lena");
  reply->state = PRES_STATE_APPEAR_OFFLINE;
  reply->ttl_ms = 75000;
  reply->interval_ms = 30000;
  json = pres_heartbeat_reply_to_json (reply);
  g_assert_cmpstr (json, ==, "{\"participant_id\":\"lena\",\"state\":\"appear_offline\",\"ttl_ms\":75000,\"interval_ms\":30000}");
  back = pres_heartbeat_reply_parse (json, strlen (json), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->participant_id, ==, "lena");
  g_assert_cmpint (back->state, ==, PRES_STATE_APPEAR_OFFLINE);
  g_assert_cmpuint (back->ttl_ms, ==, 75000);
  g_assert_cmpuint (back->interval_ms, ==, 30000);
}

static void
test_reply_hostile (void)
{
  static const char *const cases[] = {
    "garbage",
    "{}",
    "{\"participant_id\":\"a\",\"state\":\"online\",\"ttl_ms\":75000}",
    "{\"participant_id\":\"a\",\"state\":\"online\",\"ttl_ms\":75000,\"interval_ms\":0}",
    "{\"participant_id\":\"a\",\"state\":\"online\",\"ttl_ms\":75000,\"interval_ms\":99}",
    "{\"participant_id\":\"a\",\"state\":\"online\",\"ttl_ms\":-1,\"interval_ms\":30000}",
    "{\"participant_id\":\"a\",\"state\":\"online\",\"ttl_ms\":86400001,\"interval_ms\":30000}",
    "{\"participant_id\":\"a\",\"state\":\"zzz\",\"ttl_ms\":75000,\"interval_ms\":30000}",
    "{\"participant_id\":1,\"state\":\"online\",\"ttl_ms\":75000,\"interval_ms\":30000}",
    "{\"participant_id\":\"a\",\"state\":\"online\",\"ttl_ms\":\"75000\",\"interval_ms\":30000}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (PresHeartbeatReply) reply =
        pres_heartbeat_reply_parse (cases[i], strlen (cases[i]), &error);

      g_test_message ("input: %s", cases[i]);
      g_assert_null (reply);
      g_assert_error (error, PRES_WIRE_ERROR, error->code);
    }
}

static void
test_error_roundtrip (void)
{
  g_autofree char *json = pres_wire_error_to_json ("invalid_state", "state: \"x\" is not a state");
  g_autofree char *code = NULL;
  g_autofree char *message = NULL;

  g_assert_true (pres_wire_error_parse (json, strlen (json), &code, &message));
  g_assert_cmpstr (code, ==, "invalid_state");
  g_assert_cmpstr (message, ==, "state: \"x\" is not a state");
  g_clear_pointer (&message, g_free);
  g_clear_pointer (&json, g_free);
  json = pres_wire_error_to_json ("too_large", "body: too big");
  g_assert_true (pres_wire_error_parse (json, strlen (json), NULL, &message));
  g_assert_cmpstr (message, ==, "body: too big");

  g_assert_false (pres_wire_error_parse ("{}", 2, NULL, NULL));
  g_assert_false (pres_wire_error_parse ("{\"error\":\"x\"}", 13, NULL, NULL));
  g_assert_false (pres_wire_error_parse ("nope", 4, NULL, NULL));
}

static void
test_instance_id (void)
{
  static const char *const good[] = { "a", "Laptop-1", "host.example:0_x", "0123456789" };
  static const char *const bad[] = { "", "a b", "a/b", "é", "a\n", "%41", "a?b" };
  g_autofree char *long_id = g_strnfill (129, 'a');
  g_autofree char *max_id = g_strnfill (128, 'a');
  g_autofree char *norm = NULL;
  g_autoptr (GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (pres_instance_id_is_valid (good[i]));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (pres_instance_id_is_valid (bad[i]));
  g_assert_false (pres_instance_id_is_valid (NULL));
  g_assert_false (pres_instance_id_is_valid (long_id));
  g_assert_true (pres_instance_id_is_valid (max_id));

  norm = pres_instance_id_normalize ("Laptop-ABC", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (norm, ==, "laptop-abc");
  g_assert_null (pres_instance_id_normalize ("a/b", &error));
  g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_ID);
  g_assert_nonnull (strstr (error->message, "instance_id"));
}

/* The one rule of status text: 140 characters whatever their bytes (up
 * to four each), never 141. */
static void
test_heartbeat_status_text_characters (void)
{
  const char *chars[] = { "a", "é", "日", "😀" };

  for (guint c = 0; c < G_N_ELEMENTS (chars); c++)
    {
      for (guint n = PRES_STATUS_TEXT_MAX_CHARS; n <= PRES_STATUS_TEXT_MAX_CHARS + 1; n++)
        {
          g_autoptr (GString) json =
            g_string_new ("{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"status_text\":\"");
          g_autoptr (GString) text = g_string_new (NULL);
          g_autoptr (GError) error = NULL;
          g_autoptr (PresHeartbeat) hb = NULL;

          for (guint i = 0; i < n; i++)
            g_string_append (text, chars[c]);
          g_string_append (json, text->str);
          g_string_append (json, "\"}");
          hb = pres_heartbeat_parse (json->str, json->len, &error);
          if (n == PRES_STATUS_TEXT_MAX_CHARS)
            {
              g_assert_no_error (error);
              g_assert_cmpstr (hb->status_text, ==, text->str);
            }
          else
            {
              g_assert_null (hb);
              g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_FIELD);
              g_assert_cmpstr (error->message, ==,
                               "status_text: at most 140 characters are allowed");
            }
        }
    }
}

/* json-glib decodes a lone surrogate escape followed by another escape
 * (\ud83d\") into bytes that are not UTF-8, and cuts the text it quotes
 * in a parse error inside a character: neither may reach a stored field
 * or an error message. */
static void
test_heartbeat_invalid_utf8 (void)
{
  const char *lone = "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"host\":\"\\ud83d\\\"x\"}";
  g_autoptr (GString) cut = g_string_new ("{\"state\":\"online\",\"session\":\"");
  g_autoptr (GError) error = NULL;
  g_autoptr (PresHeartbeat) hb = pres_heartbeat_parse (lone, strlen (lone), &error);

  g_assert_null (hb);
  g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_JSON);
  g_assert_nonnull (strstr (error->message, "valid escapes"));
  g_clear_error (&error);

  for (guint i = 0; i < 100; i++)
    g_string_append (cut, "é");
  g_string_append_c (cut, '\x01');
  hb = pres_heartbeat_parse (cut->str, cut->len, &error);
  g_assert_null (hb);
  g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_JSON);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

/* One object and nothing after it: json-glib would take the last of two
 * concatenated objects, and leak the first. */
static void
test_one_object (void)
{
  const char *one[] = { "{\"a\":\"\\ud83d\\ude00\\u00e9\\n\\/\"}", "{}", " {\"a\":[1,{\"b\":\"}\"}]}\n", "{\"a\":\"\\\"}\"}" };
  const char *more[] = { "{\"a\":\"\\ud83d\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud83d\\u0041\"}",
                         "{\"a\":\"\\u12\"}", "{\"a\":\"\\x\"}", "{}{}", "{\"a\":1}\n{\"b\":2}", "{} x", "[{}]", "1", "", "{", "{\"a\":\"}",
                         "{}}" };
  const char *hb = "{\"state\":\"online\",\"session\":\"s\",\"seq\":1}"
                   "{\"state\":\"busy\",\"session\":\"t\",\"seq\":2}";
  g_autoptr (GError) error = NULL;
  g_autoptr (PresHeartbeat) parsed = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (one); i++)
    g_assert_true (pres_wire_is_one_object (one[i], strlen (one[i])));
  for (guint i = 0; i < G_N_ELEMENTS (more); i++)
    g_assert_false (pres_wire_is_one_object (more[i], strlen (more[i])));
  parsed = pres_heartbeat_parse (hb, strlen (hb), &error);
  g_assert_null (parsed);
  g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_JSON);
}

/* The data as the heartbeat reader keeps it, read under name. */
static char *
data_under (const char *name, const char *value, GError **error)
{
  g_autofree char *body = g_strdup_printf ("{\"state\":\"online\",\"session\":\"s\",\"seq\":1,"
                                           "\"%s\":%s}", name, value);
  g_autoptr (PresHeartbeat) hb = pres_heartbeat_parse (body, strlen (body), error);

  return hb != NULL ? g_strdup (hb->data != NULL ? hb->data : "(none)") : NULL;
}

/* Data of the common form is read by a fast reader of its own; under a
 * name spelt with an escape only json-glib reads it.  Both must keep the
 * same compact text and refuse the same things. */
static void
test_heartbeat_data_readers (void)
{
  const char *values[] = {
    "{}", "{ }", "{\"a\":1}", " {\n\t\"a\" :\r [ 1 , 2 , { \"b\" : null } ] } ",
    "{\"x\":\"é日本\",\"n\":-5,\"z\":0,\"t\":true,\"f\":false,\"e\":[],\"o\":{}}",
    "{\"a\":1,\"a\":2}", "{\"n\":1.5}", "{\"n\":-0}", "{\"n\":1e3}", "{\"s\":\"a\\\"b\\u00e9\"}",
    "{\"big\":1234567890123456789}", "{\"big\":123456789012345678}", "{\"n\":-12}",
    "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":1}}}}}}}",     /* 8 deep */
    "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":1}}}}}}}}", /* 9 deep */
    "{\"a\":[[[[[[[1]]]]]]]}", "{\"a\":[[[[[[[[1]]]]]]]]}", "[1]", "\"text\"", "7", "null",
    "{\"a\":01}", "{\"a\":tru}", "{\"a\" 1}", "{\"a\":1,}", "{,}",
    /* Past eight bytes, where strings are checked a word at a time: a
     * control character, a backslash, text that is not ASCII. */
    "{\"s\":\"abcdefghijklm\x01nopqrstu\"}", "{\"s\":\"abcdefghijkl\\\\mnopqrstu\"}",
    "{\"s\":\"abcdefghijklmnopq\u00e9rstu\"}", "{\"s\":\"abcdefghijklmnopq\x1frstuvw\"}",
    "{\"s\":\"abcdefghijklmnopq\x7frstuvw\"}", "{\"abcdefghijklmnopqrst\":\"\xe6\x97\xa5\xe6\x9c\xac\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr (GError) fast_error = NULL;
      g_autoptr (GError) full_error = NULL;
      g_autofree char *fast = data_under ("data", values[i], &fast_error);
      g_autofree char *full = data_under ("d\\u0061ta", values[i], &full_error);

      g_test_message ("%s → %s / %s", values[i], fast, full);
      g_assert_cmpstr (fast, ==, full);
      g_assert_true ((fast_error == NULL) == (full_error == NULL));
      /* The messages differ only in where json-glib saw an error: the
       * names are not of one length. */
      if (fast_error != NULL)
        g_assert_cmpint (fast_error->code, ==, full_error->code);
    }
}

/* The fast reader takes the common form itself and leaves the rest. */
static void
test_heartbeat_data_fast_reader (void)
{
  const char *taken = "{\"seq\":1,\"data\": { \"doc\" : \"plan — Q3\", \"n\": [1, -2] },\"x\":\"\\\"\"}";
  const char *left[] = {
    "{\"data\":{\"s\":\"a\\nb\"}}", "{\"data\":{\"n\":1.5}}", "{\"data\":[1]}",
    "{\"data\":{},\"data\":{}}", "{\"d\\u0061ta\":{}}", "{\"data\":{\"s\":\"\xff\"}}",
  };
  g_autoptr (GString) compact = NULL;
  gsize start = 0, end = 0;

  g_assert_true (pres_wire_data_take (taken, strlen (taken), &start, &end, &compact));
  g_assert_cmpstr (compact->str, ==, "{\"doc\":\"plan — Q3\",\"n\":[1,-2]}");
  g_assert_cmpint (taken[start], ==, '{');
  g_assert_cmpint (taken[end - 1], ==, '}');
  g_assert_cmpint (taken[end], ==, ',');
  g_string_free (g_steal_pointer (&compact), TRUE);
  g_assert_true (pres_wire_data_take ("{\"seq\":1}", 9, &start, &end, &compact));
  g_assert_null (compact);
  for (guint i = 0; i < G_N_ELEMENTS (left); i++)
    {
      g_assert_false (pres_wire_data_take (left[i], strlen (left[i]), &start, &end, &compact));
      g_assert_null (compact);
    }
}

static void
test_heartbeat_data (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PresHeartbeat) hb = NULL;
  g_autoptr (PresHeartbeat) back = NULL;
  g_autoptr (GString) big = g_string_new ("{\"state\":\"online\",\"session\":\"s\",\"seq\":1,");
  g_autoptr (GString) deep = g_string_new ("{\"state\":\"online\",\"session\":\"s\",\"seq\":1,");
  const char *huge;
  g_autofree char *json = NULL;

  /* Kept compact, whatever the spacing sent; ttl_ms as sent. */
  hb = parse ("{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"ttl_ms\":5000,"
              "\"data\": { \"typing\" : true, \"at\": [1, 2] }}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hb->data, ==, "{\"typing\":true,\"at\":[1,2]}");
  g_assert_cmpint (hb->ttl_ms, ==, 5000);
  json = pres_heartbeat_to_json (hb);
  back = parse (json, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->data, ==, hb->data);
  g_assert_cmpint (back->ttl_ms, ==, 5000);
  g_clear_pointer (&hb, pres_heartbeat_free);

  /* Every JSON type written back as JSON: escapes kept, control characters
   * never raw. */
  hb = parse ("{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"data\":{\"n\":-3,"
              "\"f\":1.5e3,\"s\":\"a\\\"\\\\\\u001f\u00e9\",\"b\":false,\"z\":null,\"o\":{}}}",
              &error);
  g_assert_no_error (error);
  g_assert_cmpstr (hb->data, ==,
                   "{\"n\":-3,\"f\":1500,\"s\":\"a\\\"\\\\\\u001f\u00e9\",\"b\":false,\"z\":null,"
                   "\"o\":{}}");
  g_clear_pointer (&hb, pres_heartbeat_free);

  /* Absent and null are the same. */
  hb = parse ("{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"data\":null}", &error);
  g_assert_no_error (error);
  g_assert_null (hb->data);
  g_assert_cmpint (hb->ttl_ms, ==, PRES_HEARTBEAT_TTL_ABSENT);
  g_clear_pointer (&hb, pres_heartbeat_free);

  /* 1 KiB of data at most: 413 with the limit named. */
  g_string_append (big, "\"data\":{\"v\":\"");
  for (guint i = 0; i < PRES_WIRE_MAX_DATA_BYTES - 8; i++)
    g_string_append_c (big, 'a');
  g_string_append (big, "\"}}");
  hb = pres_heartbeat_parse (big->str, big->len, &error);
  g_assert_no_error (error); /* {"v":"…"}: exactly 1024 bytes */
  g_assert_cmpuint (strlen (hb->data), ==, PRES_WIRE_MAX_DATA_BYTES);
  g_clear_pointer (&hb, pres_heartbeat_free);
  g_string_insert_c (big, big->len - 3, 'a');
  hb = pres_heartbeat_parse (big->str, big->len, &error);
  g_assert_null (hb);
  g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_TOO_LARGE);
  g_assert_true (g_str_has_prefix (error->message, "data: at most 1024 bytes"));
  g_clear_error (&error);

  /* A depth bomb within the body's 4 KiB. */
  g_string_append (deep, "\"data\":{\"a\":");
  for (guint i = 0; i < 1900; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 1900; i++)
    g_string_append_c (deep, ']');
  g_string_append (deep, "}}");
  hb = pres_heartbeat_parse (deep->str, deep->len, &error);
  g_assert_null (hb);
  g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_FIELD);
  g_assert_cmpstr (error->message, ==, "data: at most 8 levels of nesting are allowed");
  g_clear_error (&error);

  /* A number no double holds would be written back as "inf": refused. */
  huge = "{\"state\":\"online\",\"session\":\"s\",\"seq\":1,\"data\":{\"n\":[1,1e400]}}";
  hb = pres_heartbeat_parse (huge, strlen (huge), &error);
  g_assert_null (hb);
  g_assert_error (error, PRES_WIRE_ERROR, PRES_WIRE_ERROR_INVALID_FIELD);
  g_assert_cmpstr (error->message, ==, "data: numbers must be finite (1e400 is not)");
}

static void
test_leave_body (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *data = NULL;
  static const char *const bad[] = {
    "[]", "{\"data\":\"x\"}", "{\"reason\":5}", "{\"reason\":\"a\\u0001\"}", "{\"data\":",
  };

  g_assert_true (pres_leave_body_parse ("{\"reason\":\"session-completed\",\"data\":{\"job\":7}}",
                                        47, &reason, &data, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (reason, ==, "session-completed");
  g_assert_cmpstr (data, ==, "{\"job\":7}");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_clear_pointer (&reason, g_free);
      g_clear_pointer (&data, g_free);
      g_assert_false (pres_leave_body_parse (bad[i], strlen (bad[i]), &reason, &data, &error));
      g_assert_nonnull (error);
      g_assert_null (reason);
      g_assert_null (data);
      g_clear_error (&error);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/wire/heartbeat/roundtrip", test_heartbeat_roundtrip);
  g_test_add_func ("/wire/heartbeat/optional-absent", test_heartbeat_optional_absent);
  g_test_add_func ("/wire/heartbeat/malformed", test_heartbeat_malformed);
  g_test_add_func ("/wire/heartbeat/embedded-nul", test_heartbeat_embedded_nul);
  g_test_add_func ("/wire/heartbeat/wrong-types", test_heartbeat_wrong_types);
  g_test_add_func ("/wire/heartbeat/unknown-state", test_heartbeat_unknown_state);
  g_test_add_func ("/wire/heartbeat/oversize", test_heartbeat_oversize);
  g_test_add_func ("/wire/heartbeat/control-chars", test_heartbeat_control_chars);
  g_test_add_func ("/wire/heartbeat/status-text-characters", test_heartbeat_status_text_characters);
  g_test_add_func ("/wire/heartbeat/invalid-utf8", test_heartbeat_invalid_utf8);
  g_test_add_func ("/wire/one-object", test_one_object);
  g_test_add_func ("/wire/heartbeat/data", test_heartbeat_data);
  g_test_add_func ("/wire/heartbeat/data-readers", test_heartbeat_data_readers);
  g_test_add_func ("/wire/heartbeat/data-fast-reader", test_heartbeat_data_fast_reader);
  g_test_add_func ("/wire/leave-body", test_leave_body);
  g_test_add_func ("/wire/reply/roundtrip", test_reply_roundtrip);
  g_test_add_func ("/wire/reply/hostile", test_reply_hostile);
  g_test_add_func ("/wire/error/roundtrip", test_error_roundtrip);
  g_test_add_func ("/wire/instance-id", test_instance_id);

  return g_test_run ();
}
