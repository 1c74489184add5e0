#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Builds and wires presence-server: the store, auth, limits, the HTTP API
 * and the event stream, on one PresHttpServer. */

typedef struct
{
  const char *tokens_file; /* NULL with dev */
  gboolean dev;
  guint ttl_ms;
  guint interval_ms;
  guint conversation_window_ms; /* 0: the default, 24 h */
  guint max_instances;
  double rate_limit;
  guint rate_burst;
  const char *store; /* NULL or "memory", "redis://…", "unix:/…" */
} PresServerOptions;

#define PRES_TYPE_SERVER (pres_server_get_type ())
G_DECLARE_FINAL_TYPE (PresServer, pres_server, PRES, SERVER, GObject)

PresServer *pres_server_new (const PresServerOptions *options,
                             GError                 **error);
/* listen: "HOST:PORT" or "[HOST]:PORT" with an IP address (or
 * "localhost"); port 0 picks a free port.  Returns the URI listened on. */
char       *pres_server_listen (PresServer *self,
                                const char *listen,
                                GError    **error);

G_END_DECLS
