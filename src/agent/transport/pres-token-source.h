#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PRES_TOKEN_MAX_BYTES 1024

/* Where the token came from, for messages (never the token itself). */
typedef enum
{
  PRES_TOKEN_ORIGIN_NONE,
  PRES_TOKEN_ORIGIN_FILE,
  PRES_TOKEN_ORIGIN_ENVIRONMENT,
  PRES_TOKEN_ORIGIN_KEYRING,
} PresTokenOrigin;

const char *pres_token_origin_to_string (PresTokenOrigin origin);

/* A token goes into an HTTP header as is: visible ASCII only. */
gboolean pres_token_is_valid (const char *token);

/* Reads a token file, refusing one that others can read or that belongs to
 * someone else: a token readable by other users is a leaked token. */
char *pres_token_file_read (const char *path, GError **error);

/*
 * Finds the token: TOKEN_FILE when given (no fallback: the caller asked for
 * that file), else $PRESENCE_TOKEN, else the Secret Service entry for SERVER.
 * The keyring lookup gives up after PRES_TOKEN_KEYRING_TIMEOUT_MS, so a
 * missing or locked keyring never holds up the agent. Finishes with NULL
 * and no error when there is simply no token.
 */
#define PRES_TOKEN_KEYRING_TIMEOUT_MS 3000

void pres_token_lookup_async (const char *token_file,
                              const char *server,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data);
char *pres_token_lookup_finish (GAsyncResult *result, PresTokenOrigin *origin, GError **error);

G_END_DECLS
