#pragma once

#include "pres-stream-grants.h"
#include "pres-stream.h"
#include "pres-websocket.h"

G_BEGIN_DECLS

/* The stream across its files: pres-stream.c (connections, fan-out of
 * changes, coalesced flushes), pres-stream-sub.c (a sub's reads: grants,
 * snapshot or resume, and the reads again after a reset or a new grant) and
 * pres-stream-events.c (member events: queued per subscription, shown as
 * the viewer may see them). */

/* A member event as the stream sends it: its JSON written once for every
 * subscriber. */
typedef struct
{
  gint refs;
  PresMemberEvent *event;
  GString *json;
} StreamEvent;

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
  guint events_asked;       /* member events wanted: a bit (1 << PresMemberAction) each */
  GPtrArray *events;        /* of StreamEvent, queued for the next flush, oldest first */
  guint refs;               /* the stream's while open, the WebSocket's, each read in flight */
} Conn;

/* A sub's read of the current states, in flight. */
typedef struct
{
  Conn *conn;
  guint generation;
  GPtrArray *ids; /* unique, as subscribed */
  char *cursor;   /* the client's, or NULL */
  gboolean resumed;     /* the store replayed from cursor */
  GPtrArray *changed;   /* of the ids: those that changed since cursor */
  GPtrArray *replayed;  /* of StreamEvent: since cursor, oldest first */
  PresState *states;    /* one per id, once read */
} SubRead;

struct _PresStream
{
  GObject parent_instance;

  PresStore *store;
  PresAuth *auth;
  PresRateLimit *rate_limit; /* not owned */
  PresMetrics *metrics;
  GHashTable *conns; /* set of Conn *, owned */
  GHashTable *index; /* participant id → set of Conn * subscribed to it */
  GHashTable *dirty; /* set of Conn * with pending changes */
  GSource *flush_source;
  gint64 last_flush_us;
  guint keepalive_id;
  gulong changed_id;
  gulong reset_id;
  gulong granted_id;
  gulong member_id;
};

void pres_stream_conn_unsubscribe (Conn *conn);
void pres_stream_conn_unref (Conn *conn);
void pres_stream_conn_send (Conn *conn, GString *message);
void pres_stream_conn_send_error (Conn *conn, const char *code, const char *message);
/* What the viewer last saw of id, -1 for nothing yet. */
void pres_stream_conn_set_seen (Conn *conn, const char *id, int seen);
/* The raw state of id as this viewer sees it. */
PresState pres_stream_conn_view (Conn *conn, const char *id, PresState raw);
/* Sends what is pending (state changes, member events) as one delta; a
 * connection whose sub is still being read waits for its answer. */
void pres_stream_conn_flush (Conn *conn, const char *cursor, gboolean even_if_empty);
/* Queues raw as id's newest state for the next flush, if subscribed. */
void pres_stream_conn_add_pending (Conn *conn, const char *id, PresState raw);
void pres_stream_schedule_flush (PresStream *self);

/* pres-stream-sub.c */
void pres_stream_conn_subscribe (Conn *conn, GPtrArray *ids, const char *cursor,
                                 guint events_asked);
/* The store's "reset" and "granted". */
void pres_stream_reset_cb (PresStore *store, PresStream *self);
void pres_stream_granted_cb (PresStore *store,
                             const char *viewer_id,
                             const char *participant_id,
                             gint64 until_ms,
                             PresStream *self);

/* pres-stream-events.c */
StreamEvent *pres_stream_event_new (PresMemberEvent *event);
void pres_stream_event_unref (StreamEvent *event);
/* The store's "member-event": queued on every connection that asked. */
void pres_stream_member_event_cb (PresStore *store, PresMemberEvent *event, PresStream *self);
/* Appends ",\"events\":[…]" with the queued events this viewer may see and
 * empties the queue; FALSE (nothing appended) when none. */
gboolean pres_stream_conn_take_events (Conn *conn, GString *out);
/* Appends ",\"members\":[…]": of infos (PresInstanceInfo), the members this
 * viewer may see. */
void pres_stream_conn_append_members (Conn *conn, GPtrArray *infos, GString *out);

G_END_DECLS
