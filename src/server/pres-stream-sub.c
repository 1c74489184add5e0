#define G_LOG_DOMAIN "pres-server"

#include "pres-stream-private.h"

/* A sub's reads.  The ids are indexed before the first read, so no change
 * falls between the two; the viewer's grants are read before the states,
 * so the snapshot and every delta after it show what the viewer may see. */

static void
replay_cb (const char *participant_id, PresState state, gpointer user_data)
{
  pres_stream_conn_add_pending (user_data, participant_id, state);
}

/* The current state of every subscribed id, as this viewer sees it. */
static void
conn_send_snapshot (Conn *conn, GPtrArray *ids, const PresState *states, const char *cursor)
{
  g_autoptr (GString) out = g_string_new ("{\"op\":\"snapshot\",\"states\":{");

  for (guint i = 0; i < ids->len; i++)
    {
      PresState seen = pres_stream_conn_view (conn, ids->pdata[i], states[i]);

      pres_stream_conn_set_seen (conn, ids->pdata[i], seen);
      if (i > 0)
        g_string_append_c (out, ',');
      pres_wire_append_json_string (out, ids->pdata[i]);
      g_string_append_c (out, ':');
      pres_wire_append_json_string (out, pres_state_to_string (seen));
    }
  g_string_append (out, "},\"cursor\":");
  pres_wire_append_json_string (out, cursor);
  g_string_append_c (out, '}');
  pres_stream_conn_send (conn, out);
}

/* A read of the connection's current subscription; ids are added by the
 * caller and owned by conn->subs. */
static SubRead *
sub_read_new (Conn *conn, const char *cursor)
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
  pres_stream_conn_unref (read->conn);
  g_ptr_array_unref (read->ids);
  g_free (read->cursor);
  g_free (read);
}

/* Answers a sub once the states are read.  Changes that arrived while the
 * read was in flight are newer than it, so they are applied last. */
static void
sub_states_cb (const PresState *states, const GError *error, gpointer user_data)
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
      pres_stream_conn_unsubscribe (conn);
      pres_stream_conn_send_error (conn, "unavailable",
                                   "the store cannot answer now, subscribe again later");
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
        pres_stream_conn_set_seen (conn, read->ids->pdata[i],
                                   pres_stream_conn_view (conn, read->ids->pdata[i], states[i]));
    }
  if (read->cursor != NULL && pres_event_log_replay (self->log, read->cursor, replay_cb, conn))
    {
      /* replay_cb queued what changed since; send its current state. */
      for (guint i = 0; i < read->ids->len; i++)
        {
          if (!g_hash_table_contains (conn->pending, read->ids->pdata[i]))
            continue;
          pres_stream_conn_add_pending (conn, read->ids->pdata[i], states[i]);
          pres_stream_conn_set_seen (conn, read->ids->pdata[i], -1);
        }
      g_hash_table_iter_init (&iter, during);
      while (g_hash_table_iter_next (&iter, &id, &raw))
        pres_stream_conn_add_pending (conn, id, GPOINTER_TO_INT (raw));
      pres_stream_conn_flush (conn, now_cursor, TRUE);
      goto out;
    }

  conn_send_snapshot (conn, read->ids, states, now_cursor);
  if (g_hash_table_size (during) > 0)
    {
      g_hash_table_iter_init (&iter, during);
      while (g_hash_table_iter_next (&iter, &id, &raw))
        pres_stream_conn_add_pending (conn, id, GPOINTER_TO_INT (raw));
      g_hash_table_add (self->dirty, conn);
      pres_stream_schedule_flush (self);
    }

out:
  sub_read_free (read);
}

/* The subscription's grants come first, so that its snapshot and every
 * delta after it show what the viewer may see. */
static void
sub_grants_cb (const gint64 *until_ms, const GError *error, gpointer user_data)
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
  pres_stream_grants_set (conn->grants, (const char *const *)read->ids->pdata, until_ms,
                          read->ids->len);
  pres_store_get_states (conn->stream->store, (const char *const *)read->ids->pdata, read->ids->len,
                         sub_states_cb, read);
}

/* A sub replaces the previous subscription of the connection.  The ids are
 * indexed before the read, so no change can fall between the two. */
void
pres_stream_conn_subscribe (Conn *conn, GPtrArray *ids, const char *cursor)
{
  PresStream *self = conn->stream;
  SubRead *read;

  pres_stream_conn_unsubscribe (conn);
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
  pres_store_get_grants (self->store, conn->viewer_id, (const char *const *)read->ids->pdata,
                         read->ids->len, sub_grants_cb, read);
}

/* What the store says now, for a subscription that is already answered:
 * whatever differs from what the viewer saw goes out as a delta. */
static void
reread_cb (const PresState *states, const GError *error, gpointer user_data)
{
  SubRead *read = user_data;
  Conn *conn = read->conn;

  if (error == NULL && conn->ws != NULL && read->generation == conn->generation)
    {
      for (guint i = 0; i < read->ids->len; i++)
        pres_stream_conn_add_pending (conn, read->ids->pdata[i], states[i]);
      g_hash_table_add (conn->stream->dirty, conn);
      pres_stream_schedule_flush (conn->stream);
    }
  sub_read_free (read);
}

void
pres_stream_reset_cb (PresStore *store, PresStream *self)
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
      pres_store_get_states (self->store, (const char *const *)read->ids->pdata, read->ids->len,
                             reread_cb, read);
    }
}

/* A conversation recorded (through any node) while this viewer is
 * subscribed: the participant's state is read again, since what the
 * viewer saw (offline) may have been appear_offline.  A sub's first read
 * in flight reads the grants or states after the store held it anyway. */
void
pres_stream_granted_cb (PresStore *store,
                        const char *viewer_id,
                        const char *participant_id,
                        gint64 until_ms,
                        PresStream *self)
{
  GHashTableIter iter;
  gpointer conn_ptr;

  g_hash_table_iter_init (&iter, self->conns);
  while (g_hash_table_iter_next (&iter, &conn_ptr, NULL))
    {
      Conn *conn = conn_ptr;
      SubRead *read;
      gpointer key;

      if (!g_str_equal (conn->viewer_id, viewer_id)
          || !g_hash_table_lookup_extended (conn->subs, participant_id, &key, NULL))
        continue;
      pres_stream_grants_add (conn->grants, participant_id, until_ms);
      if (conn->reading)
        continue;
      read = sub_read_new (conn, NULL);
      g_ptr_array_add (read->ids, key);
      pres_store_get_states (self->store, (const char *const *)read->ids->pdata, read->ids->len,
                             reread_cb, read);
    }
}
