#define G_LOG_DOMAIN "pres-server"

#include <string.h>

#include "pres-stream-auth.h"

char *
pres_stream_auth_credentials (PresHttpRequest *req,
                              const char     **protocol)
{
  const char *authorization = pres_http_request_get_header (req, "Authorization");
  const char *offered = pres_http_request_get_header (req, "Sec-WebSocket-Protocol");
  g_auto (GStrv) protocols = NULL;
  const char *token = NULL;
  gboolean versioned = FALSE;

  *protocol = NULL;
  if (offered == NULL)
    return g_strdup (authorization);
  protocols = g_strsplit (offered, ",", -1);
  for (guint i = 0; protocols[i] != NULL; i++)
    {
      const char *name = g_strstrip (protocols[i]);

      if (g_str_equal (name, PRES_STREAM_PROTOCOL))
        versioned = TRUE;
      else if (g_str_has_prefix (name, PRES_STREAM_BEARER_PROTOCOL) && token == NULL)
        token = name + strlen (PRES_STREAM_BEARER_PROTOCOL);
    }
  if (versioned)
    *protocol = PRES_STREAM_PROTOCOL;
  /* The header says more than a subprotocol; a bearer one counts only
   * beside presence.v1, the protocol it belongs to. */
  if (authorization != NULL)
    return g_strdup (authorization);
  if (versioned && token != NULL && *token != '\0')
    return g_strconcat ("Bearer ", token, NULL);
  return NULL;
}
