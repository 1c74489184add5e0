#define G_LOG_DOMAIN "pres-server"

#include "pres-stream-grants.h"

struct _PresStreamGrants
{
  GHashTable *until; /* participant id → gint64 *, the grant's deadline */
  GSource *timer;    /* at the earliest deadline, while there is one */
  PresStreamGrantEndedFunc ended;
  gpointer user_data;
};

static gint64
now_ms (void)
{
  return g_get_real_time () / 1000;
}

static void arm (PresStreamGrants *self);

/* The ids are collected before any is reported: `ended` may read the set. */
static gboolean
timer_cb (gpointer user_data)
{
  PresStreamGrants *self = user_data;
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer id, until;
  gint64 now = now_ms ();

  self->timer = NULL;
  g_hash_table_iter_init (&iter, self->until);
  while (g_hash_table_iter_next (&iter, &id, &until))
    if (*(gint64 *)until <= now)
      {
        g_ptr_array_add (gone, g_strdup (id));
        g_hash_table_iter_remove (&iter);
      }
  arm (self);
  for (guint i = 0; i < gone->len; i++)
    self->ended (gone->pdata[i], self->user_data);
  return G_SOURCE_REMOVE;
}

/* The deadline is on the wall clock; the wait for it is a monotonic timer
 * from now, a millisecond past it so that it has passed when it fires. */
static void
arm (PresStreamGrants *self)
{
  GHashTableIter iter;
  gpointer until;
  gint64 earliest = G_MAXINT64;

  if (self->timer != NULL)
    g_source_destroy (g_steal_pointer (&self->timer));
  g_hash_table_iter_init (&iter, self->until);
  while (g_hash_table_iter_next (&iter, NULL, &until))
    earliest = MIN (earliest, *(gint64 *)until);
  if (earliest == G_MAXINT64)
    return;
  self->timer = g_timeout_source_new (CLAMP (earliest - now_ms () + 1, 0, G_MAXINT32));
  g_source_set_callback (self->timer, timer_cb, self, NULL);
  g_source_set_name (self->timer, "[pres-server] stream grant deadline");
  g_source_attach (self->timer, NULL);
  g_source_unref (self->timer);
}

PresStreamGrants *
pres_stream_grants_new (PresStreamGrantEndedFunc ended, gpointer user_data)
{
  PresStreamGrants *self = g_new0 (PresStreamGrants, 1);

  self->until = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->ended = ended;
  self->user_data = user_data;
  return self;
}

void
pres_stream_grants_clear (PresStreamGrants *self)
{
  g_hash_table_remove_all (self->until);
  if (self->timer != NULL)
    g_source_destroy (g_steal_pointer (&self->timer));
}

void
pres_stream_grants_free (PresStreamGrants *self)
{
  if (self == NULL)
    return;
  pres_stream_grants_clear (self);
  g_hash_table_unref (self->until);
  g_free (self);
}

void
pres_stream_grants_set (PresStreamGrants *self,
                        const char *const *ids,
                        const gint64 *until_ms,
                        guint n_ids)
{
  pres_stream_grants_clear (self);
  for (guint i = 0; i < n_ids; i++)
    if (until_ms[i] > 0)
      g_hash_table_insert (self->until, g_strdup (ids[i]),
                           g_memdup2 (&until_ms[i], sizeof (gint64)));
  arm (self);
}

void
pres_stream_grants_add (PresStreamGrants *self, const char *participant_id, gint64 until_ms)
{
  gint64 *held = g_hash_table_lookup (self->until, participant_id);

  if (held != NULL)
    *held = MAX (*held, until_ms);
  else
    g_hash_table_insert (self->until, g_strdup (participant_id),
                         g_memdup2 (&until_ms, sizeof until_ms));
  arm (self);
}

gboolean
pres_stream_grants_hold (PresStreamGrants *self, const char *participant_id)
{
  const gint64 *until = g_hash_table_lookup (self->until, participant_id);

  return until != NULL && *until > now_ms ();
}
