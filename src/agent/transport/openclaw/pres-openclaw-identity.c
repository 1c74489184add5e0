#define G_LOG_DOMAIN "pres-openclaw"

#include "pres-openclaw-identity.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

/*
 * Ed25519 comes from nettle (libhogweed): GnuTLS is built on it, and
 * glib-networking pulls GnuTLS into every libsoup process, so the library
 * is already on every desktop and in this process. It signs with a raw
 * 32-byte seed, which is exactly what the gateway's device proof needs,
 * without OpenSSL's provider machinery or GnuTLS's key-object ceremony.
 */
#include <nettle/eddsa.h>

#include "pres-error.h"

#define KEY_FILE "openclaw-device.key"
#define TOKEN_FILE "openclaw-device-tokens"
#define TOKEN_GROUP_KEY "deviceToken"

struct _PresOpenclawIdentity
{
  guint8 seed[PRES_OPENCLAW_SEED_BYTES];
  guint8 public_key[ED25519_KEY_SIZE];
  char *id;
  char *public_key_b64;
};

char *
pres_openclaw_base64url (const guint8 *data, gsize length)
{
  char *text = g_base64_encode (data, length);
  char *out = text;

  /* RFC 4648 §5: "-" and "_" instead of "+" and "/", no padding. */
  for (char *p = text; *p != '\0'; p++)
    {
      if (*p == '=')
        break;
      *out++ = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    }
  *out = '\0';
  return text;
}

PresOpenclawIdentity *
pres_openclaw_identity_new_from_seed (const guint8 *seed)
{
  PresOpenclawIdentity *self = g_new0 (PresOpenclawIdentity, 1);

  memcpy (self->seed, seed, sizeof self->seed);
  ed25519_sha512_public_key (self->public_key, self->seed);
  self->id
    = g_compute_checksum_for_data (G_CHECKSUM_SHA256, self->public_key, sizeof self->public_key);
  self->public_key_b64 = pres_openclaw_base64url (self->public_key, sizeof self->public_key);
  return self;
}

void
pres_openclaw_identity_free (PresOpenclawIdentity *self)
{
  if (self == NULL)
    return;
  explicit_bzero (self->seed, sizeof self->seed);
  g_free (self->id);
  g_free (self->public_key_b64);
  g_free (self);
}

const char *
pres_openclaw_identity_get_id (PresOpenclawIdentity *self)
{
  return self->id;
}

const char *
pres_openclaw_identity_get_public_key (PresOpenclawIdentity *self)
{
  return self->public_key_b64;
}

const guint8 *
pres_openclaw_identity_get_public_key_raw (PresOpenclawIdentity *self)
{
  return self->public_key;
}

char *
pres_openclaw_identity_sign (PresOpenclawIdentity *self, const char *payload)
{
  guint8 signature[ED25519_SIGNATURE_SIZE];

  ed25519_sha512_sign (self->public_key, self->seed, strlen (payload), (const guint8 *)payload,
                       signature);
  return pres_openclaw_base64url (signature, sizeof signature);
}

/* Reads a secret file we wrote ourselves; anything open to others is
 * refused, since the key or token in it is no longer ours alone. */
static gboolean
read_private_file (const char *path, char **contents, gsize *length, GError **error)
{
  struct stat st;

  if (g_stat (path, &st) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "%s: %s", path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  if (st.st_uid != getuid () || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED,
                   "%s must be your own file with mode 0600 (run chmod 600 %s, or remove it to "
                   "pair this device anew)",
                   path, path);
      return FALSE;
    }
  return g_file_get_contents (path, contents, length, error);
}

static gboolean
write_private_file (const char *dir,
                    const char *path,
                    const char *data,
                    gssize length,
                    GError **error)
{
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }
  return g_file_set_contents_full (path, data, length, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

PresOpenclawIdentity *
pres_openclaw_identity_load (const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, KEY_FILE, NULL);
  g_autofree char *contents = NULL;
  g_autofree guint8 *seed = NULL;
  PresOpenclawIdentity *self;
  gsize length = 0;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (!read_private_file (path, &contents, &length, error))
        return NULL;
      g_strstrip (contents);
      seed = g_base64_decode (contents, &length);
      if (length != PRES_OPENCLAW_SEED_BYTES)
        {
          g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED,
                       "The device key %s is damaged; remove it to pair this device anew", path);
          if (seed != NULL)
            explicit_bzero (seed, length);
          return NULL;
        }
      self = pres_openclaw_identity_new_from_seed (seed);
      explicit_bzero (seed, length);
      explicit_bzero (contents, strlen (contents));
      return self;
    }

  seed = g_malloc (PRES_OPENCLAW_SEED_BYTES);
  if (getrandom (seed, PRES_OPENCLAW_SEED_BYTES, 0) != PRES_OPENCLAW_SEED_BYTES)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED, "No random bytes for the device key");
      return NULL;
    }
  contents = g_base64_encode (seed, PRES_OPENCLAW_SEED_BYTES);
  if (!write_private_file (dir, path, contents, -1, error))
    {
      explicit_bzero (seed, PRES_OPENCLAW_SEED_BYTES);
      return NULL;
    }
  self = pres_openclaw_identity_new_from_seed (seed);
  explicit_bzero (seed, PRES_OPENCLAW_SEED_BYTES);
  explicit_bzero (contents, strlen (contents));
  g_debug ("Created the device key %s (device %s)", path, self->id);
  return self;
}

/* KIND NULL is the key of the first token a gateway gave, the operator's;
 * every other kind has its own. */
static char *
token_key (const char *kind)
{
  return kind ? g_strdup_printf ("%s-%s", kind, TOKEN_GROUP_KEY) : g_strdup (TOKEN_GROUP_KEY);
}

char *
pres_openclaw_device_token_load (const char *dir, const char *server, const char *kind)
{
  g_autofree char *key = token_key (kind);
  g_autofree char *path = g_build_filename (dir, TOKEN_FILE, NULL);
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  gsize length;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  if (!read_private_file (path, &contents, &length, &error)
      || !g_key_file_load_from_data (file, contents, length, G_KEY_FILE_NONE, &error))
    {
      g_warning ("Ignoring the device tokens: %s", error->message);
      return NULL;
    }
  return g_key_file_get_string (file, server, key, NULL);
}

gboolean
pres_openclaw_device_token_save (const char *dir,
                                 const char *server,
                                 const char *kind,
                                 const char *token,
                                 GError **error)
{
  g_autofree char *key = token_key (kind);
  g_autofree char *path = g_build_filename (dir, TOKEN_FILE, NULL);
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (read_private_file (path, &contents, &length, NULL))
        g_key_file_load_from_data (file, contents, length, G_KEY_FILE_NONE, NULL);
      g_clear_pointer (&contents, g_free);
    }
  if (token != NULL)
    g_key_file_set_string (file, server, key, token);
  else
    g_key_file_remove_key (file, server, key, NULL);
  contents = g_key_file_to_data (file, &length, NULL);
  return write_private_file (dir, path, contents, length, error);
}
