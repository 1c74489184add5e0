#define G_LOG_DOMAIN "pres-server"

#include "pres-stream-private.h"

/* A sub's reads.  The ids are indexed before the first read, so no change
 * falls between the two; the viewer's grants are read before the states,
 * so the snapshot and every delta after it show what the viewer may see. */

/* The current state of every subscribed id, as this viewer sees it, and
 * with member events asked, the members it may see. */
static void
conn_send_snapshot (Conn *conn, GPtrArray *ids, const PresState *states, GPtrArray *members,
                    const char *cursor)
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
  g_string_append_c (out, '}');
  if (members != NULL)
    pres_stream_conn_append_members (conn, members, out);
  g_string_append (out, ",\"cursor\":");
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
  read->changed = g_ptr_array_new ();
  read->replayed = g_ptr_array_new_with_free_func ((GDestroyNotify) pres_stream_event_unref);
  return read;
}

static void
sub_read_free (SubRead *read)
{
  pres_stream_conn_unref (read->conn);
  g_ptr_array_unref (read->ids);
  g_ptr_array_unref (read->changed);
  g_ptr_array_unref (read->replayed);
  g_free (read->states);
  g_free (read->cursor);
  g_free (read);
}

static gboolean
sub_read_is_moot (SubRead *read)
{
  return read->conn->ws == NULL || read->generation != read->conn->generation;
}

static void
sub_read_fail (SubRead *read)
{
  read->conn->reading = FALSE;
  pres_stream_conn_unsubscribe (read->conn);
  pres_stream_conn_send_error (read->conn, "unavailable",
                               "the store cannot answer now, subscribe again later");
  sub_read_free (read);
}

/* Whether a read's answer is still wanted and came: a newer sub or a
 * closed stream makes it moot, an error ends the subscription.  FALSE
 * when the read is done with (freed). */
static gboolean
sub_read_goes_on (SubRead *read, const GError *error)
{
  if (sub_read_is_moot (read))
    sub_read_free (read);
  else if (error != NULL)
    sub_read_fail (read);
  else
    return TRUE;
  return FALSE;
}

/* What the client missed since its cursor: the current state of each id
 * that changed, then the member events the store replayed, then those
 * that came while the sub was read (newer than the replay). */
static void
sub_answer_resumed (SubRead *read, GHashTable *during)
{
  Conn *conn = read->conn;
  g_autofree char *now_cursor = pres_store_get_cursor (conn->stream->store);
  g_autoptr (GHashTable) changed = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer id, raw;

  for (guint i = 0; i < read->changed->len; i++)
    g_hash_table_add (changed, read->changed->pdata[i]);
  /* What the client knows: the state at its cursor, i.e. now for every id
   * that has not changed since: neither in the replay nor while the sub
   * was read (the read may already show such a change, which the client
   * has not been told). */
  for (guint i = 0; i < read->ids->len; i++)
    {
      const char *id_i = read->ids->pdata[i];

      pres_stream_conn_set_seen (conn, id_i, pres_stream_conn_view (conn, id_i, read->states[i]));
      if (!g_hash_table_contains (changed, id_i))
        continue;
      pres_stream_conn_add_pending (conn, id_i, read->states[i]);
      pres_stream_conn_set_seen (conn, id_i, -1);
    }
  g_hash_table_iter_init (&iter, during);
  while (g_hash_table_iter_next (&iter, &id, &raw))
    {
      pres_stream_conn_add_pending (conn, id, GPOINTER_TO_INT (raw));
      pres_stream_conn_set_seen (conn, id, -1);
    }
  /* Events that came while the sub was read but that the cursor covers
   * (this node read Redis behind the one the cursor came from) were sent. */
  for (guint i = conn->events->len; i-- > 0;)
    {
      StreamEvent *queued = conn->events->pdata[i];

      if (pres_store_cursor_covers (conn->stream->store, read->cursor, queued->event))
        g_ptr_array_remove_index (conn->events, i);
    }
  g_ptr_array_extend_and_steal (read->replayed, g_steal_pointer (&conn->events));
  conn->events = g_steal_pointer (&read->replayed);
  read->replayed = g_ptr_array_new_with_free_func ((GDestroyNotify) pres_stream_event_unref);
  pres_stream_conn_flush (conn, now_cursor, TRUE);
}

/* Answers a sub once everything is read.  Changes that arrived while the
 * read was in flight are newer than it, so they are applied last. */
