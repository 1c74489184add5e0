#pragma once

#include "pres-http-server.h"

G_BEGIN_DECLS

/* The server side of RFC 6455 on a connection taken over from
 * PresHttpServer.  Client frames must be masked; fragmented messages are
 * joined up to a maximum size; pings are answered.  Sent messages are queued
 * on the connection and go out once per main-loop iteration, so several
 * queued in one iteration cost one send(); a consumer that lets more than
 * the queue cap pile up is closed (1008) instead. */

#define PRES_WEBSOCKET_MAX_MESSAGE (64 * 1024)
#define PRES_WEBSOCKET_MAX_QUEUED  (1024 * 1024)

typedef struct _PresWebSocket PresWebSocket;

typedef enum
{
  PRES_WEBSOCKET_TEXT = 1,
  PRES_WEBSOCKET_BINARY = 2,
} PresWebSocketDataType;

typedef struct
{
  /* A complete message; text is valid UTF-8. */
  void (*message) (PresWebSocket        *ws,
                   PresWebSocketDataType type,
                   const char           *data,
                   gsize                 length,
                   gpointer              user_data);
  /* The connection is gone; no more calls after this one. */
  void (*closed) (PresWebSocket *ws,
                  gpointer       user_data);
} PresWebSocketFuncs;

/* Where frames go: the HTTP connection, or a buffer in the tests. */
typedef struct
{
  void  (*write) (gpointer    transport,
                  const void *data,
                  gsize       length);
  gsize (*get_queued) (gpointer transport);
  /* Close after what is queued; transport_closed follows. */
  void  (*close) (gpointer transport);
} PresWebSocketTransport;

/* base64 (SHA-1 (key + the RFC 6455 GUID)). */
char          *pres_websocket_accept_key (const char *key);

/* Checks the upgrade request and answers it: 101 and a WebSocket, or a 400
 * JSON error and NULL.  The stream's owner keeps the reference returned. */
PresWebSocket *pres_websocket_accept (PresHttpRequest          *req,
                                      const PresWebSocketFuncs *funcs,
                                      gpointer                  user_data);

PresWebSocket *pres_websocket_new (const PresWebSocketTransport *transport,
                                   gpointer                      transport_data,
                                   GDestroyNotify                transport_destroy,
                                   const PresWebSocketFuncs     *funcs,
                                   gpointer                      user_data);
/* Bytes from the client; returns how many were used (whole frames). */
gsize          pres_websocket_feed (PresWebSocket *ws,
                                    guint8        *data,
                                    gsize          length);
void           pres_websocket_transport_closed (PresWebSocket *ws);

PresWebSocket *pres_websocket_ref (PresWebSocket *ws);
void           pres_websocket_unref (PresWebSocket *ws);
void           pres_websocket_set_max_message (PresWebSocket *ws,
                                               gsize          max_message);
void           pres_websocket_set_max_queued (PresWebSocket *ws,
                                              gsize          max_queued);
gboolean       pres_websocket_is_open (PresWebSocket *ws);
void           pres_websocket_send_text (PresWebSocket *ws,
                                         const char    *text,
                                         gsize          length);
void           pres_websocket_ping (PresWebSocket *ws);
/* Sends a close frame and closes the connection after it. */
void           pres_websocket_close (PresWebSocket *ws,
                                     gushort        code,
                                     const char    *reason);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresWebSocket, pres_websocket_unref)

G_END_DECLS
