#define G_LOG_DOMAIN "pres-server"

#include <json-glib/json-glib.h>
#include <string.h>

#include "pres-event-log.h"
#include "pres-stream-grants.h"
#include "pres-stream-message.h"
#include "pres-stream.h"
#include "pres-websocket.h"

/* Changes are batched per connection: the first change after a quiet
 * period goes out at once; later ones wait for the next flush, at most
 * FLUSH_INTERVAL_US after the previous one.  One flush source serves all
 * connections. */
#define FLUSH_INTERVAL_US (50 * 1000)
#define EVENT_LOG_CAPACITY 16384
#define MAX_INCOMING_BYTES (256 * 1024)
#define KEEPALIVE_S 30

typedef struct
{
  PresStream *stream;
  PresWebSocket *ws; /* NULL once closed */
  char *token; /* for the rate limit, as on HTTP */
  char *viewer_id;
  GHashTable *subs;    /* id → GINT_TO_POINTER (last state sent as seen by viewer) */
  GHashTable *pending; /* id (owned by subs) → GINT_TO_POINTER (raw state) */
  PresStreamGrants *grants; /* of the subscription, read with it */
  guint generation;    /* of the subscription; a newer sub makes older reads moot */
  gboolean reading;    /* the sub's first read is in flight */
  guint refs;          /* the stream's while open, the WebSocket's, each read in flight */
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
  GHashTable *conns;  /* set of Conn *, owned */
  GHashTable *index;  /* participant id → set of Conn * subscribed to it */
  GHashTable *dirty;  /* set of Conn * with pending changes */
  GSource *flush_source;
  gint64 last_flush_us;
  guint keepalive_id;
  gulong changed_id;
  gulong reset_id;
};

G_DEFINE_TYPE (PresStream, pres_stream, G_TYPE_OBJECT)

static void
conn_unsubscribe (Conn *conn)
{
  GHashTableIter iter;
  gpointer id;

  g_hash_table_iter_init (&iter, conn->subs);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    {
      GHashTable *set = g_hash_table_lookup (conn->stream->index, id);

      if (set != NULL && g_hash_table_remove (set, conn) && g_hash_table_size (set) == 0)
        g_hash_table_remove (conn->stream->index, id);
    }
  g_hash_table_remove_all (conn->pending);
  g_hash_table_remove_all (conn->subs);
  pres_stream_grants_clear (conn->grants);
  g_hash_table_remove (conn->stream->dirty, conn);
}

static void
conn_unref (Conn *conn)
{
  if (--conn->refs > 0)
    return;
  g_clear_pointer (&conn->subs, g_hash_table_unref);
  g_clear_pointer (&conn->pending, g_hash_table_unref);
  g_clear_pointer (&conn->grants, pres_stream_grants_free);
  g_free (conn->viewer_id);
  g_free (conn->token);
  g_free (conn);
}

/* Leaves the stream; a read in flight finds it closed and drops its answer. */
static void
conn_close (Conn *conn)
{
  conn_unsubscribe (conn);
  pres_websocket_close (conn->ws, 1001, "the server is going away");
  g_clear_pointer (&conn->ws, pres_websocket_unref);
  conn_unref (conn);
}

/* Queued on the connection: what one iteration queues goes out at once. */
static void
conn_send (Conn    *conn,
           GString *message)
{
  if (conn->ws == NULL || !pres_websocket_is_open (conn->ws))
    return;
  pres_websocket_send_text (conn->ws, message->str, message->len);
  conn->stream->metrics->stream_messages++;
}

static void
conn_send_error (Conn       *conn,
                 const char *code,
                 const char *message)
{
  g_autoptr (GString) out = g_string_new ("{\"op\":\"error\",\"error\":{\"code\":");

  pres_wire_append_json_string (out, code);
  g_string_append (out, ",\"message\":");
  pres_wire_append_json_string (out, message);
  g_string_append (out, "}}");
  conn_send (conn, out);
}

/* Updates what the viewer last saw of id.  A plain insert would free the
 * key, which pending shares. */
static void
conn_set_seen (Conn       *conn,
               const char *id,
               int         seen)
{
  gpointer key;

  if (g_hash_table_steal_extended (conn->subs, id, &key, NULL))
    g_hash_table_insert (conn->subs, key, GINT_TO_POINTER (seen));
}

