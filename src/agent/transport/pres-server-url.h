#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Checks the configured server URL before any token goes to it: http or
 * https only, and plain http only to this machine unless ALLOW_INSECURE.
 * Returns the URL with a trailing slash removed, or NULL with a message
 * meant for LastError. The message never quotes the URL's user info.
 */
char *pres_server_url_check (const char *url, gboolean allow_insecure, GError **error);

/* Whether HOST (a GUri host: IPv6 without brackets) is this machine. */
gboolean pres_server_url_host_is_loopback (const char *host);

G_END_DECLS
