#define G_LOG_DOMAIN "pres-server"

#include <string.h>

#include "pres-conversation-table.h"

/* Participant ids hold no control characters, so the separator cannot
 * make two pairs share a key. */
#define PAIR_SEP '\x1f'
#define MIN_PRUNE_SIZE 64

typedef struct
{
  gint64 at_ms;
  gint64 expires_at_ms;
} Conversation;

struct _PresConversationTable
{
  GHashTable *pairs; /* "<lower id>\x1f<higher id>" → Conversation */
  guint prune_size;  /* prune when the table grows to this */
};

PresConversationTable *
pres_conversation_table_new (void)
{
  PresConversationTable *self = g_new0 (PresConversationTable, 1);

  self->pairs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->prune_size = MIN_PRUNE_SIZE;
  return self;
}

void
pres_conversation_table_free (PresConversationTable *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->pairs);
  g_free (self);
}

/* Symmetric: the same key whichever of the two is named first. */
static char *
pair_key (const char *a, const char *b)
{
  if (strcmp (a, b) > 0)
    return g_strdup_printf ("%s%c%s", b, PAIR_SEP, a);
  return g_strdup_printf ("%s%c%s", a, PAIR_SEP, b);
}

static void
prune (PresConversationTable *self, gint64 now_ms)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->pairs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Conversation *)value)->expires_at_ms <= now_ms)
      g_hash_table_iter_remove (&iter);
  /* Twice what is live: each entry is looked at a bounded number of times
   * over its life, whatever the rate of conversations. */
  self->prune_size = MAX (MIN_PRUNE_SIZE, 2 * g_hash_table_size (self->pairs));
}

void
pres_conversation_table_record (PresConversationTable *self,
                                const char *a,
                                const char *b,
                                gint64 at_ms,
                                gint64 expires_at_ms,
                                gint64 now_ms,
                                gint64 *held_at_ms,
                                gint64 *held_expires_at_ms)
{
  char *key = pair_key (a, b);
  Conversation *held = g_hash_table_lookup (self->pairs, key);

  if (held == NULL || held->expires_at_ms <= now_ms || held->at_ms < at_ms)
    {
      held = g_new (Conversation, 1);
      held->at_ms = at_ms;
      held->expires_at_ms = expires_at_ms;
      g_hash_table_replace (self->pairs, key, held);
    }
  else
    g_free (key);
  *held_at_ms = held->at_ms;
  *held_expires_at_ms = held->expires_at_ms;
  if (g_hash_table_size (self->pairs) >= self->prune_size)
    prune (self, now_ms);
}

gint64
pres_conversation_table_lookup (PresConversationTable *self,
                                const char *a,
                                const char *b,
                                gint64 now_ms)
{
  g_autofree char *key = pair_key (a, b);
  const Conversation *held = g_hash_table_lookup (self->pairs, key);

  return held != NULL && held->expires_at_ms > now_ms ? held->expires_at_ms : 0;
}

guint
pres_conversation_table_size (PresConversationTable *self)
{
  return g_hash_table_size (self->pairs);
}
