#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PRES_OPENCLAW_SEED_BYTES 32
#define PRES_OPENCLAW_SIGNATURE_BYTES 64

/*
 * This device's Ed25519 identity towards an OpenClaw gateway. The gateway
 * pairs the key, not the token: losing the key means pairing again, so it
 * is generated once and kept (0600) in the agent's state directory.
 */
typedef struct _PresOpenclawIdentity PresOpenclawIdentity;

PresOpenclawIdentity *pres_openclaw_identity_new_from_seed (const guint8 *seed);

/* Loads DIR/openclaw-device.key, or creates it when there is none. Refuses a
 * key file that others can read, or that is damaged, rather than replacing
 * it: a new key would silently need a new pairing. */
PresOpenclawIdentity *pres_openclaw_identity_load (const char *dir, GError **error);
void pres_openclaw_identity_free (PresOpenclawIdentity *self);

/* Lowercase hex SHA-256 of the raw public key: the gateway's device.id. */
const char *pres_openclaw_identity_get_id (PresOpenclawIdentity *self);
/* The raw 32-byte public key, base64url without padding. */
const char *pres_openclaw_identity_get_public_key (PresOpenclawIdentity *self);
const guint8 *pres_openclaw_identity_get_public_key_raw (PresOpenclawIdentity *self);

/* The Ed25519 signature of the UTF-8 PAYLOAD, base64url without padding. */
char *pres_openclaw_identity_sign (PresOpenclawIdentity *self, const char *payload);

char *pres_openclaw_base64url (const guint8 *data, gsize length);

/* The deviceToken a gateway handed out, kept per gateway URL and KIND (the
 * role it was given to; NULL for the operator's) in
 * DIR/openclaw-device-tokens (0600). NULL when there is none. */
char *pres_openclaw_device_token_load (const char *dir, const char *server, const char *kind);
gboolean pres_openclaw_device_token_save (const char *dir,
                                          const char *server,
                                          const char *kind,
                                          const char *token,
                                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresOpenclawIdentity, pres_openclaw_identity_free)

G_END_DECLS
