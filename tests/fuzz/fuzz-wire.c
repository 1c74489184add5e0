#include <string.h>

#include "fuzz.h"
#include "pres-wire.h"

/* The protocol's JSON readers on any bytes: a heartbeat (what the server
 * reads), a heartbeat reply and an error body (what the agent reads), and
 * instance ids.  Whatever parses must come out as valid JSON again and
 * parse to the same fields. */

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  return 0;
}

/* The member data's fast reader and json-glib's agree: the same data under
 * a name only the full reader takes ("d\u0061ta") comes out the same. */
static void
data_readers_agree (const char *compact)
{
  g_autofree char *fast = g_strdup_printf ("{\"state\":\"online\",\"session\":\"s\",\"seq\":1,"
                                           "\"data\": %s }", compact);
  g_autofree char *full = g_strdup_printf ("{\"state\":\"online\",\"session\":\"s\",\"seq\":1,"
                                           "\"d\\u0061ta\": %s }", compact);
  g_autoptr (GError) error = NULL;
  g_autoptr (PresHeartbeat) a = pres_heartbeat_parse (fast, strlen (fast), &error);
  g_autoptr (PresHeartbeat) b = NULL;

  g_assert_no_error (error);
  b = pres_heartbeat_parse (full, strlen (full), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (a->data, ==, compact);
  g_assert_cmpstr (b->data, ==, compact);
}

static void
heartbeat (const char *data,
           gsize       size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PresHeartbeat) hb = pres_heartbeat_parse (data, size, &error);
  g_autoptr (PresHeartbeat) again = NULL;
  g_autofree char *json = NULL;

  if (hb == NULL)
    {
      g_assert_nonnull (error);
      g_assert (error->domain == PRES_WIRE_ERROR);
      return;
    }
  json = pres_heartbeat_to_json (hb);
  again = pres_heartbeat_parse (json, strlen (json), &error);
  g_assert_no_error (error);
  g_assert_cmpint (again->state, ==, hb->state);
  g_assert_cmpuint (again->seq, ==, hb->seq);
  g_assert_cmpstr (again->session, ==, hb->session);
  g_assert_cmpstr (again->status_text, ==, hb->status_text);
  g_assert_cmpstr (again->host, ==, hb->host);
  g_assert_cmpstr (again->reason, ==, hb->reason);
  g_assert_cmpstr (again->data, ==, hb->data);
  if (hb->data != NULL)
    data_readers_agree (hb->data);
}

static void
reply (const char *data,
       gsize       size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PresHeartbeatReply) parsed = pres_heartbeat_reply_parse (data, size, &error);
  g_autofree char *code = NULL;
  g_autofree char *message = NULL;

  if (parsed != NULL)
    {
      g_autofree char *json = pres_heartbeat_reply_to_json (parsed);
      g_autoptr (PresHeartbeatReply) again = pres_heartbeat_reply_parse (json, strlen (json), &error);

      g_assert_no_error (error);
      g_assert_cmpstr (again->participant_id, ==, parsed->participant_id);
      g_assert_cmpuint (again->ttl_ms, ==, parsed->ttl_ms);
    }
  if (pres_wire_error_parse (data, size, &code, &message))
    {
      g_autofree char *json = pres_wire_error_to_json (code, message);
      g_autofree char *code2 = NULL;
      g_autofree char *message2 = NULL;

      g_assert_true (pres_wire_error_parse (json, strlen (json), &code2, &message2));
      g_assert_cmpstr (code2, ==, code);
      g_assert_cmpstr (message2, ==, message);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree char *id = NULL;
  g_autofree char *text = NULL;

  heartbeat ((const char *) data, size);
  reply ((const char *) data, size);
  /* Ids come as C strings out of a decoded path. */
  text = g_strndup ((const char *) data, MIN (size, 200));
  id = pres_instance_id_normalize (text, NULL);
  if (id != NULL)
    g_assert_true (pres_instance_id_is_valid (id));
  return 0;
}
