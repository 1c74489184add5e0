#define G_LOG_DOMAIN "pres-http"

#include <string.h>

#include "pres-http-private.h"
#include "pres-wire.h"

/* One request of a connection: its head and body in one allocation, and
 * its answer, which waits in the connection's line until the answers
 * before it are out. */

/* Requests live for microseconds between the store's long-lived entries.
 * Allocated in one size class above glibc's small bins, a freed one is
 * taken again by the next request; smaller ones left holes between store
 * entries (measured: 510 instead of 343 B of RSS per stored instance). */
#define REQUEST_MIN_ALLOCATION 2048

PresHttpRequest *
pres_http_request_new (PresHttpConnection *conn,
                       gsize               size)
{
  PresHttpRequest *req = g_malloc0 (MAX (sizeof (PresHttpRequest) + size, REQUEST_MIN_ALLOCATION));

  req->ref_count = 1;
  req->conn = pres_http_connection_ref (conn);
  return req;
}

PresHttpRequest *
pres_http_request_ref (PresHttpRequest *req)
{
  g_atomic_int_inc (&req->ref_count);
  return req;
}

void
pres_http_request_unref (PresHttpRequest *req)
{
  if (!g_atomic_int_dec_and_test (&req->ref_count))
    return;
  g_clear_pointer (&req->query_table, g_hash_table_unref);
  if (req->upgrade_destroy != NULL)
    req->upgrade_destroy (req->upgrade_data);
  if (req->extra_headers != NULL)
    g_string_free (req->extra_headers, TRUE);
  if (req->response != NULL)
    g_string_free (req->response, TRUE);
  pres_http_connection_unref (req->conn);
  g_free (req);
}

static void
request_finish (PresHttpRequest *req,
                GString         *response)
{
  g_autoptr (PresHttpConnection) conn = pres_http_connection_ref (req->conn);
  gboolean upgrade = req->upgrade_funcs != NULL;

  req->responded = TRUE;
  req->response = response;
  /* req may be gone after this. */
  pres_http_connection_answered (conn, upgrade);
}

void
pres_http_request_respond (PresHttpRequest *req,
                           guint            status,
                           const char      *content_type,
                           const char      *body,
                           gsize            length)
{
  PresHttpServer *self = req->conn->server;
  GString *out;

  g_return_if_fail (!req->responded);
  if (self == NULL)
    {
      /* The client has gone: nobody to answer. */
      req->responded = TRUE;
      return;
    }
  req->close_after |= !req->keep_alive;
  out = g_string_sized_new (200 + length);
  pres_http_server_append_head (self, out, status, req->extra_headers);
  g_string_append_printf (out, "Content-Type: %s\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n%s\r\n",
                          content_type, length, req->close_after ? "Connection: close\r\n" : "");
  if (req->method == NULL || !g_str_equal (req->method, "HEAD"))
    g_string_append_len (out, body, length);
  request_finish (req, out);
}

void
pres_http_request_respond_error (PresHttpRequest *req,
                                 guint            status,
                                 const char      *code,
                                 const char      *message)
{
  g_autofree char *body = pres_wire_error_to_json (code, message);

  pres_http_request_respond (req, status, "application/json", body, strlen (body));
}

PresHttpConnection *
pres_http_request_upgrade (PresHttpRequest            *req,
                           const PresHttpUpgradeFuncs *funcs,
                           gpointer                    user_data,
                           GDestroyNotify              destroy)
{
  PresHttpServer *self = req->conn->server;
  PresHttpConnection *conn;
  GString *out;

  g_return_val_if_fail (!req->responded && req->upgrade, NULL);
  if (self == NULL)
    {
      req->responded = TRUE;
      if (destroy != NULL)
        destroy (user_data);
      return NULL;
    }
  conn = pres_http_connection_ref (req->conn);
  out = g_string_new (NULL);
  pres_http_server_append_head (self, out, 101, req->extra_headers);
  g_string_append (out, "\r\n");
  req->upgrade_funcs = funcs;
  req->upgrade_data = user_data;
  req->upgrade_destroy = destroy;
  request_finish (req, out);
  return conn;
}

const char *
pres_http_request_get_method (PresHttpRequest *req)
{
  return req->method;
}

const char *
pres_http_request_get_path (PresHttpRequest *req)
{
  return req->path;
}

GHashTable *
pres_http_request_get_query (PresHttpRequest *req)
{
  return req->query_table;
}

const char *
pres_http_request_get_header (PresHttpRequest *req,
                              const char      *name)
{
  for (guint i = 0; i < req->n_headers; i++)
    {
      if (g_ascii_strcasecmp (req->headers[i].name, name) == 0)
        return req->headers[i].value;
    }
  return NULL;
}

const char *
pres_http_request_get_body (PresHttpRequest *req,
                            gsize           *length)
{
  if (length != NULL)
    *length = req->body_length;
  return req->body != NULL ? req->body : "";
}

GSocketAddress *
pres_http_request_dup_peer_address (PresHttpRequest *req)
{
  return g_socket_address_new_from_native (&req->conn->peer, req->conn->peer_len);
}

void
pres_http_request_add_response_header (PresHttpRequest *req,
                                       const char      *name,
                                       const char      *value)
{
  if (req->extra_headers == NULL)
    req->extra_headers = g_string_new (NULL);
  g_string_append_printf (req->extra_headers, "%s: %s\r\n", name, value);
}
