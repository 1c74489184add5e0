#define G_LOG_DOMAIN "pres-token"

#include "pres-token-source.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "pres-error.h"
#include "pres-secret.h"

const char *
pres_token_origin_to_string (PresTokenOrigin origin)
{
  switch (origin)
    {
      case PRES_TOKEN_ORIGIN_FILE:
        return "token file";
      case PRES_TOKEN_ORIGIN_ENVIRONMENT:
        return "PRESENCE_TOKEN";
      case PRES_TOKEN_ORIGIN_KEYRING:
        return "keyring";
      case PRES_TOKEN_ORIGIN_NONE:
      default:
        return "none";
    }
}

gboolean
pres_token_is_valid (const char *token)
{
  gsize len;

  if (token == NULL)
    return FALSE;
  len = strlen (token);
  if (len == 0 || len > PRES_TOKEN_MAX_BYTES)
    return FALSE;
  for (const char *p = token; *p != '\0'; p++)
    if (*p <= ' ' || *p > '~')
      return FALSE;
  return TRUE;
}

char *
pres_token_file_read (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  struct stat st;
  gssize n;
  int fd;

  /* fstat() the descriptor we read, so the checked file is the read one. */
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED, "Cannot open the token file %s: %s", path,
                   g_strerror (saved_errno));
      return NULL;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED, "The token file %s is not a regular file",
                   path);
      close (fd);
      return NULL;
    }
  if (st.st_uid != getuid ())
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED,
                   "The token file %s belongs to another user; it must be your own, mode 0600",
                   path);
      close (fd);
      return NULL;
    }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED,
                   "The token file %s is open to other users (mode %04o); run chmod 600 %s", path,
                   (guint)(st.st_mode & 07777), path);
      close (fd);
      return NULL;
    }

  contents = g_malloc0 (PRES_TOKEN_MAX_BYTES + 2);
  n = read (fd, contents, PRES_TOKEN_MAX_BYTES + 1);
  close (fd);
  if (n < 0)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED, "Cannot read the token file %s", path);
      return NULL;
    }

  g_strstrip (contents);
  if (!pres_token_is_valid (contents))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED,
                   "The token file %s does not hold a token (one line of at most %d visible "
                   "ASCII characters)",
                   path, PRES_TOKEN_MAX_BYTES);
      return NULL;
    }
  return g_steal_pointer (&contents);
}

typedef struct
{
  char *token;
  PresTokenOrigin origin;
} Found;

static void
found_free (Found *found)
{
  if (found->token != NULL)
    explicit_bzero (found->token, strlen (found->token));
  g_free (found->token);
  g_free (found);
}

static void
return_found (GTask *task, char *token, PresTokenOrigin origin)
{
  Found *found = g_new0 (Found, 1);

  found->token = token;
  found->origin = origin;
  g_task_return_pointer (task, found, (GDestroyNotify)found_free);
}

static void lookup_keyring (GTask *task, const char *server);

void
pres_token_lookup_async (const char *token_file,
                         const char *server,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  const char *env;

  g_task_set_source_tag (task, pres_token_lookup_async);

  if (token_file != NULL)
    {
      GError *error = NULL;
      char *token = pres_token_file_read (token_file, &error);

      if (token == NULL)
        g_task_return_error (task, error);
      else
        return_found (task, token, PRES_TOKEN_ORIGIN_FILE);
      return;
    }

  env = g_getenv ("PRESENCE_TOKEN");
  if (env != NULL && *env != '\0')
    {
      if (pres_token_is_valid (env))
        return_found (task, g_strdup (env), PRES_TOKEN_ORIGIN_ENVIRONMENT);
      else
        g_task_return_new_error (task, PRES_ERROR, PRES_ERROR_FAILED,
                                 "PRESENCE_TOKEN is not a token (at most %d visible ASCII "
                                 "characters)",
                                 PRES_TOKEN_MAX_BYTES);
      return;
    }

  lookup_keyring (g_steal_pointer (&task), server);
}

char *
pres_token_lookup_finish (GAsyncResult *result, PresTokenOrigin *origin, GError **error)
{
  Found *found;
  char *token;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  found = g_task_propagate_pointer (G_TASK (result), error);
  if (found == NULL)
    {
      if (origin != NULL)
        *origin = PRES_TOKEN_ORIGIN_NONE;
      return NULL;
    }
  token = g_steal_pointer (&found->token);
  if (origin != NULL)
    *origin = found->origin;
  found_free (found);
  return token;
}

static void
on_keyring_lookup (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  char *secret = pres_secret_lookup_token_finish (result, &error);
  char *token = NULL;

  if (error != NULL)
    {
      g_task_return_new_error (task, PRES_ERROR, PRES_ERROR_FAILED,
                               "Cannot read the token from the keyring (%s); run “presencectl "
                               "login”, or give the agent --token-file or PRESENCE_TOKEN",
                               error->message);
      return;
    }
  if (secret != NULL && pres_token_is_valid (secret))
    token = g_strdup (secret);
  pres_secret_token_free (secret);
  if (token == NULL)
    g_task_return_pointer (task, NULL, NULL);
  else
    return_found (task, token, PRES_TOKEN_ORIGIN_KEYRING);
}

static void
lookup_keyring (GTask *task, const char *server)
{
  pres_secret_lookup_token (server, PRES_TOKEN_KEYRING_TIMEOUT_MS, g_task_get_cancellable (task),
                            on_keyring_lookup, task);
}
