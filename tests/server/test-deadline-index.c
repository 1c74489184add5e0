#include "pres-deadline-index.h"

static void
test_pop_order (void)
{
  g_autoptr (PresDeadlineIndex) index = pres_deadline_index_new ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  const guint n = 2000;
  g_autofree PresDeadlineNode *nodes = g_new0 (PresDeadlineNode, n);
  g_autofree gboolean *removed = g_new0 (gboolean, n);
  PresDeadlineNode *node;
  gint64 last = G_MININT64;
  guint popped = 0, n_removed = 0;

  for (guint i = 0; i < n; i++)
    pres_deadline_index_set (index, &nodes[i], g_rand_int_range (rand, 0, 100000));
  /* Move some later, some earlier, remove some: as heartbeats and leaves do. */
  for (guint i = 0; i < n; i += 3)
    pres_deadline_index_set (index, &nodes[i], g_rand_int_range (rand, 0, 100000));
  for (guint i = 1; i < n; i += 7)
    {
      pres_deadline_index_remove (index, &nodes[i]);
      g_assert_cmpuint (nodes[i].slot, ==, 0);
      removed[i] = TRUE;
      n_removed++;
    }
  g_assert_cmpuint (pres_deadline_index_size (index), ==, n - n_removed);

  /* Nothing before its deadline... */
  node = pres_deadline_index_peek (index);
  g_assert_null (pres_deadline_index_pop_expired (index, node->deadline - 1));
  /* ...and everything, in deadline order, after. */
  while ((node = pres_deadline_index_pop_expired (index, 50000)) != NULL)
    {
      g_assert_cmpint (node->deadline, >=, last);
      g_assert_cmpint (node->deadline, <=, 50000);
      g_assert_false (removed[node - nodes]);
      last = node->deadline;
      popped++;
    }
  while ((node = pres_deadline_index_pop_expired (index, G_MAXINT64)) != NULL)
    {
      g_assert_cmpint (node->deadline, >=, last);
      last = node->deadline;
      popped++;
    }
  g_assert_cmpuint (popped, ==, n - n_removed);
  g_assert_cmpuint (pres_deadline_index_size (index), ==, 0);
  g_assert_null (pres_deadline_index_peek (index));
}

static void
test_remove_twice (void)
{
  g_autoptr (PresDeadlineIndex) index = pres_deadline_index_new ();
  PresDeadlineNode a = { 0 }, b = { 0 };

  pres_deadline_index_set (index, &a, 10);
  pres_deadline_index_set (index, &b, 5);
  pres_deadline_index_remove (index, &b);
  pres_deadline_index_remove (index, &b);
  g_assert_cmpuint (pres_deadline_index_size (index), ==, 1);
  g_assert_true (pres_deadline_index_peek (index) == &a);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/deadline-index/pop-order", test_pop_order);
  g_test_add_func ("/deadline-index/remove-twice", test_remove_twice);

  return g_test_run ();
}
