#define G_LOG_DOMAIN "pres-server"

#include <json-glib/json-glib.h>
#include <string.h>

#include "pres-stream-auth.h"
#include "pres-stream-message.h"
#include "pres-stream-private.h"
#include "pres-websocket.h"

/* Changes are batched per connection: the first change after a quiet
 * period goes out at once; later ones wait for the next flush, at most
 * FLUSH_INTERVAL_US after the previous one.  One flush source serves all
 * connections. */
#define FLUSH_INTERVAL_US (50 * 1000)
#define MAX_INCOMING_BYTES (256 * 1024)
#define KEEPALIVE_S 30

G_DEFINE_TYPE (PresStream, pres_stream, G_TYPE_OBJECT)

void
pres_stream_conn_unsubscribe (Conn *conn)
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
  g_ptr_array_set_size (conn->events, 0);
  pres_stream_grants_clear (conn->grants);
  g_hash_table_remove (conn->stream->dirty, conn);
}

void
pres_stream_conn_unref (Conn *conn)
{
  if (--conn->refs > 0)
    return;
  g_clear_pointer (&conn->subs, g_hash_table_unref);
  g_clear_pointer (&conn->pending, g_hash_table_unref);
  g_clear_pointer (&conn->events, g_ptr_array_unref);
  g_clear_pointer (&conn->grants, pres_stream_grants_free);
  g_free (conn->viewer_id);
  g_free (conn->token);
  g_free (conn);
}

/* Leaves the stream; a read in flight finds it closed and drops its answer. */
static void
conn_close (Conn *conn)
{
  pres_stream_conn_unsubscribe (conn);
  pres_websocket_close (conn->ws, 1001, "the server is going away");
  g_clear_pointer (&conn->ws, pres_websocket_unref);
  pres_stream_conn_unref (conn);
}

/* Queued on the connection: what one iteration queues goes out at once. */
void
pres_stream_conn_send (Conn    *conn,
           GString *message)
{
  if (conn->ws == NULL || !pres_websocket_is_open (conn->ws))
    return;
  pres_websocket_send_text (conn->ws, message->str, message->len);
  conn->stream->metrics->stream_messages++;
}

void
pres_stream_conn_send_error (Conn       *conn,
                 const char *code,
                 const char *message)
{
  g_autoptr (GString) out = g_string_new ("{\"op\":\"error\",\"error\":{\"code\":");

  pres_wire_append_json_string (out, code);
  g_string_append (out, ",\"message\":");
  pres_wire_append_json_string (out, message);
  g_string_append (out, "}}");
  pres_stream_conn_send (conn, out);
}

/* Updates what the viewer last saw of id.  A plain insert would free the
 * key, which pending shares. */
void
pres_stream_conn_set_seen (Conn       *conn,
               const char *id,
               int         seen)
{
  gpointer key;

  if (g_hash_table_steal_extended (conn->subs, id, &key, NULL))
    g_hash_table_insert (conn->subs, key, GINT_TO_POINTER (seen));
}

PresState
pres_stream_conn_view (Conn       *conn,
           const char *id,
           PresState   raw)
{
  return pres_store_state_for_viewer_granted (raw, id, conn->viewer_id,
                                              pres_stream_grants_hold (conn->grants, id));
}

/* Sends the pending changes that the viewer has not seen yet and the
 * member events it may see; a change that was undone before the flush, or
 * that the viewer cannot see (appear_offline to offline), sends nothing. */
void
pres_stream_conn_flush (Conn       *conn,
                        const char *cursor,
                        gboolean    even_if_empty)
{
  g_autoptr (GString) out = g_string_new (NULL);
  GHashTableIter iter;
  gpointer id, raw;
  gboolean any = FALSE;

  if (conn->reading)
    return;
  g_string_append (out, "{\"op\":\"delta\",\"changes\":{");
  g_hash_table_iter_init (&iter, conn->pending);
  while (g_hash_table_iter_next (&iter, &id, &raw))
    {
      PresState seen = pres_stream_conn_view (conn, id, GPOINTER_TO_INT (raw));

      if (GPOINTER_TO_INT (g_hash_table_lookup (conn->subs, id)) == (int) seen)
        continue;
      pres_stream_conn_set_seen (conn, id, seen);
      if (any)
        g_string_append_c (out, ',');
      pres_wire_append_json_string (out, id);
      g_string_append_c (out, ':');
      pres_wire_append_json_string (out, pres_state_to_string (seen));
      any = TRUE;
    }
  g_hash_table_remove_all (conn->pending);
  g_string_append_c (out, '}');
  any = pres_stream_conn_take_events (conn, out) || any;
  /* A resume always answers, so the client knows it was accepted. */
  if (!any && !even_if_empty)
    return;
  g_string_append (out, ",\"cursor\":");
  pres_wire_append_json_string (out, cursor);
  g_string_append_c (out, '}');
  pres_stream_conn_send (conn, out);
}

