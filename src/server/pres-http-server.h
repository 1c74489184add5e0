#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* presence-server's HTTP/1.1 front end: the listener and every connection on
 * one epoll descriptor, which is a single source on the GLib main context.
 * GLib's own loop polls each of its sources' descriptors on every iteration,
 * which costs O(connections) per request; epoll reports only the ready ones.
 *
 * Keep-alive by default, pipelined requests answered in order, bodies by
 * Content-Length only (head ≤ 8 KiB, body ≤ the configured maximum), idle
 * connections closed by one timer for all, and every request complete
 * within a fixed time of its first byte (10 s unless set), or answered 408.  A handler may answer at once or
 * later (the store may be asynchronous): a request holds its connection, and
 * an answer for a connection that has gone is dropped.  Output queued during
 * a main-loop iteration is sent once, with one send() per connection. */

#define PRES_TYPE_HTTP_SERVER (pres_http_server_get_type ())
G_DECLARE_FINAL_TYPE (PresHttpServer, pres_http_server, PRES, HTTP_SERVER, GObject)

typedef struct _PresHttpRequest PresHttpRequest;
typedef struct _PresHttpConnection PresHttpConnection;

/* req is borrowed: take a reference to answer it after returning. */
typedef void (*PresHttpHandler) (PresHttpServer  *server,
                                 PresHttpRequest *req,
                                 gpointer         user_data);
/* A request the front end refused itself (malformed, too large, …). */
typedef void (*PresHttpRejectFunc) (guint    status,
                                    gpointer user_data);

PresHttpServer *pres_http_server_new (const char *server_header);
void            pres_http_server_set_idle_timeout (PresHttpServer *self,
                                                   guint           timeout_ms);
void            pres_http_server_set_request_timeout (PresHttpServer *self,
                                                      guint           timeout_ms);
void            pres_http_server_set_max_connections (PresHttpServer *self,
                                                      guint           max_connections);
void            pres_http_server_set_max_body (PresHttpServer *self,
                                               gsize           max_body);
void            pres_http_server_set_reject_func (PresHttpServer    *self,
                                                  PresHttpRejectFunc func,
                                                  gpointer           user_data);
/* The handler of the longest matching path prefix answers; prefix NULL is
 * the fallback (404 without one). */
void            pres_http_server_add_handler (PresHttpServer *self,
                                              const char     *prefix,
                                              PresHttpHandler handler,
                                              gpointer        user_data);
/* The handler of exactly this path (no query), before any prefix: "/" is
 * one page, not every path. */
void            pres_http_server_add_exact_handler (PresHttpServer *self,
                                                    const char     *path,
                                                    PresHttpHandler handler,
                                                    gpointer        user_data);
/* Binds and listens; returns the bound address (for port 0). */
GSocketAddress *pres_http_server_listen (PresHttpServer *self,
                                         GSocketAddress *address,
                                         int             backlog,
                                         GError        **error);
guint           pres_http_server_get_n_connections (PresHttpServer *self);
/* Closes every connection at once (shutdown). */
void            pres_http_server_disconnect (PresHttpServer *self);

PresHttpRequest *pres_http_request_ref (PresHttpRequest *req);
void             pres_http_request_unref (PresHttpRequest *req);
const char      *pres_http_request_get_method (PresHttpRequest *req);
const char      *pres_http_request_get_path (PresHttpRequest *req);
/* Decoded query parameters: NULL when the target had no query. */
GHashTable      *pres_http_request_get_query (PresHttpRequest *req);
const char      *pres_http_request_get_header (PresHttpRequest *req,
                                               const char      *name);
/* NUL-terminated; length excludes the NUL. */
const char      *pres_http_request_get_body (PresHttpRequest *req,
                                             gsize           *length);
GSocketAddress  *pres_http_request_dup_peer_address (PresHttpRequest *req);
/* A header for the response, e.g. Retry-After; before responding. */
void             pres_http_request_add_response_header (PresHttpRequest *req,
                                                        const char      *name,
                                                        const char      *value);
/* Answers once; body is copied.  Does nothing if the client is gone. */
void             pres_http_request_respond (PresHttpRequest *req,
                                            guint            status,
                                            const char      *content_type,
                                            const char      *body,
                                            gsize            length);
/* Answers with the protocol's JSON error body: {"error": {code, message}}. */
void             pres_http_request_respond_error (PresHttpRequest *req,
                                                  guint            status,
                                                  const char      *code,
                                                  const char      *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresHttpRequest, pres_http_request_unref)

/* Taking a connection over after "101 Switching Protocols" (WebSocket). */
typedef struct
{
  /* Bytes arrived: returns how many were used; the rest is offered again
   * with what follows.  data may be modified (unmasking in place). */
  gsize (*input) (guint8  *data,
                  gsize    length,
                  gpointer user_data);
  /* The connection is gone: no more calls after this one. */
  void  (*closed) (gpointer user_data);
} PresHttpUpgradeFuncs;

/* Answers req with 101 and the response headers added to it; from then on
 * the connection's bytes go to funcs, and the connection owns user_data
 * (destroy is called after closed).  Returns a reference, or NULL (and
 * destroys user_data) when the client has gone already. */
PresHttpConnection *pres_http_request_upgrade (PresHttpRequest            *req,
                                               const PresHttpUpgradeFuncs *funcs,
                                               gpointer                    user_data,
                                               GDestroyNotify              destroy);
PresHttpConnection *pres_http_connection_ref (PresHttpConnection *conn);
void                pres_http_connection_unref (PresHttpConnection *conn);
/* Queued and sent at the end of the main-loop iteration, with whatever
 * else was queued for this connection meanwhile. */
void                pres_http_connection_write (PresHttpConnection *conn,
                                                const void         *data,
                                                gsize               length);
/* Bytes queued and not yet taken by the kernel. */
gsize               pres_http_connection_get_queued (PresHttpConnection *conn);
/* Closes after the queued bytes are sent, or after a few seconds anyway;
 * nothing more is read or written. */
void                pres_http_connection_close (PresHttpConnection *conn);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresHttpConnection, pres_http_connection_unref)

G_END_DECLS
