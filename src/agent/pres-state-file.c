#define G_LOG_DOMAIN "pres-state-file"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <gio/gio.h>

#include "pres-error.h"
#include "pres-state-file.h"

#define GROUP "Manual"

void
pres_saved_state_clear (PresSavedState *saved)
{
  g_clear_pointer (&saved->status_text, g_free);
  saved->manual = PRES_MANUAL_NONE;
  saved->manual_until = 0;
}

char *
pres_state_file_default_path (void)
{
  return g_build_filename (g_get_user_state_dir (), "presence-agent", "state", NULL);
}

static gboolean
manual_from_string (const char *text,
                    PresManual *out_manual)
{
  for (PresManual m = PRES_MANUAL_NONE; m <= PRES_MANUAL_APPEAR_OFFLINE; m++)
    {
      if (g_strcmp0 (text, pres_manual_to_string (m)) == 0)
        {
          *out_manual = m;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
pres_state_file_load (const char     *path,
                      PresSavedState *out_saved,
                      GError        **error)
{
  g_autoptr (GKeyFile) key_file = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *manual = NULL;
  g_autofree char *text = NULL;
  PresManual parsed = PRES_MANUAL_NONE;
  gint64 until;

  pres_saved_state_clear (out_saved);

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
      return FALSE;
    }

  manual = g_key_file_get_string (key_file, GROUP, "state", NULL);
  if (manual != NULL && !manual_from_string (manual, &parsed))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED, "%s: unknown manual state “%s”", path,
                   manual);
      return FALSE;
    }

  until = g_key_file_get_int64 (key_file, GROUP, "until", &local_error);
  if (local_error != NULL && !g_error_matches (local_error, G_KEY_FILE_ERROR,
                                               G_KEY_FILE_ERROR_KEY_NOT_FOUND))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
      return FALSE;
    }
  if (until < 0)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED, "%s: negative expiry", path);
      return FALSE;
    }

  text = g_key_file_get_string (key_file, GROUP, "status-text", NULL);
  if (text != NULL && !pres_status_text_validate (text, &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: ", path);
      return FALSE;
    }

  out_saved->manual = parsed;
  out_saved->manual_until = parsed == PRES_MANUAL_NONE ? 0 : until;
  out_saved->status_text = g_steal_pointer (&text);
  return TRUE;
}

static char *
serialise (const PresSavedState *saved,
           gsize                *length)
{
  g_autoptr (GKeyFile) key_file = g_key_file_new ();

  g_key_file_set_string (key_file, GROUP, "state", pres_manual_to_string (saved->manual));
  g_key_file_set_int64 (key_file, GROUP, "until", saved->manual_until);
  g_key_file_set_string (key_file, GROUP, "status-text",
                         saved->status_text ? saved->status_text : "");
  return g_key_file_to_data (key_file, length, NULL);
}

static gboolean
make_parent (const char *path,
             GError    **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, 0700) < 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

gboolean
pres_state_file_save (const char           *path,
                      const PresSavedState *saved,
                      GError              **error)
{
  gsize length;
  g_autofree char *data = serialise (saved, &length);

  if (!make_parent (path, error))
    return FALSE;
  /* Written to a temporary file and renamed: a crash never leaves half a file. */
  return g_file_set_contents_full (path, data, length, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static gboolean
write_all (int         fd,
           const char *data,
           gsize       length)
{
  while (length > 0)
    {
      ssize_t written = write (fd, data, length);

      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        return FALSE;
      data += written;
      length -= written;
    }
  return TRUE;
}

gboolean
pres_state_file_save_unsynced (const char           *path,
                               const PresSavedState *saved,
                               GError              **error)
{
  gsize length;
  g_autofree char *data = serialise (saved, &length);
  g_autofree char *tmp = g_strconcat (path, ".XXXXXX", NULL);
  int saved_errno;
  int fd;

  if (!make_parent (path, error))
    return FALSE;
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create a file beside %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  if (write_all (fd, data, length) && close (fd) == 0 && rename (tmp, path) == 0)
    return TRUE;
  saved_errno = errno;
  close (fd);
  unlink (tmp);
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "Cannot write %s: %s",
               path, g_strerror (saved_errno));
  return FALSE;
}
