#define G_LOG_DOMAIN "pres-server-url"

#include "pres-server-url.h"

#include <gio/gio.h>

#include "pres-error.h"

gboolean
pres_server_url_host_is_loopback (const char *host)
{
  g_autoptr (GInetAddress) address = NULL;

  if (host == NULL)
    return FALSE;
  /* RFC 6761: "localhost" and its subdomains always resolve to loopback. */
  if (g_ascii_strcasecmp (host, "localhost") == 0 || g_str_has_suffix (host, ".localhost"))
    return TRUE;
  address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

char *
pres_server_url_check (const char *url, gboolean allow_insecure, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  g_autoptr (GError) parse_error = NULL;
  g_autofree char *text = NULL;
  const char *scheme;
  const char *host;
  gsize len;

  if (url == NULL || *url == '\0')
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                           "No presence server is configured (the server-url setting is empty)");
      return NULL;
    }
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, &parse_error);
  if (uri == NULL)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "The server URL is not a valid URL: %s", parse_error->message);
      return NULL;
    }

  scheme = g_uri_get_scheme (uri);
  host = g_uri_get_host (uri);
  if (g_ascii_strcasecmp (scheme, "https") != 0 && g_ascii_strcasecmp (scheme, "http") != 0)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "The server URL must start with https:// (or http:// for this computer), "
                   "not %s://",
                   scheme);
      return NULL;
    }
  if (host == NULL || *host == '\0')
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                           "The server URL has no host name");
      return NULL;
    }
  if (g_uri_get_user (uri) != NULL || g_uri_get_query (uri) != NULL
      || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                           "The server URL must not carry a user name, query or fragment");
      return NULL;
    }
  if (g_ascii_strcasecmp (scheme, "http") == 0 && !allow_insecure
      && !pres_server_url_host_is_loopback (host))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED,
                   "Refusing to send the token over plain http:// to %s: use https://, or turn "
                   "on the allow-insecure setting if this network is trusted",
                   host);
      return NULL;
    }

  text = g_uri_to_string (uri);
  len = strlen (text);
  while (len > 0 && text[len - 1] == '/')
    text[--len] = '\0';
  return g_steal_pointer (&text);
}
