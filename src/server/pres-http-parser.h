#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A strict HTTP/1.1 request-head parser (RFC 9112) for presence-server's
 * front end.  Pure functions over bytes, so the tests can feed them one
 * byte at a time.  Bodies are Content-Length only: a request with
 * Transfer-Encoding is refused with 411 before its body is read. */

#define PRES_HTTP_MAX_HEAD_BYTES 8192
#define PRES_HTTP_MAX_HEADERS    64

typedef struct
{
  const char *name;
  const char *value; /* without surrounding whitespace */
} PresHttpHeader;

typedef struct
{
  const char *method;
  const char *path;  /* percent-decoded */
  const char *query; /* raw (still encoded), NULL when the target has none */
  guint minor_version;
  gint64 content_length; /* 0 when absent */
  gboolean keep_alive;   /* 1.1 without "Connection: close" */
  gboolean upgrade;      /* "Connection: upgrade" with an Upgrade header */
  gboolean expect_continue;
  guint n_headers;
  PresHttpHeader headers[PRES_HTTP_MAX_HEADERS];
} PresHttpHead;

/* A rejection: the status to answer, the JSON error code and a message. */
typedef struct
{
  guint status;
  const char *code;
  const char *message;
} PresHttpParseError;

/* Looks for the end of a request head in buf[0..len).  Returns the head's
 * length including the blank line (and any empty lines before the request
 * line), 0 when more bytes are needed, or -1 when the head exceeds
 * PRES_HTTP_MAX_HEAD_BYTES.  *scanned (0 at first) lets a later call with
 * more bytes resume where this one stopped. */
gssize      pres_http_find_head_end (const char *buf,
                                     gsize       len,
                                     gsize      *scanned);

/* Parses a complete head (from pres_http_find_head_end), followed by a NUL
 * at buf[len], in place: NULs are written into it and head points into it. */
gboolean    pres_http_parse_head (char               *buf,
                                  gsize               len,
                                  PresHttpHead       *head,
                                  PresHttpParseError *error);

/* Case-insensitive; the first of repeated headers. */
const char *pres_http_head_get_header (const PresHttpHead *head,
                                       const char         *name);

/* Decodes %XX escapes in place (and '+' as a space when plus_is_space).
 * FALSE on a malformed escape or one that decodes to NUL. */
gboolean    pres_http_percent_decode (char    *text,
                                      gboolean plus_is_space);

/* name → value, both decoded (form encoding); the last of repeated names
 * wins.  NULL on a malformed escape. */
GHashTable *pres_http_parse_query (const char *query);

/* Whether a comma-separated header value lists token (case-insensitive). */
gboolean    pres_http_header_has_token (const char *value,
                                        const char *token);

G_END_DECLS
