#include "pres-wire-data.h"

#include <string.h>

#include "pres-wire.h"

/* json-glib reads a kilobyte of member data at about a hundred instructions
 * a byte, three times the cost of the rest of a heartbeat.  This reader
 * takes the data of the common, simple form in one pass: strings without
 * escapes or control characters, integers, literals, objects without
 * repeated names.  It writes exactly what the full reader's compact writer
 * would; anything else (and any doubt) is left to the full reader, which
 * also words the errors. */

#define MAX_NAMES 32

typedef struct
{
  const char *p;
  const char *end;
  GString *out;
} Reader;

static void
skip_space (Reader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

#define BYTES(b) (0x0101010101010101ULL * (b))

/* Whether text has no backslash and no control character, eight bytes at a
 * time (any byte below n: (w - n…) & ~w & 0x80…); *ascii: and no byte of
 * 0x80 or more. */
static gboolean
is_plain (const char *text, gsize len, gboolean *ascii)
{
  guint64 bad = 0, high = 0;
  gsize i = 0;

  for (; i + 8 <= len; i += 8)
    {
      guint64 w, x;

      memcpy (&w, text + i, 8);
      x = w ^ BYTES ('\\');
      high |= w & BYTES (0x80);
      bad |= ((w - BYTES (0x20)) & ~w) | ((x - BYTES (0x01)) & ~x);
    }
  for (; i < len; i++)
    {
      unsigned char c = text[i];

      if (c == '\\' || c < 0x20)
        return FALSE;
      high |= c & 0x80;
    }
  *ascii = high == 0;
  return (bad & BYTES (0x80)) == 0;
}

/* A string without escapes or control characters: its text is what the
 * compact writer would write.  Its UTF-8 is checked here (the rest of the
 * body is the full reader's to check).  On success r->p is past its
 * closing quote. */
static gboolean
read_plain_string (Reader *r, const char **text, gsize *len)
{
  const char *start, *quote;
  gboolean ascii;

  if (r->p >= r->end || *r->p != '"')
    return FALSE;
  start = r->p + 1;
  quote = memchr (start, '"', r->end - start);
  if (quote == NULL || !is_plain (start, quote - start, &ascii)
      || (!ascii && !g_utf8_validate_len (start, quote - start, NULL)))
    return FALSE;
  *text = start;
  *len = quote - start;
  r->p = quote + 1;
  return TRUE;
}

/* -?(0|[1-9][0-9]*) of at most 18 digits, which an int64 holds whole. */
static gboolean
write_integer (Reader *r)
{
  const char *start = r->p;
  guint digits = 0;

  if (r->p < r->end && *r->p == '-')
    r->p++;
  if (r->p < r->end && *r->p == '0')
    {
      r->p++;
      digits = 1;
    }
  else
    while (r->p < r->end && g_ascii_isdigit (*r->p))
      {
        r->p++;
        digits++;
      }
  if (digits == 0 || digits > 18
      || (r->p < r->end && (g_ascii_isdigit (*r->p) || *r->p == '.' || *r->p == 'e'
                            || *r->p == 'E')))
    return FALSE;
  /* The full reader writes -0 as 0. */
  if (r->p - start == 2 && start[0] == '-' && start[1] == '0')
    return FALSE;
  g_string_append_len (r->out, start, r->p - start);
  return TRUE;
}

static gboolean
write_literal (Reader *r, const char *word)
{
  gsize len = strlen (word);

  if ((gsize)(r->end - r->p) < len || memcmp (r->p, word, len) != 0)
    return FALSE;
  r->p += len;
  g_string_append (r->out, word);
  return TRUE;
}

static gboolean write_value (Reader *r, guint depth);

static gboolean
write_object (Reader *r, guint depth)
{
  const char *names[MAX_NAMES];
  gsize name_lens[MAX_NAMES];
  guint n_names = 0;

  r->p++;
  g_string_append_c (r->out, '{');
  skip_space (r);
  if (r->p < r->end && *r->p == '}')
    {
      r->p++;
      g_string_append_c (r->out, '}');
      return TRUE;
    }
  for (;;)
    {
      const char *name;
      gsize len;

      if (n_names == MAX_NAMES || !read_plain_string (r, &name, &len))
        return FALSE;
      for (guint i = 0; i < n_names; i++)
        if (name_lens[i] == len && memcmp (names[i], name, len) == 0)
          return FALSE;
      names[n_names] = name;
      name_lens[n_names++] = len;
      if (n_names > 1)
        g_string_append_c (r->out, ',');
      g_string_append_c (r->out, '"');
      g_string_append_len (r->out, name, len);
      g_string_append (r->out, "\":");
      skip_space (r);
      if (r->p >= r->end || *r->p++ != ':')
        return FALSE;
      skip_space (r);
      if (!write_value (r, depth + 1))
        return FALSE;
      skip_space (r);
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          skip_space (r);
          continue;
        }
      if (r->p < r->end && *r->p == '}')
        {
          r->p++;
          g_string_append_c (r->out, '}');
          return TRUE;
        }
      return FALSE;
    }
}

