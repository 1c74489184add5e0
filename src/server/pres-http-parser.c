#define G_LOG_DOMAIN "pres-http"

#include <string.h>

#include "pres-http-parser.h"

static gboolean
is_tchar (guchar c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static gboolean
is_token (const char *text)
{
  if (*text == '\0')
    return FALSE;
  for (; *text != '\0'; text++)
    {
      if (!is_tchar (*text))
        return FALSE;
    }
  return TRUE;
}

static gboolean
fail (PresHttpParseError *error,
      guint               status,
      const char         *code,
      const char         *message)
{
  error->status = status;
  error->code = code;
  error->message = message;
  return FALSE;
}

static gboolean
bad_request (PresHttpParseError *error,
             const char         *message)
{
  return fail (error, 400, "bad_request", message);
}

/* RFC 9112 §2.2: empty lines before the request line are ignored. */
static gsize
skip_empty_lines (const char *buf,
                  gsize       len)
{
  gsize start = 0;

  while (start + 1 < len && buf[start] == '\r' && buf[start + 1] == '\n')
    start += 2;
  return start;
}

gssize
pres_http_find_head_end (const char *buf,
                         gsize       len,
                         gsize      *scanned)
{
  gsize start = skip_empty_lines (buf, len);

  /* The head ends at a line feed followed by an empty line; a bare LF ends
   * it too, so that pres_http_parse_head can refuse it instead of waiting. */
  for (gsize i = MAX (*scanned, start); i < len; i++)
    {
      if (buf[i] != '\n')
        continue;
      if (i + 1 < len && buf[i + 1] == '\n')
        return i + 2 <= PRES_HTTP_MAX_HEAD_BYTES ? (gssize) (i + 2) : -1;
      if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
        return i + 3 <= PRES_HTTP_MAX_HEAD_BYTES ? (gssize) (i + 3) : -1;
      if (i + 2 >= len)
        {
          /* Not decidable yet: look at this line feed again next time. */
          *scanned = i;
          return len > PRES_HTTP_MAX_HEAD_BYTES ? -1 : 0;
        }
    }
  *scanned = len;
  return len > PRES_HTTP_MAX_HEAD_BYTES ? -1 : 0;
}

gboolean
pres_http_percent_decode (char    *text,
                          gboolean plus_is_space)
{
  char *out = text;

  for (const char *in = text; *in != '\0'; in++)
    {
      if (*in == '%')
        {
          int hi = g_ascii_xdigit_value (in[1]), lo;

          if (hi < 0 || (lo = g_ascii_xdigit_value (in[2])) < 0 || (hi == 0 && lo == 0))
            return FALSE;
          *out++ = (char) (hi << 4 | lo);
          in += 2;
        }
      else if (*in == '+' && plus_is_space)
        *out++ = ' ';
      else
        *out++ = *in;
    }
  *out = '\0';
  return TRUE;
}

GHashTable *
pres_http_parse_query (const char *query)
{
  g_autoptr (GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto (GStrv) pairs = g_strsplit (query, "&", -1);

  for (guint i = 0; pairs[i] != NULL; i++)
    {
      char *name = pairs[i], *value = strchr (name, '=');

      if (*name == '\0')
        continue;
      if (value != NULL)
        *value++ = '\0';
      else
        value = "";
      name = g_strdup (name);
      value = g_strdup (value);
      if (!pres_http_percent_decode (name, TRUE) || !pres_http_percent_decode (value, TRUE))
        {
          g_free (name);
          g_free (value);
          return NULL;
        }
      g_hash_table_replace (table, name, value);
    }
  return g_steal_pointer (&table);
}

gboolean
pres_http_header_has_token (const char *value,
                            const char *token)
{
  gsize token_len = strlen (token);

  while (*value != '\0')
    {
      const char *end;
      gsize len;

      while (*value == ' ' || *value == '\t' || *value == ',')
        value++;
      end = value + strcspn (value, ",");
      len = end - value;
      while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
      if (len == token_len && g_ascii_strncasecmp (value, token, len) == 0)
        return TRUE;
      value = end;
    }
  return FALSE;
}

const char *
pres_http_head_get_header (const PresHttpHead *head,
                           const char         *name)
{
  for (guint i = 0; i < head->n_headers; i++)
    {
      if (g_ascii_strcasecmp (head->headers[i].name, name) == 0)
        return head->headers[i].value;
    }
  return NULL;
}

/* Origin form "/path?query", absolute form "http://host/path?query" (which
 * servers must accept) or "*" for OPTIONS. */
static gboolean
parse_target (char               *target,
              PresHttpHead       *head,
              PresHttpParseError *error)
{
  char *query;

  for (const char *c = target; *c != '\0'; c++)
    {
      if ((guchar) *c <= 0x20 || (guchar) *c >= 0x7f || *c == '#')
        return bad_request (error, "request line: invalid character in the target");
    }
  if (g_ascii_strncasecmp (target, "http://", 7) == 0 ||
      g_ascii_strncasecmp (target, "https://", 8) == 0)
    {
      char *authority = strstr (target, "//") + 2;
      char *path = authority + strcspn (authority, "/?");

      if (*path != '/')
        {
          /* "http://host" or "http://host?query": the path is "/". */
          head->path = "/";
          head->query = *path == '?' ? path + 1 : NULL;
          return TRUE;
        }
      target = path;
    }
  else if (g_str_equal (target, "*") && g_str_equal (head->method, "OPTIONS"))
    {
      head->path = target;
      return TRUE;
    }
  else if (target[0] != '/')
    return bad_request (error, "request line: the target must be a path");

  query = strchr (target, '?');
  if (query != NULL)
    {
      *query++ = '\0';
      head->query = query;
    }
  if (!pres_http_percent_decode (target, FALSE))
    return bad_request (error, "request line: malformed percent-escape in the path");
  head->path = target;
  return TRUE;
}

static gboolean
parse_request_line (char               *line,
                    PresHttpHead       *head,
                    PresHttpParseError *error)
{
  char *target, *version;

  target = strchr (line, ' ');
  if (target == NULL)
    return bad_request (error, "request line: expected METHOD TARGET HTTP/1.1");
  *target++ = '\0';
  version = strchr (target, ' ');
  if (version == NULL)
    return bad_request (error, "request line: expected METHOD TARGET HTTP/1.1");
  *version++ = '\0';
  head->method = line;
  if (!is_token (line))
    return bad_request (error, "request line: invalid method");
  /* Methods are case-sensitive (RFC 9110 §9.1) and every one we answer is
   * upper-case: "get" is not GET, and must not be served as if it were. */
  for (const char *c = line; *c != '\0'; c++)
    {
      if (g_ascii_islower (*c))
        return bad_request (error, "request line: methods are case-sensitive (GET, not get)");
    }

  if (strlen (version) != 8 || !g_str_has_prefix (version, "HTTP/") ||
      !g_ascii_isdigit (version[5]) || version[6] != '.' || !g_ascii_isdigit (version[7]))
    return bad_request (error, "request line: expected METHOD TARGET HTTP/1.1");
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
    return fail (error, 505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are spoken");
  head->minor_version = version[7] - '0';
  return parse_target (target, head, error);
}

static gboolean
parse_header_line (char               *line,
                   PresHttpHead       *head,
                   PresHttpParseError *error)
{
  char *colon, *value, *end;

  if (line[0] == ' ' || line[0] == '\t')
    return bad_request (error, "headers: obsolete line folding is not accepted");
  colon = strchr (line, ':');
  if (colon == NULL)
    return bad_request (error, "headers: a header line without a colon");
  *colon = '\0';
  if (!is_token (line))
    return bad_request (error, "headers: invalid header name");
  value = colon + 1;
  while (*value == ' ' || *value == '\t')
    value++;
  end = value + strlen (value);
  while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
    *--end = '\0';
  for (const char *c = value; *c != '\0'; c++)
    {
      if (((guchar) *c < 0x20 && *c != '\t') || *c == 0x7f)
        return bad_request (error, "headers: control character in a header value");
    }
  if (head->n_headers == PRES_HTTP_MAX_HEADERS)
    return fail (error, 431, "header_too_large", "headers: too many header fields");
  head->headers[head->n_headers++] = (PresHttpHeader) { line, value };
  return TRUE;
}

static gboolean
parse_content_length (const char         *value,
                      PresHttpHead       *head,
                      gboolean            seen,
                      PresHttpParseError *error)
{
  guint64 length;

  /* Digits only: no sign, no list, no spaces (request smuggling). */
  if (*value == '\0' || strspn (value, "0123456789") != strlen (value) || strlen (value) > 18)
    return bad_request (error, "Content-Length: must be a decimal number");
  length = g_ascii_strtoull (value, NULL, 10);
  if (seen && (gint64) length != head->content_length)
    return bad_request (error, "Content-Length: repeated with different values");
  head->content_length = (gint64) length;
  return TRUE;
}

/* What the headers mean for framing and the connection. */
static gboolean
interpret_headers (PresHttpHead       *head,
                   PresHttpParseError *error)
{
  gboolean close = FALSE, upgrade_token = FALSE, seen_length = FALSE;
  guint n_host = 0, n_authorization = 0;

  for (guint i = 0; i < head->n_headers; i++)
    {
      const char *name = head->headers[i].name, *value = head->headers[i].value;

      if (g_ascii_strcasecmp (name, "Content-Length") == 0)
        {
          if (!parse_content_length (value, head, seen_length, error))
            return FALSE;
          seen_length = TRUE;
        }
      else if (g_ascii_strcasecmp (name, "Transfer-Encoding") == 0)
        return fail (error, 411, "length_required",
                     "body: send a Content-Length (at most 4096 bytes), not a chunked body");
      else if (g_ascii_strcasecmp (name, "Host") == 0)
        n_host++;
      else if (g_ascii_strcasecmp (name, "Authorization") == 0)
        n_authorization++;
      else if (g_ascii_strcasecmp (name, "Connection") == 0)
        {
          close |= pres_http_header_has_token (value, "close");
          upgrade_token |= pres_http_header_has_token (value, "upgrade");
        }
      else if (g_ascii_strcasecmp (name, "Expect") == 0)
        head->expect_continue = g_ascii_strcasecmp (value, "100-continue") == 0;
    }
  if (head->minor_version == 1 && n_host != 1)
    return bad_request (error, "headers: an HTTP/1.1 request needs exactly one Host");
  /* Which of two credentials counts would be a guess, and a front proxy may
   * guess differently: refuse, as for two Content-Lengths. */
  if (n_authorization > 1)
    return bad_request (error, "headers: at most one Authorization is allowed");
  head->keep_alive = head->minor_version == 1 && !close;
  head->upgrade = upgrade_token && pres_http_head_get_header (head, "Upgrade") != NULL;
  head->expect_continue &= head->minor_version == 1;
  return TRUE;
}

gboolean
pres_http_parse_head (char               *buf,
                      gsize               len,
                      PresHttpHead       *head,
                      PresHttpParseError *error)
{
  gsize start = skip_empty_lines (buf, len);
  char *line;
  gboolean first = TRUE;

  memset (head, 0, sizeof *head);
  /* Lines end in CRLF: a bare CR or LF, or a NUL, is malformed. */
  for (gsize i = start; i < len; i++)
    {
      if (buf[i] == '\0' || (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')) ||
          (buf[i] == '\r' && (i + 1 == len || buf[i + 1] != '\n')))
        return bad_request (error, "request head: lines must end in CRLF");
    }
  for (line = buf + start; line < buf + len;)
    {
      char *eol = strstr (line, "\r\n");
      gboolean ok;

      *eol = '\0';
      if (*line == '\0')
        break;
      ok = first ? parse_request_line (line, head, error) : parse_header_line (line, head, error);
      if (!ok)
        return FALSE;
      first = FALSE;
      line = eol + 2;
    }
  if (first)
    return bad_request (error, "request head: no request line");
  return interpret_headers (head, error);
}