static PresState
conn_view (Conn       *conn,
           const char *id,
           PresState   raw)
{
  return pres_store_state_for_viewer_granted (raw, id, conn->viewer_id,
                                              pres_stream_grants_hold (conn->grants, id));
}

/* Sends the pending changes that the viewer has not seen yet; a change that
 * was undone before the flush, or that the viewer cannot see (appear_offline
 * to offline), sends nothing. */
static void
conn_flush (Conn       *conn,
            const char *cursor,
            gboolean    even_if_empty)
{
  g_autoptr (GString) out = g_string_new (NULL);
  GHashTableIter iter;
  gpointer id, raw;
  gboolean any = FALSE;

  g_string_append (out, "{\"op\":\"delta\",\"changes\":{");
  g_hash_table_iter_init (&iter, conn->pending);
  while (g_hash_table_iter_next (&iter, &id, &raw))
    {
      PresState seen = conn_view (conn, id, GPOINTER_TO_INT (raw));

      if (GPOINTER_TO_INT (g_hash_table_lookup (conn->subs, id)) == (int) seen)
        continue;
      conn_set_seen (conn, id, seen);
      if (any)
        g_string_append_c (out, ',');
      pres_wire_append_json_string (out, id);
      g_string_append_c (out, ':');
      pres_wire_append_json_string (out, pres_state_to_string (seen));
      any = TRUE;
    }
  g_hash_table_remove_all (conn->pending);
  /* A resume always answers, so the client knows it was accepted. */
  if (!any && !even_if_empty)
    return;
  g_string_append (out, "},\"cursor\":");
  pres_wire_append_json_string (out, cursor);
  g_string_append_c (out, '}');
  conn_send (conn, out);
}

static gboolean
flush_cb (gpointer user_data)
{
  PresStream *self = user_data;
  g_autofree char *cursor = pres_event_log_get_cursor (self->log);
  GHashTableIter iter;
  gpointer conn;

  self->flush_source = NULL;
  self->last_flush_us = g_get_monotonic_time ();
  g_hash_table_iter_init (&iter, self->dirty);
  while (g_hash_table_iter_next (&iter, &conn, NULL))
    {
      conn_flush (conn, cursor, FALSE);
      g_hash_table_iter_remove (&iter);
    }
  return G_SOURCE_REMOVE;
}

static void
schedule_flush (PresStream *self)
{
  gint64 due;

  if (self->flush_source != NULL)
    return;
  due = MAX (g_get_monotonic_time (), self->last_flush_us + FLUSH_INTERVAL_US);
  self->flush_source = g_timeout_source_new (0);
  g_source_set_ready_time (self->flush_source, due);
  g_source_set_callback (self->flush_source, flush_cb, self, NULL);
  g_source_set_name (self->flush_source, "[pres-server] stream flush");
  g_source_attach (self->flush_source, NULL);
  g_source_unref (self->flush_source);
}

static void
conn_add_pending (Conn       *conn,
                  const char *id,
                  PresState   raw)
{
  gpointer key;

  if (g_hash_table_lookup_extended (conn->subs, id, &key, NULL))
    g_hash_table_insert (conn->pending, key, GINT_TO_POINTER (raw));
}

static void
state_changed_cb (PresStore  *store,
                  const char *participant_id,
                  int         old_state,
                  int         new_state,
                  PresStream *self)
{
  GHashTable *set;
  GHashTableIter iter;
  gpointer conn;

  self->metrics->state_changes++;
  pres_event_log_append (self->log, participant_id, new_state);
  set = g_hash_table_lookup (self->index, participant_id);
  if (set == NULL)
    return;
  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &conn, NULL))
    {
      conn_add_pending (conn, participant_id, new_state);
      g_hash_table_add (self->dirty, conn);
    }
  schedule_flush (self);
}

/* A participant seen through its appear_offline now reads offline to this
 * viewer.  A change already pending is newer than what was seen. */
static void
grant_ended_cb (const char *participant_id,
                gpointer    user_data)
{
  Conn *conn = user_data;

  if (GPOINTER_TO_INT (g_hash_table_lookup (conn->subs, participant_id))
        != PRES_STATE_APPEAR_OFFLINE
      || g_hash_table_contains (conn->pending, participant_id))
    return;
  conn_add_pending (conn, participant_id, PRES_STATE_APPEAR_OFFLINE);
  g_hash_table_add (conn->stream->dirty, conn);
  schedule_flush (conn->stream);
}

