#define G_LOG_DOMAIN "pres-server"

#include "pres-event-log.h"

typedef struct
{
  char *participant_id;
  PresState state;
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
    g_free (self->ring[i].participant_id);
  g_free (self->ring);
  g_free (self);
}

void
pres_event_log_append (PresEventLog *self,
                       const char   *participant_id,
                       PresState     state)
{
  Event *event = &self->ring[self->next_seq % self->capacity];

  g_free (event->participant_id);
  event->participant_id = g_strdup (participant_id);
  event->state = state;
  self->next_seq++;
}

char *
pres_event_log_get_cursor (PresEventLog *self)
{
  return g_strdup_printf ("%08x-%" G_GUINT64_FORMAT, self->epoch, self->next_seq - 1);
}

gboolean
pres_event_log_replay (PresEventLog    *self,
                       const char      *cursor,
                       PresEventLogFunc func,
                       gpointer         user_data)
{
  guint64 epoch, seq, oldest;
  char *end;

  if (cursor == NULL || !g_ascii_isxdigit (*cursor))
    return FALSE;
  epoch = g_ascii_strtoull (cursor, &end, 16);
  if (*end != '-' || epoch != self->epoch || !g_ascii_isdigit (end[1]))
    return FALSE;
  seq = g_ascii_strtoull (end + 1, &end, 10);
  if (*end != '\0' || seq >= self->next_seq)
    return FALSE;

  /* Events seq + 1 … next_seq - 1 must all still be in the ring. */
  oldest = self->next_seq > self->capacity ? self->next_seq - self->capacity : 1;
  if (seq + 1 < oldest)
    return FALSE;
  for (guint64 s = seq + 1; s < self->next_seq; s++)
    {
      Event *event = &self->ring[s % self->capacity];

      func (event->participant_id, event->state, user_data);
    }
  return TRUE;
}
