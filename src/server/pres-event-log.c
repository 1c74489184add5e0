#define G_LOG_DOMAIN "pres-server"

#include "pres-event-log.h"

typedef struct
{
  char *participant_id;    /* a state change, or NULL */
  PresMemberEvent *member; /* a member event, or NULL */
} Event;

struct _PresEventLog
{
  guint32 epoch;
  guint capacity;
  guint64 next_seq; /* the seq of event i lives in slot i % capacity */
  Event *ring;
};

PresEventLog *
pres_event_log_new (guint capacity)
{
  PresEventLog *self = g_new0 (PresEventLog, 1);

  self->epoch = g_random_int ();
  self->capacity = MAX (capacity, 1);
  self->next_seq = 1;
  self->ring = g_new0 (Event, self->capacity);
  return self;
}

void
pres_event_log_free (PresEventLog *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < self->capacity; i++)
    {
      g_free (self->ring[i].participant_id);
      pres_member_event_unref (self->ring[i].member);
    }
  g_free (self->ring);
  g_free (self);
}

static Event *
next_slot (PresEventLog *self)
{
  Event *event = &self->ring[self->next_seq % self->capacity];

  g_clear_pointer (&event->participant_id, g_free);
  g_clear_pointer (&event->member, pres_member_event_unref);
  self->next_seq++;
  return event;
}

void
pres_event_log_append_change (PresEventLog *self,
                              const char   *participant_id)
{
  next_slot (self)->participant_id = g_strdup (participant_id);
}

void
pres_event_log_append_member (PresEventLog    *self,
                              PresMemberEvent *event)
{
  event->order[0] = self->next_seq;
  next_slot (self)->member = pres_member_event_ref (event);
}

char *
pres_event_log_get_cursor (PresEventLog *self)
{
  return g_strdup_printf ("%08x-%" G_GUINT64_FORMAT, self->epoch, self->next_seq - 1);
}

/* "<epoch>-<seq>" of this run; FALSE when malformed or of another. */
static gboolean
cursor_parse (PresEventLog *self,
              const char   *cursor,
              guint64      *seq)
{
  guint64 epoch;
  char *end;

  if (cursor == NULL || !g_ascii_isxdigit (*cursor))
    return FALSE;
  epoch = g_ascii_strtoull (cursor, &end, 16);
  if (*end != '-' || epoch != self->epoch || !g_ascii_isdigit (end[1]))
    return FALSE;
  *seq = g_ascii_strtoull (end + 1, &end, 10);
  return *end == '\0' && *seq < self->next_seq;
}

gboolean
pres_event_log_covers (PresEventLog *self,
                       const char   *cursor,
                       guint64       seq)
{
  guint64 at;

  return cursor_parse (self, cursor, &at) && seq <= at;
}

gboolean
pres_event_log_replay (PresEventLog    *self,
                       const char      *cursor,
                       PresEventLogFunc func,
                       gpointer         user_data)
{
  guint64 seq, oldest;

  if (!cursor_parse (self, cursor, &seq))
    return FALSE;

  /* Events seq + 1 … next_seq - 1 must all still be in the ring. */
  oldest = self->next_seq > self->capacity ? self->next_seq - self->capacity : 1;
  if (seq + 1 < oldest)
    return FALSE;
  for (guint64 s = seq + 1; s < self->next_seq; s++)
    {
      Event *event = &self->ring[s % self->capacity];

      if (event->member != NULL)
        func (event->member->participant_id, event->member, user_data);
      else
        func (event->participant_id, NULL, user_data);
    }
  return TRUE;
}