static void
replay_cb (const char *participant_id,
           PresState   state,
           gpointer    user_data)
{
  conn_add_pending (user_data, participant_id, state);
}

/* The current state of every subscribed id, as this viewer sees it. */
static void
conn_send_snapshot (Conn            *conn,
                    GPtrArray       *ids,
                    const PresState *states,
                    const char      *cursor)
{
  g_autoptr (GString) out = g_string_new ("{\"op\":\"snapshot\",\"states\":{");

  for (guint i = 0; i < ids->len; i++)
    {
      PresState seen = conn_view (conn, ids->pdata[i], states[i]);

      conn_set_seen (conn, ids->pdata[i], seen);
      if (i > 0)
        g_string_append_c (out, ',');
      pres_wire_append_json_string (out, ids->pdata[i]);
      g_string_append_c (out, ':');
      pres_wire_append_json_string (out, pres_state_to_string (seen));
    }
  g_string_append (out, "},\"cursor\":");
  pres_wire_append_json_string (out, cursor);
  g_string_append_c (out, '}');
  conn_send (conn, out);
}

/* A read of the connection's current subscription; ids are added by the
 * caller and owned by conn->subs. */
static SubRead *
sub_read_new (Conn       *conn,
              const char *cursor)
{
  SubRead *read = g_new0 (SubRead, 1);

  read->conn = conn;
  conn->refs++;
  read->generation = conn->generation;
  read->ids = g_ptr_array_new ();
  read->cursor = g_strdup (cursor);
  return read;
}

static void
sub_read_free (SubRead *read)
{
  conn_unref (read->conn);
  g_ptr_array_unref (read->ids);
  g_free (read->cursor);
  g_free (read);
}

/* Answers a sub once the states are read.  Changes that arrived while the
 * read was in flight are newer than it, so they are applied last. */
static void
sub_states_cb (const PresState *states,
               const GError    *error,
               gpointer         user_data)
{
  SubRead *read = user_data;
  Conn *conn = read->conn;
  PresStream *self = conn->stream;
  g_autoptr (GHashTable) during = NULL;
  g_autofree char *now_cursor = NULL;
  GHashTableIter iter;
  gpointer id, raw;

  if (conn->ws == NULL || read->generation != conn->generation)
    goto out;
  conn->reading = FALSE;
  if (error != NULL)
    {
      conn_unsubscribe (conn);
      conn_send_error (conn, "unavailable", "the store cannot answer now, subscribe again later");
      goto out;
    }

  during = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_iter_init (&iter, conn->pending);
  while (g_hash_table_iter_next (&iter, &id, &raw))
    g_hash_table_insert (during, id, raw);
  g_hash_table_remove_all (conn->pending);
  now_cursor = pres_event_log_get_cursor (self->log);

  if (read->cursor != NULL)
    {
      /* What the client knows: the state at its cursor, i.e. now for every
       * id that has not changed since. */
      for (guint i = 0; i < read->ids->len; i++)
        conn_set_seen (conn, read->ids->pdata[i], conn_view (conn, read->ids->pdata[i], states[i]));
    }
  if (read->cursor != NULL && pres_event_log_replay (self->log, read->cursor, replay_cb, conn))
    {
      /* replay_cb queued what changed since; send its current state. */
      for (guint i = 0; i < read->ids->len; i++)
        {
          if (!g_hash_table_contains (conn->pending, read->ids->pdata[i]))
            continue;
          conn_add_pending (conn, read->ids->pdata[i], states[i]);
          conn_set_seen (conn, read->ids->pdata[i], -1);
        }
      g_hash_table_iter_init (&iter, during);
      while (g_hash_table_iter_next (&iter, &id, &raw))
        conn_add_pending (conn, id, GPOINTER_TO_INT (raw));
      conn_flush (conn, now_cursor, TRUE);
      goto out;
    }

  conn_send_snapshot (conn, read->ids, states, now_cursor);
  if (g_hash_table_size (during) > 0)
    {
      g_hash_table_iter_init (&iter, during);
      while (g_hash_table_iter_next (&iter, &id, &raw))
        conn_add_pending (conn, id, GPOINTER_TO_INT (raw));
      g_hash_table_add (self->dirty, conn);
      schedule_flush (self);
    }

out:
  sub_read_free (read);
}

/* The subscription's grants come first, so that its snapshot and every
 * delta after it show what the viewer may see. */
