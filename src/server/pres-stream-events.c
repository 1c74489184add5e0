#define G_LOG_DOMAIN "pres-server"

#include "pres-member-page.h"
#include "pres-stream-private.h"

/* Member events on the stream.  Each is written once and queued on every
 * connection that asked for its kind; at the flush a viewer gets the ones
 * it may see, in the order the store told them, inside the delta whose
 * cursor covers them. */

StreamEvent *
pres_stream_event_new (PresMemberEvent *event)
{
  StreamEvent *self = g_new0 (StreamEvent, 1);

  self->refs = 1;
  self->event = pres_member_event_ref (event);
  self->json = g_string_new (NULL);
  pres_member_event_append_json (event, self->json);
  return self;
}

static StreamEvent *
stream_event_ref (StreamEvent *self)
{
  self->refs++;
  return self;
}

void
pres_stream_event_unref (StreamEvent *self)
{
  if (self == NULL || --self->refs > 0)
    return;
  pres_member_event_unref (self->event);
  g_string_free (self->json, TRUE);
  g_free (self);
}

/* A member of a participant that appears offline to this viewer is not
 * there for it: no event of it shows, nor one that would say it had been
 * (a leave from appear_offline). */
static gboolean
conn_may_see (Conn                  *conn,
              const PresMemberEvent *event)
{
  if (g_strcmp0 (conn->viewer_id, event->participant_id) == 0
      || pres_stream_grants_hold (conn->grants, event->participant_id))
    return TRUE;
  return event->state != PRES_STATE_APPEAR_OFFLINE
         && event->participant_state != PRES_STATE_APPEAR_OFFLINE;
}

void
pres_stream_member_event_cb (PresStore       *store,
                             PresMemberEvent *event,
                             PresStream      *self)
{
  GHashTable *set = g_hash_table_lookup (self->index, event->participant_id);
  StreamEvent *shared = NULL;
  GHashTableIter iter;
  gpointer conn_ptr;

  self->metrics->member_events++;
  if (set == NULL)
    return;
  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &conn_ptr, NULL))
    {
      Conn *conn = conn_ptr;

      if ((conn->events_asked & (1u << event->action)) == 0)
        continue;
      if (shared == NULL)
        shared = pres_stream_event_new (event);
      g_ptr_array_add (conn->events, stream_event_ref (shared));
      g_hash_table_add (self->dirty, conn);
    }
  if (shared == NULL)
    return;
  pres_stream_event_unref (shared);
  pres_stream_schedule_flush (self);
}

gboolean
pres_stream_conn_take_events (Conn    *conn,
                              GString *out)
{
  gboolean any = FALSE;

  for (guint i = 0; i < conn->events->len; i++)
    {
      StreamEvent *queued = conn->events->pdata[i];

      if (!conn_may_see (conn, queued->event))
        continue;
      g_string_append (out, any ? "," : ",\"events\":[");
      g_string_append_len (out, queued->json->str, queued->json->len);
      any = TRUE;
    }
  g_ptr_array_set_size (conn->events, 0);
  if (any)
    g_string_append_c (out, ']');
  return any;
}

void
pres_stream_conn_append_members (Conn      *conn,
                                 GPtrArray *infos,
                                 GString   *out)
{
  g_autoptr (GPtrArray) hidden = pres_member_page_hidden (conn->viewer_id, infos);
  g_autoptr (GHashTable) hide = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean first = TRUE;

  for (guint i = 0; i < hidden->len; i++)
    if (!pres_stream_grants_hold (conn->grants, hidden->pdata[i]))
      g_hash_table_add (hide, hidden->pdata[i]);
  g_string_append (out, ",\"members\":[");
  for (guint i = 0; i < infos->len; i++)
    {
      const PresInstanceInfo *info = infos->pdata[i];

      if (g_hash_table_contains (hide, info->participant_id))
        continue;
      if (!first)
        g_string_append_c (out, ',');
      pres_member_page_append_member (out, info);
      first = FALSE;
    }
  g_string_append_c (out, ']');
}
