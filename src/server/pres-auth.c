#define G_LOG_DOMAIN "pres-server"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pres-auth.h"
#include "pres-error.h"

typedef struct
{
  char *token;
  char *participant_id;
  gboolean always_online;
  gboolean admin;
} Entry;

struct _PresAuth
{
  GObject parent_instance;

  gboolean dev;
  GHashTable *tokens;         /* token (owned by the entry) → Entry */
  GPtrArray *always_online;   /* of char * */
};

G_DEFINE_TYPE (PresAuth, pres_auth, G_TYPE_OBJECT)

static void
entry_free (Entry *entry)
{
  g_free (entry->token);
  g_free (entry->participant_id);
  g_free (entry);
}

gboolean
pres_participant_id_is_valid (const char *id)
{
  gsize i;

  if (id == NULL)
    return FALSE;
  for (i = 0; id[i] != '\0'; i++)
    {
      char c = id[i];

      if (i >= 128 ||
          !(g_ascii_isalnum (c) || c == '.' || c == '_' || c == ':' || c == '@' || c == '-'))
        return FALSE;
    }
  return i > 0;
}

/* Tokens go into an Authorization header: printable ASCII without spaces. */
static gboolean
token_is_valid (const char *token)
{
  for (const char *p = token; *p != '\0'; p++)
    if (*p <= ' ' || *p > '~')
      return FALSE;
  return *token != '\0';
}

static gboolean
parse_line (PresAuth   *self,
            const char *line,
            guint       line_no,
            GError    **error)
{
  g_auto (GStrv) words = g_strsplit_set (line, " \t", -1);
  g_autoptr (GPtrArray) fields = g_ptr_array_new ();
  Entry *entry;

  for (guint i = 0; words[i] != NULL; i++)
    if (*words[i] != '\0')
      g_ptr_array_add (fields, words[i]);

  if (fields->len == 0 || *(char *) fields->pdata[0] == '#')
    return TRUE;
  if (fields->len < 2 || !token_is_valid (fields->pdata[0]) ||
      !pres_participant_id_is_valid (fields->pdata[1]))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "tokens file line %u: expected \"<token> <participant_id> [always-online] "
                   "[admin]\" with a participant id of [A-Za-z0-9._:@-]{1,128}",
                   line_no);
      return FALSE;
    }
  if (g_hash_table_contains (self->tokens, fields->pdata[0]))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "tokens file line %u: the token is listed twice", line_no);
      return FALSE;
    }

  entry = g_new0 (Entry, 1);
  entry->token = g_strdup (fields->pdata[0]);
  entry->participant_id = g_strdup (fields->pdata[1]);
  g_hash_table_insert (self->tokens, entry->token, entry);

  for (guint i = 2; i < fields->len; i++)
    {
      const char *flag = fields->pdata[i];

      if (g_str_equal (flag, "always-online"))
        entry->always_online = TRUE;
      else if (g_str_equal (flag, "admin"))
        entry->admin = TRUE;
      else
        {
          g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                       "tokens file line %u: unknown flag \"%s\" (allowed: always-online, admin)",
                       line_no, flag);
          return FALSE;
        }
    }
  if (entry->always_online)
    g_ptr_array_add (self->always_online, g_strdup (entry->participant_id));
  return TRUE;
}

PresAuth *
pres_auth_new_from_data (const char *data,
                         GError    **error)
{
  g_autoptr (PresAuth) self = g_object_new (PRES_TYPE_AUTH, NULL);
  g_auto (GStrv) lines = g_strsplit (data, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_strchomp (lines[i]);
      if (!parse_line (self, lines[i], i + 1, error))
        return NULL;
    }
  return g_steal_pointer (&self);
}

/* The tokens are the participants' passwords: a file that others may read
 * has given them away already, so the server refuses it rather than
 * starting with secrets that are no longer secret (as ssh refuses a key). */
static gboolean
check_private (int          fd,
               const char  *path,
               GError     **error)
{
  struct stat st;

  if (fstat (fd, &st) < 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "tokens file %s: %s",
                   path, g_strerror (errno));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "tokens file %s: not a regular file", path);
      return FALSE;
    }
  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "tokens file %s: permissions %04o are too open: it holds secrets and must "
                   "not be accessible by group or others (chmod 600 %s)",
                   path, (guint) (st.st_mode & 07777), path);
      return FALSE;
    }
  return TRUE;
}

PresAuth *
pres_auth_new_from_file (const char *path,
                         GError    **error)
{
  g_autoptr (GString) data = g_string_new (NULL);
  char chunk[4096];
  ssize_t n;
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  if (fd < 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "tokens file %s: %s",
                   path, g_strerror (errno));
      return NULL;
    }
  /* The mode of the file read, not of whatever the path names later. */
  if (!check_private (fd, path, error))
    {
      close (fd);
      return NULL;
    }
  while ((n = read (fd, chunk, sizeof chunk)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                       "tokens file %s: %s", path, g_strerror (errno));
          close (fd);
          return NULL;
        }
      g_string_append_len (data, chunk, n);
    }
  close (fd);
  if (memchr (data->str, '\0', data->len) != NULL)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "tokens file %s: not a text file (it contains a NUL byte)", path);
      return NULL;
    }
  return pres_auth_new_from_data (data->str, error);
}

PresAuth *
pres_auth_new_dev (void)
{
  PresAuth *self = g_object_new (PRES_TYPE_AUTH, NULL);

  self->dev = TRUE;
  return self;
}

gboolean
pres_auth_is_dev (PresAuth *self)
{
  return self->dev;
}

gboolean
pres_auth_check (PresAuth     *self,
                 const char   *authorization,
                 PresIdentity *out)
{
  const char *token;
  Entry *entry;

  memset (out, 0, sizeof *out);
  if (authorization == NULL || g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0)
    return FALSE;
  token = authorization + 7;
  while (*token == ' ')
    token++;

  if (self->dev)
    {
      if (!pres_participant_id_is_valid (token))
        return FALSE;
      out->token = token;
      out->participant_id = token;
      return TRUE;
    }

  entry = g_hash_table_lookup (self->tokens, token);
  if (entry == NULL)
    return FALSE;
  out->token = entry->token;
  out->participant_id = entry->participant_id;
  out->always_online = entry->always_online;
  out->admin = entry->admin;
  return TRUE;
}

GPtrArray *
pres_auth_get_always_online (PresAuth *self)
{
  return self->always_online;
}

static void
pres_auth_finalize (GObject *object)
{
  PresAuth *self = PRES_AUTH (object);

  g_clear_pointer (&self->tokens, g_hash_table_unref);
  g_clear_pointer (&self->always_online, g_ptr_array_unref);

  G_OBJECT_CLASS (pres_auth_parent_class)->finalize (object);
}

static void
pres_auth_class_init (PresAuthClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pres_auth_finalize;
}

static void
pres_auth_init (PresAuth *self)
{
  self->tokens = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) entry_free);
  self->always_online = g_ptr_array_new_with_free_func (g_free);
}