static gboolean
flush_cb (gpointer user_data)
{
  PresStream *self = user_data;
  g_autofree char *cursor = pres_store_get_cursor (self->store);
  GHashTableIter iter;
  gpointer conn;

  self->flush_source = NULL;
  self->last_flush_us = g_get_monotonic_time ();
  g_hash_table_iter_init (&iter, self->dirty);
  while (g_hash_table_iter_next (&iter, &conn, NULL))
    {
      pres_stream_conn_flush (conn, cursor, FALSE);
      g_hash_table_iter_remove (&iter);
    }
  return G_SOURCE_REMOVE;
}

void
pres_stream_schedule_flush (PresStream *self)
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

void
pres_stream_conn_add_pending (Conn       *conn,
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
  set = g_hash_table_lookup (self->index, participant_id);
  if (set == NULL)
    return;
  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &conn, NULL))
    {
      pres_stream_conn_add_pending (conn, participant_id, new_state);
      g_hash_table_add (self->dirty, conn);
    }
  pres_stream_schedule_flush (self);
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
  pres_stream_conn_add_pending (conn, participant_id, PRES_STATE_APPEAR_OFFLINE);
  g_hash_table_add (conn->stream->dirty, conn);
  pres_stream_schedule_flush (conn->stream);
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
  guint retry_after_s, events_asked;

  /* A sub costs up to a snapshot of 1000 ids: limited like a request. */
  if (!pres_rate_limit_take (conn->stream->rate_limit, conn->token, g_get_monotonic_time (),
                             &retry_after_s))
    {
      pres_stream_conn_send_error (conn, "rate_limited", "too many messages for this token, slow down");
      return;
    }
  if (!pres_stream_message_parse_sub (parser, type, data, length, ids, &cursor, &events_asked,
                                      &error))
    {
      pres_stream_conn_send_error (conn, pres_wire_error_code_to_string (error->code), error->message);
      return;
    }
  pres_stream_conn_subscribe (conn, ids, cursor, events_asked);
}

static void
closed_cb (PresWebSocket *ws,
           gpointer       user_data)
{
  Conn *conn = user_data;

  g_debug ("stream of %s closed", conn->viewer_id);
  if (conn->ws != NULL)
    g_hash_table_remove (conn->stream->conns, conn);
  pres_stream_conn_unref (conn);
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

/* The token is checked before the handshake, so a bad one gets a 401 and
 * never a subscription. */
static void
stream_cb (PresHttpServer  *server,
           PresHttpRequest *req,
           gpointer         user_data)
{
  PresStream *self = user_data;
  g_autofree char *authorization = NULL;
  const char *protocol;
  PresIdentity identity;
  Conn *conn;

  if (!g_str_equal (pres_http_request_get_path (req), "/v1/stream"))
    {
      reply_error (self, req, 404, "not_found", "no such endpoint");
      return;
    }
  authorization = pres_stream_auth_credentials (req, &protocol);
  if (!pres_auth_check (self->auth, authorization, &identity))
    {
      pres_http_request_add_response_header (req, "WWW-Authenticate", "Bearer");
      reply_error (self, req, 401, "unauthorized",
                   "Authorization: a valid bearer token is required "
                   "(or Sec-WebSocket-Protocol: presence.v1, bearer.<token>)");
      return;
    }
  if (protocol != NULL)
    pres_http_request_add_response_header (req, "Sec-WebSocket-Protocol", protocol);
  conn = g_new0 (Conn, 1);
  conn->stream = self;
  conn->viewer_id = g_strdup (identity.participant_id);
  conn->token = g_strdup (identity.token);
  conn->subs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  conn->pending = g_hash_table_new (g_str_hash, g_str_equal);
  conn->events = g_ptr_array_new_with_free_func ((GDestroyNotify) pres_stream_event_unref);
  conn->grants = pres_stream_grants_new (grant_ended_cb, conn);
  conn->refs = 2;
  conn->ws = pres_websocket_accept (req, &websocket_funcs, conn);
  if (conn->ws == NULL)
    {
      /* A bad handshake, answered with 400. */
      conn->refs = 1;
      pres_stream_conn_unref (conn);
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
  g_clear_signal_handler (&self->granted_id, self->store);
  g_clear_signal_handler (&self->member_id, self->store);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  if (self->flush_source != NULL)
    g_source_destroy (g_steal_pointer (&self->flush_source));
  g_clear_pointer (&self->conns, g_hash_table_unref);
  g_clear_pointer (&self->dirty, g_hash_table_unref);
  g_clear_pointer (&self->index, g_hash_table_unref);
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
  self->reset_id = g_signal_connect (store, "reset", G_CALLBACK (pres_stream_reset_cb), self);
  self->granted_id =
    g_signal_connect (store, "granted", G_CALLBACK (pres_stream_granted_cb), self);
  self->member_id =
    g_signal_connect (store, "member-event", G_CALLBACK (pres_stream_member_event_cb), self);
  self->keepalive_id = g_timeout_add_seconds (KEEPALIVE_S, keepalive_cb, self);
  pres_http_server_add_handler (server, "/v1/stream", stream_cb, self);
  return self;
}
