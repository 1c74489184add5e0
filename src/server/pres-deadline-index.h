#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A binary min-heap of deadlines (monotonic µs).  The node is embedded in the
 * owner's struct, so the index allocates one pointer per entry and can update
 * or remove an entry in O(log n) without searching for it.  The sweeper pops
 * only what has expired: no timer per entry and no scan of all entries. */
typedef struct
{
  gint64 deadline;
  guint  slot; /* position in the heap + 1; 0 = not in the index */
} PresDeadlineNode;

typedef struct _PresDeadlineIndex PresDeadlineIndex;

PresDeadlineIndex *pres_deadline_index_new (void);
void               pres_deadline_index_free (PresDeadlineIndex *index);

void              pres_deadline_index_set (PresDeadlineIndex *index,
                                           PresDeadlineNode  *node,
                                           gint64             deadline);
void              pres_deadline_index_remove (PresDeadlineIndex *index,
                                              PresDeadlineNode  *node);
PresDeadlineNode *pres_deadline_index_peek (PresDeadlineIndex *index);
PresDeadlineNode *pres_deadline_index_pop_expired (PresDeadlineIndex *index,
                                                   gint64             now);
guint             pres_deadline_index_size (PresDeadlineIndex *index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresDeadlineIndex, pres_deadline_index_free)

G_END_DECLS