static void
sub_answer (SubRead *read, GPtrArray *members)
{
  Conn *conn = read->conn;
  PresStream *self = conn->stream;
  g_autoptr (GHashTable) during = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *now_cursor = NULL;
  GHashTableIter iter;
  gpointer id, raw;

  conn->reading = FALSE;
  g_hash_table_iter_init (&iter, conn->pending);
  while (g_hash_table_iter_next (&iter, &id, &raw))
    g_hash_table_insert (during, id, raw);
  g_hash_table_remove_all (conn->pending);

  if (read->resumed)
    {
      sub_answer_resumed (read, during);
      sub_read_free (read);
      return;
    }
  now_cursor = pres_store_get_cursor (self->store);
  conn_send_snapshot (conn, read->ids, read->states, members, now_cursor);
  g_hash_table_iter_init (&iter, during);
  while (g_hash_table_iter_next (&iter, &id, &raw))
    pres_stream_conn_add_pending (conn, id, GPOINTER_TO_INT (raw));
  if (g_hash_table_size (conn->pending) > 0 || conn->events->len > 0)
    {
      g_hash_table_add (self->dirty, conn);
      pres_stream_schedule_flush (self);
    }
  sub_read_free (read);
}

static void
sub_members_cb (GPtrArray *infos, const GError *error, gpointer user_data)
{
  SubRead *read = user_data;

  if (sub_read_goes_on (read, error))
    sub_answer (read, infos);
}

/* A snapshot with member events asked shows the members too, so that the
 * events that follow it make sense. */
static void
sub_states_cb (const PresState *states, const GError *error, gpointer user_data)
{
  SubRead *read = user_data;
  Conn *conn = read->conn;

  if (!sub_read_goes_on (read, error))
    return;
  read->states = g_memdup2 (states, sizeof (PresState) * MAX (read->ids->len, 1));
  if (conn->events_asked != 0 && !read->resumed)
    pres_store_list_members (conn->stream->store, (const char *const *)read->ids->pdata,
                             read->ids->len, sub_members_cb, read);
  else
    sub_answer (read, NULL);
}

/* The subscription's grants come first, so that its snapshot and every
 * delta after it show what the viewer may see. */
static void
sub_grants_cb (const gint64 *until_ms, const GError *error, gpointer user_data)
{
  SubRead *read = user_data;
  Conn *conn = read->conn;

  if (!sub_read_goes_on (read, error))
    return;
  pres_stream_grants_set (conn->grants, (const char *const *)read->ids->pdata, until_ms,
                          read->ids->len);
  pres_store_get_states (conn->stream->store, (const char *const *)read->ids->pdata, read->ids->len,
                         sub_states_cb, read);
}

static void
sub_read_grants (SubRead *read)
{
  pres_store_get_grants (read->conn->stream->store, read->conn->viewer_id,
                         (const char *const *)read->ids->pdata, read->ids->len, sub_grants_cb,
                         read);
}

/* The store's replay covers what came before the sub; what comes after
 * is queued on the connection meanwhile. */
static void
sub_replayed_cb (gboolean resumed, GPtrArray *changed_ids, GPtrArray *events, const GError *error,
                 gpointer user_data)
{
  SubRead *read = user_data;
  Conn *conn = read->conn;

  if (!sub_read_goes_on (read, error))
    return;
  read->resumed = resumed;
  for (guint i = 0; i < changed_ids->len; i++)
    {
      gpointer key;

      if (g_hash_table_lookup_extended (conn->subs, changed_ids->pdata[i], &key, NULL))
        g_ptr_array_add (read->changed, key);
    }
  for (guint i = 0; i < events->len; i++)
    {
      PresMemberEvent *event = events->pdata[i];

      if (conn->events_asked & (1u << event->action))
        g_ptr_array_add (read->replayed, pres_stream_event_new (event));
    }
  sub_read_grants (read);
}

/* A sub replaces the previous subscription of the connection.  The ids are
 * indexed before the first read (the replay, or the grants), so no change
 * can fall between the two. */
void
pres_stream_conn_subscribe (Conn *conn, GPtrArray *ids, const char *cursor, guint events_asked)
{
  PresStream *self = conn->stream;
  SubRead *read;

  pres_stream_conn_unsubscribe (conn);
  conn->generation++;
  conn->reading = TRUE;
  conn->events_asked = events_asked;
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
  if (cursor != NULL)
    pres_store_replay (self->store, cursor, (const char *const *)read->ids->pdata, read->ids->len,
                       sub_replayed_cb, read);
  else
    sub_read_grants (read);
}

/* What the store says now, for a subscription that is already answered:
 * whatever differs from what the viewer saw goes out as a delta. */
static void
reread_cb (const PresState *states, const GError *error, gpointer user_data)
{
  SubRead *read = user_data;
  Conn *conn = read->conn;

  if (error == NULL && !sub_read_is_moot (read))
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
