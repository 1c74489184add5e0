#define G_LOG_DOMAIN "pres-server"

#include <gio/gio.h>
#include <string.h>

#include "pres-roster-page.h"
#include "pres-roster-resources.h"

#define RESOURCE_PREFIX "/org/presence/Server/roster/"
#define ASSET_PREFIX    "/roster/"

/* Nothing but the page's own files, and no inline script or style: a
 * token pasted into it cannot leave for anywhere but this server. */
#define CONTENT_SECURITY_POLICY \
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " \
  "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

typedef struct
{
  const char *path; /* under /roster/, or the page itself */
  const char *resource;
  const char *content_type;
} Asset;

static const Asset page = { NULL, "index.html", "text/html; charset=utf-8" };
static const Asset assets[] = {
  { "roster.css", "roster.css", "text/css; charset=utf-8" },
  { "roster.js", "roster.js", "text/javascript; charset=utf-8" },
};

static void
reply_error (PresMetrics     *metrics,
             PresHttpRequest *req,
             guint            status,
             const char      *code,
             const char      *message)
{
  pres_metrics_reject (metrics, status);
  pres_http_request_respond_error (req, status, code, message);
}

static void
serve (PresMetrics     *metrics,
       PresHttpRequest *req,
       const Asset     *asset)
{
  const char *method = pres_http_request_get_method (req);
  g_autofree char *resource = g_strconcat (RESOURCE_PREFIX, asset->resource, NULL);
  g_autoptr (GBytes) bytes = NULL;
  gsize length;
  const char *data;

  if (!g_str_equal (method, "GET") && !g_str_equal (method, "HEAD"))
    {
      pres_http_request_add_response_header (req, "Allow", "GET, HEAD");
      reply_error (metrics, req, 405, "method_not_allowed", "the roster page: only GET, HEAD allowed");
      return;
    }
  /* Compiled in: a lookup that fails is a build defect. */
  bytes = g_resource_lookup_data (pres_roster_get_resource (), resource,
                                 G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_return_if_fail (bytes != NULL);
  data = g_bytes_get_data (bytes, &length);
  /* The files change with the server, under the same names: revalidate. */
  pres_http_request_add_response_header (req, "Cache-Control", "no-cache");
  pres_http_request_add_response_header (req, "Content-Security-Policy", CONTENT_SECURITY_POLICY);
  pres_http_request_add_response_header (req, "X-Content-Type-Options", "nosniff");
  pres_http_request_add_response_header (req, "Referrer-Policy", "no-referrer");
  pres_http_request_respond (req, 200, asset->content_type, data, length);
}

static void
page_cb (PresHttpServer  *server,
         PresHttpRequest *req,
         gpointer         user_data)
{
  serve (user_data, req, &page);
}

static void
asset_cb (PresHttpServer  *server,
          PresHttpRequest *req,
          gpointer         user_data)
{
  const char *path = pres_http_request_get_path (req);

  for (guint i = 0; i < G_N_ELEMENTS (assets); i++)
    {
      if (g_str_has_prefix (path, ASSET_PREFIX) &&
          g_str_equal (path + strlen (ASSET_PREFIX), assets[i].path))
        {
          serve (user_data, req, &assets[i]);
          return;
        }
    }
  reply_error (user_data, req, 404, "not_found", "no such endpoint");
}

void
pres_roster_page_add_routes (PresHttpServer *server,
                             PresMetrics    *metrics)
{
  pres_http_server_add_exact_handler (server, "/", page_cb, metrics);
  pres_http_server_add_exact_handler (server, "/roster", page_cb, metrics);
  pres_http_server_add_handler (server, ASSET_PREFIX, asset_cb, metrics);
}
