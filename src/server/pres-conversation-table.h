#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The memory store's conversations: for each pair of participants, the
 * newest "they talked at T" and its deadline, on the wall clock the
 * platform's T is given on.  A lookup checks the deadline, so an expired
 * conversation grants nothing even before it is pruned; expired entries are
 * pruned as the table grows, so it holds at most about twice the live ones. */

typedef struct _PresConversationTable PresConversationTable;

PresConversationTable *pres_conversation_table_new (void);
void pres_conversation_table_free (PresConversationTable *self);

/* Keeps the newer of the pair's conversation and this one; *held_at_ms and
 * *held_expires_at_ms: what the pair holds after.  now_ms: wall clock. */
void pres_conversation_table_record (PresConversationTable *self,
                                     const char *a,
                                     const char *b,
                                     gint64 at_ms,
                                     gint64 expires_at_ms,
                                     gint64 now_ms,
                                     gint64 *held_at_ms,
                                     gint64 *held_expires_at_ms);
/* The deadline of the pair's live conversation, 0 without one. */
gint64 pres_conversation_table_lookup (PresConversationTable *self,
                                       const char *a,
                                       const char *b,
                                       gint64 now_ms);
guint pres_conversation_table_size (PresConversationTable *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresConversationTable, pres_conversation_table_free)

G_END_DECLS