static gboolean
write_array (Reader *r, guint depth)
{
  gboolean first = TRUE;

  r->p++;
  g_string_append_c (r->out, '[');
  skip_space (r);
  if (r->p < r->end && *r->p == ']')
    {
      r->p++;
      g_string_append_c (r->out, ']');
      return TRUE;
    }
  for (;;)
    {
      if (!first)
        g_string_append_c (r->out, ',');
      first = FALSE;
      if (!write_value (r, depth + 1))
        return FALSE;
      skip_space (r);
      if (r->p < r->end && *r->p == ',')
        {
          r->p++;
          skip_space (r);
          continue;
        }
      if (r->p < r->end && *r->p == ']')
        {
          r->p++;
          g_string_append_c (r->out, ']');
          return TRUE;
        }
      return FALSE;
    }
}

/* Depth counts as the compact writer's does: the data object is 1, and
 * no value may sit deeper than PRES_WIRE_MAX_DATA_DEPTH. */
static gboolean
write_value (Reader *r, guint depth)
{
  const char *text;
  gsize len;

  if (depth > PRES_WIRE_MAX_DATA_DEPTH || r->p >= r->end
      || r->out->len > PRES_WIRE_MAX_DATA_BYTES)
    return FALSE;
  switch (*r->p)
    {
    case '{':
      return write_object (r, depth);
    case '[':
      return write_array (r, depth);
    case '"':
      if (!read_plain_string (r, &text, &len))
        return FALSE;
      g_string_append_c (r->out, '"');
      g_string_append_len (r->out, text, len);
      g_string_append_c (r->out, '"');
      return TRUE;
    case 't':
      return write_literal (r, "true");
    case 'f':
      return write_literal (r, "false");
    case 'n':
      return write_literal (r, "null");
    default:
      return write_integer (r);
    }
}

static gboolean
skip_string (Reader *r)
{
  for (r->p++; r->p < r->end && *r->p != '"'; r->p++)
    if (*r->p == '\\')
      r->p++;
  if (r->p >= r->end)
    return FALSE;
  r->p++;
  return TRUE;
}

/* Skips the value of a member that is not the data; the full reader checks
 * it.  Strings are skipped escape by escape, containers bracket by
 * bracket, scalars up to the next separator. */
static gboolean
skip_value (Reader *r)
{
  guint depth = 0;

  if (r->p < r->end && *r->p == '"')
    return skip_string (r);
  if (r->p < r->end && (*r->p == '{' || *r->p == '['))
    {
      do
        {
          if (r->p >= r->end)
            return FALSE;
          if (*r->p == '"')
            {
              if (!skip_string (r))
                return FALSE;
              continue;
            }
          if (*r->p == '{' || *r->p == '[')
            depth++;
          else if (*r->p == '}' || *r->p == ']')
            depth--;
          r->p++;
        }
      while (depth > 0);
      return TRUE;
    }
  while (r->p < r->end && strchr (",}] \t\n\r", *r->p) == NULL)
    r->p++;
  return TRUE;
}

gboolean
pres_wire_data_take (const char *body,
                     gsize       length,
                     gsize      *start,
                     gsize      *end,
                     GString   **compact)
{
  g_autoptr (GString) out = NULL;
  Reader r = { body, body + length, NULL };
  gboolean found = FALSE;

  *compact = NULL;
  skip_space (&r);
  if (r.p >= r.end || *r.p++ != '{')
    return FALSE;
  skip_space (&r);
  if (r.p < r.end && *r.p == '}')
    return TRUE;
  for (;;)
    {
      const char *name;
      gsize len;

      /* A name with escapes could spell "data": the full reader decides. */
      if (!read_plain_string (&r, &name, &len))
        return FALSE;
      skip_space (&r);
      if (r.p >= r.end || *r.p++ != ':')
        return FALSE;
      skip_space (&r);
      if (len == 4 && memcmp (name, "data", 4) == 0)
        {
          if (found || r.p >= r.end || *r.p != '{')
            return FALSE;
          found = TRUE;
          *start = r.p - body;
          out = g_string_sized_new (MIN (length, PRES_WIRE_MAX_DATA_BYTES + 1));
          r.out = out;
          if (!write_value (&r, 1) || out->len > PRES_WIRE_MAX_DATA_BYTES)
            return FALSE;
          *end = r.p - body;
        }
      else if (!skip_value (&r))
        return FALSE;
      skip_space (&r);
      if (r.p < r.end && *r.p == ',')
        {
          r.p++;
          skip_space (&r);
          continue;
        }
      if (r.p < r.end && *r.p == '}')
        break;
      return FALSE;
    }
  *compact = g_steal_pointer (&out);
  return TRUE;
}
