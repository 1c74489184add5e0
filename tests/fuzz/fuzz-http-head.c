#include <string.h>

#include "fuzz.h"
#include "pres-http-parser.h"

/* presence-server's request-head parser on any bytes: the head's end as
 * found in one piece and byte by byte must agree, and a parsed head's
 * strings must lie within the buffer. */

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  return 0;
}

static void
check_head (char               *buf,
            gsize               len,
            const PresHttpHead *head)
{
  g_assert (head->method >= buf && head->method < buf + len);
  g_assert (head->n_headers <= PRES_HTTP_MAX_HEADERS);
  for (guint i = 0; i < head->n_headers; i++)
    {
      const char *value = pres_http_head_get_header (head, head->headers[i].name);

      g_assert_nonnull (value);
      (void) pres_http_header_has_token (value, "close");
      (void) pres_http_header_has_token (value, "upgrade");
    }
  if (head->query != NULL)
    {
      GHashTable *query = pres_http_parse_query (head->query);

      if (query != NULL)
        g_hash_table_unref (query);
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  gsize scanned = 0, scanned_bytewise = 0;
  gssize end = pres_http_find_head_end ((const char *) data, size, &scanned), end_bytewise = 0;
  g_autofree char *buf = NULL;
  PresHttpHead head;
  PresHttpParseError error;

  for (gsize have = 1; have <= size && end_bytewise == 0; have++)
    end_bytewise = pres_http_find_head_end ((const char *) data, have, &scanned_bytewise);
  g_assert_cmpint (end, ==, end_bytewise);
  if (end <= 0)
    return 0;
  g_assert_cmpint (end, <=, PRES_HTTP_MAX_HEAD_BYTES);
  buf = g_malloc (end + 1);
  memcpy (buf, data, end);
  buf[end] = '\0';
  if (pres_http_parse_head (buf, end, &head, &error))
    check_head (buf, end, &head);
  else
    g_assert (error.status >= 400 && error.status < 600 && error.code != NULL &&
              error.message != NULL);
  return 0;
}