static void
sub_grants_cb (const gint64 *until_ms,
               const GError *error,
               gpointer      user_data)
{
  SubRead *read = user_data;
  Conn *conn = read->conn;

  if (conn->ws == NULL || read->generation != conn->generation)
    {
      sub_read_free (read);
      return;
    }
  if (error != NULL)
    {
      sub_states_cb (NULL, error, read);
      return;
    }
  pres_stream_grants_set (conn->grants, (const char *const *) read->ids->pdata, until_ms,
                          read->ids->len);
  pres_store_get_states (conn->stream->store, (const char *const *) read->ids->pdata,
                         read->ids->len, sub_states_cb, read);
}

/* A sub replaces the previous subscription of the connection.  The ids are
 * indexed before the read, so no change can fall between the two. */
static void
conn_subscribe (Conn       *conn,
                GPtrArray  *ids,
                const char *cursor)
{
  PresStream *self = conn->stream;
  SubRead *read;

  conn_unsubscribe (conn);
  conn->generation++;
  conn->reading = TRUE;
  read = sub_read_new (conn, cursor);
  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = ids->pdata[i];
      GHashTable *set;
      char *key;

      if (g_hash_table_contains (conn->subs, id))
        continue;
      key = g_strdup (id);
      /* -1: nothing sent yet. */
      g_hash_table_insert (conn->subs, key, GINT_TO_POINTER (-1));
      g_ptr_array_add (read->ids, key);
      set = g_hash_table_lookup (self->index, id);
      if (set == NULL)
        {
          set = g_hash_table_new (NULL, NULL);
          g_hash_table_insert (self->index, g_strdup (id), set);
        }
      g_hash_table_add (set, conn);
    }
  pres_store_get_grants (self->store, conn->viewer_id, (const char *const *) read->ids->pdata,
                         read->ids->len, sub_grants_cb, read);
}

/* What the store says now, for a subscription that is already answered:
 * whatever differs from what the viewer saw goes out as a delta. */
static void
reread_cb (const PresState *states,
           const GError    *error,
           gpointer         user_data)
{
  SubRead *read = user_data;
  Conn *conn = read->conn;

  if (error == NULL && conn->ws != NULL && read->generation == conn->generation)
    {
      for (guint i = 0; i < read->ids->len; i++)
        conn_add_pending (conn, read->ids->pdata[i], states[i]);
      g_hash_table_add (conn->stream->dirty, conn);
      schedule_flush (conn->stream);
    }
  sub_read_free (read);
}

static void
reset_cb (PresStore  *store,
          PresStream *self)
{
  GHashTableIter iter;
  gpointer conn_ptr;

  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, &conn_ptr, NULL))
    {
      Conn *conn = conn_ptr;
      SubRead *read;
      GHashTableIter ids;
      gpointer id;

      /* A first read in flight is newer than the reset anyway. */
      if (conn->reading || g_hash_table_size (conn->subs) == 0)
        continue;
      read = sub_read_new (conn, NULL);
      g_hash_table_iter_init (&ids, conn->subs);
      while (g_hash_table_iter_next (&ids, &id, NULL))
        g_ptr_array_add (read->ids, id);
      pres_store_get_states (self->store, (const char *const *) read->ids->pdata,
                             read->ids->len, reread_cb, read);
    }
}

static void
message_cb (PresWebSocket        *ws,
            PresWebSocketDataType type,
            const char           *data,
            gsize                 length,
            gpointer              user_data)
{
  Conn *conn = user_data;
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GPtrArray) ids = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  const char *cursor = NULL;
  guint retry_after_s;

  /* A sub costs up to a snapshot of 1000 ids: limited like a request. */
  if (!pres_rate_limit_take (conn->stream->rate_limit, conn->token, g_get_monotonic_time (),
                             &retry_after_s))
    {
      conn_send_error (conn, "rate_limited", "too many messages for this token, slow down");
      return;
    }
  if (!pres_stream_message_parse_sub (parser, type, data, length, ids, &cursor, &error))
    {
      conn_send_error (conn, pres_wire_error_code_to_string (error->code), error->message);
      return;
    }
  conn_subscribe (conn, ids, cursor);
}

static void
closed_cb (PresWebSocket *ws,
           gpointer       user_data)
{
  Conn *conn = user_data;

  g_debug ("stream of %s closed", conn->viewer_id);
  if (conn->ws != NULL)
    g_hash_table_remove (conn->stream->conns, conn);
  conn_unref (conn);
}

