#define G_LOG_DOMAIN "pres-instance-id"

#include <errno.h>
#include <unistd.h>

#include <gio/gio.h>

#include "pres-instance-id.h"

/*
 * The instance id names this user on this machine to the server. It is
 * derived from /etc/machine-id with an HMAC keyed for this application, so
 * it is stable across restarts and reinstalls, differs per machine and per
 * user, and cannot be turned back into the machine id (the same idea as
 * sd_id128_get_machine_app_specific). Without a machine id, a random id is
 * generated once and kept in the state directory.
 */

#define APP_KEY "org.presence.Agent instance-id v1"

static char *
format_uuid (const guint8 bytes[16])
{
  guint8 b[16];

  memcpy (b, bytes, sizeof b);
  /* An RFC 9562 version 8 (custom) UUID: the variant and version bits set. */
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                          b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
                          b[11], b[12], b[13], b[14], b[15]);
}

char *
pres_instance_id_derive (const char *machine_id,
                         guint       uid)
{
  g_autoptr (GHmac) hmac = NULL;
  g_autofree char *message = NULL;
  guint8 digest[32];
  gsize digest_len = sizeof digest;

  g_return_val_if_fail (machine_id != NULL, NULL);

  hmac = g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) APP_KEY, strlen (APP_KEY));
  message = g_strdup_printf ("%s:%u", machine_id, uid);
  g_hmac_update (hmac, (const guchar *) message, -1);
  g_hmac_get_digest (hmac, digest, &digest_len);
  return format_uuid (digest);
}

static char *
read_machine_id (const char *path)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  g_strstrip (contents);
  if (strlen (contents) != 32)
    return NULL;
  return g_steal_pointer (&contents);
}

static char *
load_or_generate (const char *state_dir,
                  GError    **error)
{
  g_autofree char *path = g_build_filename (state_dir, "instance-id", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *generated = NULL;

  if (g_file_get_contents (path, &contents, NULL, NULL))
    {
      g_strstrip (contents);
      if (g_uuid_string_is_valid (contents))
        return g_ascii_strdown (contents, -1);
      g_warning ("Replacing the invalid instance id in %s", path);
    }

  generated = g_uuid_string_random ();
  if (g_mkdir_with_parents (state_dir, 0700) < 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", state_dir, g_strerror (saved_errno));
      return NULL;
    }
  if (!g_file_set_contents_full (path, generated, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return NULL;
  return g_steal_pointer (&generated);
}

char *
pres_instance_id_get (const char *machine_id_path,
                      const char *state_dir,
                      GError    **error)
{
  g_autofree char *machine_id = read_machine_id (machine_id_path ? machine_id_path
                                                                 : "/etc/machine-id");

  if (machine_id != NULL)
    return pres_instance_id_derive (machine_id, getuid ());
  return load_or_generate (state_dir, error);
}
