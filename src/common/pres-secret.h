#pragma once

#include <gio/gio.h>
#include <libsecret/secret.h>

G_BEGIN_DECLS

/* The server token in the Secret Service (gnome-keyring, KWallet, …):
 * one item per server URL, schema "org.presence.Agent.Token", attribute
 * "server". presencectl login/logout write it, the agent reads it.
 *
 * Every call takes a timeout: a locked keyring may show an unlock prompt
 * and a broken one may never answer, and neither may hold up the agent.
 * On timeout the call fails with G_IO_ERROR_TIMED_OUT at once and the
 * request to the keyring is cancelled. 0 means no timeout. */

#define PRES_SECRET_SCHEMA_NAME "org.presence.Agent.Token"
#define PRES_SECRET_TOKEN_MAX 4096

const SecretSchema *pres_secret_get_schema (void);
char *pres_secret_normalize_server (const char *server);
gboolean pres_secret_token_validate (const char *token, GError **error);

void pres_secret_store_token (const char *server,
                              const char *token,
                              guint timeout_ms,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean pres_secret_store_token_finish (GAsyncResult *result, GError **error);

void pres_secret_lookup_token (const char *server,
                               guint timeout_ms,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data);
char *pres_secret_lookup_token_finish (GAsyncResult *result, GError **error);

void pres_secret_clear_token (const char *server,
                              guint timeout_ms,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean
pres_secret_clear_token_finish (GAsyncResult *result, gboolean *out_removed, GError **error);

void pres_secret_token_free (char *token);

G_END_DECLS
