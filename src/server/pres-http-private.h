#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include "pres-deadline-index.h"
#include "pres-http-parser.h"
#include "pres-http-server.h"

/* Shared by the front end's two halves: the server (listener, main-loop
 * source, deadlines, routes) and its connections (input, output, requests
 * in flight).  Everything here runs on the main thread. */

#define PRES_HTTP_READ_CHUNK (64 * 1024)

struct _PresHttpConnection
{
  gint ref_count;
  PresHttpServer *server; /* NULL once closed */
  int fd;
  guint32 events; /* registered with epoll */
  PresDeadlineNode deadline;
  /* When the request under way must be complete, from its first byte; 0
   * between requests. */
  gint64 request_deadline;
  GList link;       /* in server->conns */
  GList dirty_link; /* in server->dirty while output waits */
  GByteArray *in;   /* received and not used yet; NULL when empty */
  gsize head_scanned;
  PresHttpRequest *partial; /* head parsed, body still arriving */
  gsize partial_have;
  GString *out; /* NULL when empty */
  gsize out_sent;
  GQueue in_flight; /* PresHttpRequest *, owned, in arrival order */
  const PresHttpUpgradeFuncs *upgrade_funcs;
  gpointer upgrade_data;
  GDestroyNotify upgrade_destroy;
  guint awaiting_upgrade : 1; /* nothing after an upgrade request is HTTP */
  guint no_more_requests : 1;
  guint peer_closed : 1;
  guint closing : 1;   /* close once the output is out */
  guint lingering : 1; /* write side shut, reading until EOF */
  guint blocked : 1;   /* the kernel took only part of the output */
  guint in_input : 1;
  union
  {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
  } peer;
  socklen_t peer_len;
};

struct _PresHttpRequest
{
  gint ref_count;
  PresHttpConnection *conn;
  const char *method;
  const char *path;
  const char *query;
  gboolean keep_alive;
  gboolean upgrade;
  GHashTable *query_table;
  GString *extra_headers;
  GString *response; /* waiting for the requests before it */
  const PresHttpUpgradeFuncs *upgrade_funcs;
  gpointer upgrade_data;
  GDestroyNotify upgrade_destroy;
  gboolean responded;
  gboolean close_after;
  char *body;
  gsize body_length;
  guint n_headers;
  /* Then the head's bytes, a NUL, the body and a NUL: one allocation. */
  PresHttpHeader headers[];
};

struct _PresHttpServer
{
  GObject parent_instance;

  char *server_header;
  guint idle_timeout_ms;
  guint request_timeout_ms;
  guint max_connections;
  gsize max_body;
  PresHttpRejectFunc reject;
  gpointer reject_data;
  GArray *routes; /* of Route */

  int listen_fd;
  int epoll_fd;
  int reserve_fd; /* given up to accept and refuse when out of descriptors */
  GSource *source;
  gpointer epoll_tag;
  gint64 ready_time;
  GQueue conns;
  GQueue dirty;
  PresDeadlineIndex *deadlines;
  char *scratch; /* PRES_HTTP_READ_CHUNK */
  char head_buf[PRES_HTTP_MAX_HEAD_BYTES + 1];
  char date[40];
  gint64 date_second;
};

/* pres-http-server.c */
void pres_http_server_append_head (PresHttpServer *self,
                                   GString        *out,
                                   guint           status,
                                   const GString  *extra_headers);
void pres_http_server_arm_timer (PresHttpServer *self);
/* Hands a request to its handler, or answers 404. */
void pres_http_server_route (PresHttpServer  *self,
                             PresHttpRequest *req);

/* pres-http-connection.c */
void pres_http_connection_accepted (PresHttpServer        *self,
                                    int                    fd,
                                    const struct sockaddr *peer,
                                    socklen_t              peer_len);
/* What epoll reported for the connection. */
void pres_http_connection_ready (PresHttpConnection *conn,
                                 guint32             events);
void pres_http_connection_flush (PresHttpConnection *conn);
/* A request's answer is ready: sends what is next in line. */
void pres_http_connection_answered (PresHttpConnection *conn,
                                    gboolean            upgrade);
/* Its deadline passed: an idle or closing connection closes, one with a
 * request under way is answered 408 first. */
void pres_http_connection_expired (PresHttpConnection *conn);

/* pres-http-request.c */
/* A request with room for size bytes of headers, head and body. */
PresHttpRequest *pres_http_request_new (PresHttpConnection *conn,
                                        gsize               size);
/* Closes at once. */
void pres_http_connection_abort (PresHttpConnection *conn);
