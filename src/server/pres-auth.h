#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Who is calling.  The token decides the participant; a request body never
 * does.  Strings are borrowed from the PresAuth or the request header. */
typedef struct
{
  const char *token;
  const char *participant_id;
  gboolean always_online;
  gboolean admin;
} PresIdentity;

#define PRES_TYPE_AUTH (pres_auth_get_type ())
G_DECLARE_FINAL_TYPE (PresAuth, pres_auth, PRES, AUTH, GObject)

/* The tokens file has one token per line:
 *
 *   <token> <participant_id> [always-online] [admin]
 *
 * Blank lines and lines starting with '#' are ignored.  "always-online"
 * marks an AI agent that reads online without devices; "admin" lets the
 * token list every participant's instances.  A file that group or others
 * may access is refused: the tokens in it are no longer secret. */
PresAuth *pres_auth_new_from_file (const char *path,
                                   GError    **error);
PresAuth *pres_auth_new_from_data (const char *data,
                                   GError    **error);
/* Insecure: any bearer token is accepted as its own participant id. */
PresAuth *pres_auth_new_dev (void);

gboolean   pres_auth_is_dev (PresAuth *self);
/* authorization: the request's Authorization header (may be NULL). */
gboolean   pres_auth_check (PresAuth     *self,
                            const char   *authorization,
                            PresIdentity *out);
/* The participant ids marked always-online. */
GPtrArray *pres_auth_get_always_online (PresAuth *self);

/* [A-Za-z0-9._:@-]{1,128}; participant ids are case-sensitive. */
gboolean pres_participant_id_is_valid (const char *id);

G_END_DECLS
