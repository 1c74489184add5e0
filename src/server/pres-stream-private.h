#pragma once

#include "pres-event-log.h"
#include "pres-stream-grants.h"
#include "pres-stream.h"
#include "pres-websocket.h"

G_BEGIN_DECLS

/* The stream across its files: pres-stream.c (connections, fan-out of
 * changes, coalesced flushes) and pres-stream-sub.c (a sub's reads: grants,
 * snapshot or resume, and the reads again after a reset or a new grant). */

typedef struct
{
  PresStream *stream;
  PresWebSocket *ws; /* NULL once closed */
  char *token;       /* for the rate limit, as on HTTP */
  char *viewer_id;
  GHashTable *subs;         /* id → GINT_TO_POINTER (last state sent as seen by viewer) */
  GHashTable *pending;      /* id (owned by subs) → GINT_TO_POINTER (raw state) */
  PresStreamGrants *grants; /* of the subscription, read with it */
  guint generation;         /* of the subscription; a newer sub makes older reads moot */
  gboolean reading;         /* the sub's first read is in flight */
  guint refs;               /* the stream's while open, the WebSocket's, each read in flight */
} Conn;

/* A sub's read of the current states, in flight. */
typedef struct
{
  Conn *conn;
  guint generation;
  GPtrArray *ids; /* unique, as subscribed */
  char *cursor;   /* the client's, or NULL */
} SubRead;

struct _PresStream
{
  GObject parent_instance;

  PresStore *store;
  PresAuth *auth;
  PresRateLimit *rate_limit; /* not owned */
  PresMetrics *metrics;
  PresEventLog *log;
  GHashTable *conns; /* set of Conn *, owned */
  GHashTable *index; /* participant id → set of Conn * subscribed to it */
  GHashTable *dirty; /* set of Conn * with pending changes */
  GSource *flush_source;
  gint64 last_flush_us;
  guint keepalive_id;
  gulong changed_id;
  gulong reset_id;
  gulong granted_id;
};

void pres_stream_conn_unsubscribe (Conn *conn);
void pres_stream_conn_unref (Conn *conn);
void pres_stream_conn_send (Conn *conn, GString *message);
void pres_stream_conn_send_error (Conn *conn, const char *code, const char *message);
/* What the viewer last saw of id, -1 for nothing yet. */
void pres_stream_conn_set_seen (Conn *conn, const char *id, int seen);
/* The raw state of id as this viewer sees it. */
PresState pres_stream_conn_view (Conn *conn, const char *id, PresState raw);
void pres_stream_conn_flush (Conn *conn, const char *cursor, gboolean even_if_empty);
/* Queues raw as id's newest state for the next flush, if subscribed. */
void pres_stream_conn_add_pending (Conn *conn, const char *id, PresState raw);
void pres_stream_schedule_flush (PresStream *self);

/* pres-stream-sub.c */
void pres_stream_conn_subscribe (Conn *conn, GPtrArray *ids, const char *cursor);
/* The store's "reset" and "granted". */
void pres_stream_reset_cb (PresStore *store, PresStream *self);
void pres_stream_granted_cb (PresStore *store,
                             const char *viewer_id,
                             const char *participant_id,
                             gint64 until_ms,
                             PresStream *self);

G_END_DECLS