static const PresWebSocketFuncs websocket_funcs = { message_cb, closed_cb };

static void
reply_error (PresStream      *self,
             PresHttpRequest *req,
             guint            status,
             const char      *code,
             const char      *message)
{
  pres_metrics_reject (self->metrics, status);
  pres_http_request_respond_error (req, status, code, message);
}

/* The token is checked before the handshake, so a bad one gets a 401. */
static void
stream_cb (PresHttpServer  *server,
           PresHttpRequest *req,
           gpointer         user_data)
{
  PresStream *self = user_data;
  PresIdentity identity;
  Conn *conn;

  if (!g_str_equal (pres_http_request_get_path (req), "/v1/stream"))
    {
      reply_error (self, req, 404, "not_found", "no such endpoint");
      return;
    }
  if (!pres_auth_check (self->auth, pres_http_request_get_header (req, "Authorization"),
                        &identity))
    {
      pres_http_request_add_response_header (req, "WWW-Authenticate", "Bearer");
      reply_error (self, req, 401, "unauthorized",
                   "Authorization: a valid bearer token is required");
      return;
    }
  conn = g_new0 (Conn, 1);
  conn->stream = self;
  conn->viewer_id = g_strdup (identity.participant_id);
  conn->token = g_strdup (identity.token);
  conn->subs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  conn->pending = g_hash_table_new (g_str_hash, g_str_equal);
  conn->grants = pres_stream_grants_new (grant_ended_cb, conn);
  conn->refs = 2;
  conn->ws = pres_websocket_accept (req, &websocket_funcs, conn);
  if (conn->ws == NULL)
    {
      /* A bad handshake, answered with 400. */
      conn->refs = 1;
      conn_unref (conn);
      return;
    }
  pres_websocket_set_max_message (conn->ws, MAX_INCOMING_BYTES);
  g_hash_table_add (self->conns, conn);
  g_debug ("stream of %s opened", conn->viewer_id);
}

/* Pings keep idle streams through NATs and let TCP notice a peer that has
 * vanished.  One timer for all. */
static gboolean
keepalive_cb (gpointer user_data)
{
  PresStream *self = user_data;
  GHashTableIter iter;
  gpointer conn;

  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, &conn, NULL))
    pres_websocket_ping (((Conn *) conn)->ws);
  return G_SOURCE_CONTINUE;
}

guint
pres_stream_get_n_subscribers (PresStream *self)
{
  return g_hash_table_size (self->conns);
}

static void
pres_stream_dispose (GObject *object)
{
  PresStream *self = PRES_STREAM (object);

  g_clear_signal_handler (&self->changed_id, self->store);
  g_clear_signal_handler (&self->reset_id, self->store);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  if (self->flush_source != NULL)
    g_source_destroy (g_steal_pointer (&self->flush_source));
  g_clear_pointer (&self->conns, g_hash_table_unref);
  g_clear_pointer (&self->dirty, g_hash_table_unref);
  g_clear_pointer (&self->index, g_hash_table_unref);
  g_clear_pointer (&self->log, pres_event_log_free);
  g_clear_object (&self->store);
  g_clear_object (&self->auth);

  G_OBJECT_CLASS (pres_stream_parent_class)->dispose (object);
}

static void
pres_stream_class_init (PresStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pres_stream_dispose;
}

static void
pres_stream_init (PresStream *self)
{
  self->conns = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) conn_close, NULL);
  self->index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_hash_table_unref);
  self->dirty = g_hash_table_new (NULL, NULL);
  self->log = pres_event_log_new (EVENT_LOG_CAPACITY);
}

PresStream *
pres_stream_new (PresHttpServer *server,
                 PresStore      *store,
                 PresAuth       *auth,
                 PresRateLimit  *rate_limit,
                 PresMetrics    *metrics)
{
  PresStream *self = g_object_new (PRES_TYPE_STREAM, NULL);

  self->store = g_object_ref (store);
  self->auth = g_object_ref (auth);
  self->rate_limit = rate_limit;
  self->metrics = metrics;
  self->changed_id =
    g_signal_connect (store, "state-changed", G_CALLBACK (state_changed_cb), self);
  self->reset_id = g_signal_connect (store, "reset", G_CALLBACK (reset_cb), self);
  self->keepalive_id = g_timeout_add_seconds (KEEPALIVE_S, keepalive_cb, self);
  pres_http_server_add_handler (server, "/v1/stream", stream_cb, self);
  return self;
}
