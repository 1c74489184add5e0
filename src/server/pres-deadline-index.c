#define G_LOG_DOMAIN "pres-server"

#include "pres-deadline-index.h"

struct _PresDeadlineIndex
{
  GPtrArray *heap; /* of PresDeadlineNode *, not owned */
};

PresDeadlineIndex *
pres_deadline_index_new (void)
{
  PresDeadlineIndex *index = g_new0 (PresDeadlineIndex, 1);

  index->heap = g_ptr_array_new ();
  return index;
}

void
pres_deadline_index_free (PresDeadlineIndex *index)
{
  if (index == NULL)
    return;
  for (guint i = 0; i < index->heap->len; i++)
    ((PresDeadlineNode *) index->heap->pdata[i])->slot = 0;
  g_ptr_array_unref (index->heap);
  g_free (index);
}

static inline PresDeadlineNode *
node_at (PresDeadlineIndex *index,
         guint              i)
{
  return index->heap->pdata[i];
}

static inline void
place (PresDeadlineIndex *index,
       guint              i,
       PresDeadlineNode  *node)
{
  index->heap->pdata[i] = node;
  node->slot = i + 1;
}

static void
sift_up (PresDeadlineIndex *index,
         guint              i)
{
  PresDeadlineNode *node = node_at (index, i);

  while (i > 0)
    {
      guint parent = (i - 1) / 2;

      if (node_at (index, parent)->deadline <= node->deadline)
        break;
      place (index, i, node_at (index, parent));
      i = parent;
    }
  place (index, i, node);
}

static void
sift_down (PresDeadlineIndex *index,
           guint              i)
{
  PresDeadlineNode *node = node_at (index, i);
  guint len = index->heap->len;

  for (;;)
    {
      guint child = 2 * i + 1;

      if (child >= len)
        break;
      if (child + 1 < len &&
          node_at (index, child + 1)->deadline < node_at (index, child)->deadline)
        child++;
      if (node->deadline <= node_at (index, child)->deadline)
        break;
      place (index, i, node_at (index, child));
      i = child;
    }
  place (index, i, node);
}

void
pres_deadline_index_set (PresDeadlineIndex *index,
                         PresDeadlineNode  *node,
                         gint64             deadline)
{
  gint64 old = node->deadline;

  node->deadline = deadline;
  if (node->slot == 0)
    {
      g_ptr_array_add (index->heap, node);
      node->slot = index->heap->len;
      sift_up (index, node->slot - 1);
    }
  else if (deadline < old)
    sift_up (index, node->slot - 1);
  else
    sift_down (index, node->slot - 1);
}

void
pres_deadline_index_remove (PresDeadlineIndex *index,
                            PresDeadlineNode  *node)
{
  guint i, last;

  if (node->slot == 0)
    return;
  i = node->slot - 1;
  last = index->heap->len - 1;
  node->slot = 0;
  if (i != last)
    {
      PresDeadlineNode *moved = node_at (index, last);

      g_ptr_array_set_size (index->heap, last);
      place (index, i, moved);
      /* The moved node may belong above or below its new position. */
      sift_up (index, i);
      sift_down (index, moved->slot - 1);
    }
  else
    g_ptr_array_set_size (index->heap, last);
}

PresDeadlineNode *
pres_deadline_index_peek (PresDeadlineIndex *index)
{
  return index->heap->len > 0 ? node_at (index, 0) : NULL;
}

PresDeadlineNode *
pres_deadline_index_pop_expired (PresDeadlineIndex *index,
                                 gint64             now)
{
  PresDeadlineNode *top = pres_deadline_index_peek (index);

  if (top == NULL || top->deadline > now)
    return NULL;
  pres_deadline_index_remove (index, top);
  return top;
}

guint
pres_deadline_index_size (PresDeadlineIndex *index)
{
  return index->heap->len;
}
