#include "config.h"

#include "pres-conversation-table.h"
#include "store-choice.h"
#include "store-wait.h"

/* The store contract of the appear_offline exception: granted, expired,
 * not granted, kept newest.  One table, two stores (store-choice.h). */

#define WINDOW_MS (24 * 3600 * 1000)

static gint64
now_ms (void)
{
  return g_get_real_time () / 1000;
}

static gboolean
is_granted (PresStore *store, const char *viewer, const char *participant)
{
  g_autofree gint64 *until_ms = store_wait_grants (store, viewer, &participant, 1);

  return until_ms[0] > 0;
}

static gboolean
deadline_cb (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until the wall clock reads at least until_ms. */
static void
run_until_wall (gint64 until_ms)
{
  while (now_ms () < until_ms)
    {
      gboolean done = FALSE;

      g_timeout_add (until_ms - now_ms () + 1, deadline_cb, &done);
      while (!done)
        g_main_context_iteration (NULL, TRUE);
    }
}

/* Nobody sees through anyone without a conversation: no store entry, a
 * conversation of others, or oneself. */
static void
test_not_granted (void)
{
  g_autoptr (PresStore) store = store_choice_new (2000, 100);
  const char *ids[] = { "lena", "omar", "kim" };
  g_autofree gint64 *until_ms = NULL;
  gint64 at, expires;

  g_assert_false (is_granted (store, "omar", "lena"));
  store_wait_record_conversation (store, "lena", "omar", now_ms (), now_ms () + WINDOW_MS, &at,
                                  &expires);
  g_assert_false (is_granted (store, "kim", "lena"));
  g_assert_false (is_granted (store, "kim", "omar"));
  until_ms = store_wait_grants (store, "lena", ids, G_N_ELEMENTS (ids));
  g_assert_cmpint (until_ms[0], ==, 0); /* oneself: not a grant, the reader's own rule */
  g_assert_cmpint (until_ms[1], ==, expires);
  g_assert_cmpint (until_ms[2], ==, 0);
}

/* Symmetric, and what the store answers is what it holds. */
static void
test_granted (void)
{
  g_autoptr (PresStore) store = store_choice_new (2000, 100);
  gint64 t = now_ms () - 1000, at, expires;

  store_wait_record_conversation (store, "lena", "omar", t, t + WINDOW_MS, &at, &expires);
  g_assert_cmpint (at, ==, t);
  g_assert_cmpint (expires, ==, t + WINDOW_MS);
  g_assert_true (is_granted (store, "omar", "lena"));
  g_assert_true (is_granted (store, "lena", "omar"));
}

/* The grant goes by itself at its deadline: no read after it shows it,
 * with no sweep or timer of the test's doing in between. */
static void
test_expired (void)
{
  g_autoptr (PresStore) store = store_choice_new (2000, 100);
  gint64 t = now_ms (), at, expires;

  store_wait_record_conversation (store, "lena", "omar", t - WINDOW_MS + 300, t + 300, &at,
                                  &expires);
  g_assert_true (is_granted (store, "omar", "lena"));
  run_until_wall (expires);
  g_assert_false (is_granted (store, "omar", "lena"));
  g_assert_false (is_granted (store, "lena", "omar"));
}

/* A newer conversation extends the grant; an older one recorded later
 * (a platform's late delivery) changes nothing. */
static void
test_newest_kept (void)
{
  g_autoptr (PresStore) store = store_choice_new (2000, 100);
  gint64 t = now_ms (), at, expires;

  store_wait_record_conversation (store, "omar", "lena", t - 1000, t + 400, &at, &expires);
  store_wait_record_conversation (store, "lena", "omar", t - 2000, t + 200, &at, &expires);
  g_assert_cmpint (at, ==, t - 1000);
  g_assert_cmpint (expires, ==, t + 400);
  store_wait_record_conversation (store, "lena", "omar", t, t + 1400, &at, &expires);
  g_assert_cmpint (at, ==, t);
  g_assert_cmpint (expires, ==, t + 1400);
  run_until_wall (t + 500);
  g_assert_true (is_granted (store, "omar", "lena"));
  g_assert_true (is_granted (store, "lena", "omar"));
  run_until_wall (t + 1400);
  g_assert_false (is_granted (store, "omar", "lena"));
}

typedef struct
{
  GPtrArray *seen; /* "viewer>participant@until" */
} Granted;

static void
granted_cb (PresStore  *store,
            const char *viewer_id,
            const char *participant_id,
            gint64      until_ms,
            Granted    *granted)
{
  g_ptr_array_add (granted->seen,
                   g_strdup_printf ("%s>%s@%" G_GINT64_FORMAT, viewer_id, participant_id, until_ms));
}

/* Every node's subscribers learn of a new or longer grant: "granted" once
 * per side (the Redis store's from its event streams), none for an older
 * conversation that changes nothing. */
static void
test_signalled (void)
{
  g_autoptr (PresStore) store = store_choice_new (2000, 100);
  Granted granted = { g_ptr_array_new_with_free_func (g_free) };
  gint64 t = now_ms (), at, expires;
  g_autofree char *lena_sees = g_strdup_printf ("lena>omar@%" G_GINT64_FORMAT, t + WINDOW_MS);
  g_autofree char *omar_sees = g_strdup_printf ("omar>lena@%" G_GINT64_FORMAT, t + WINDOW_MS);

  g_signal_connect (store, "granted", G_CALLBACK (granted_cb), &granted);
  store_wait_record_conversation (store, "lena", "omar", t, t + WINDOW_MS, &at, &expires);
  store_wait_record_conversation (store, "omar", "lena", t - 1000, t - 1000 + WINDOW_MS, &at,
                                  &expires);
  store_wait_events (store);
  g_assert_cmpuint (granted.seen->len, ==, 2);
  g_assert_true (g_ptr_array_find_with_equal_func (granted.seen, lena_sees, g_str_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (granted.seen, omar_sees, g_str_equal, NULL));
  g_signal_handlers_disconnect_by_data (store, &granted);
  g_ptr_array_unref (granted.seen);
}

/* The memory store's table keeps about twice the live conversations
 * however many have expired. */
static void
test_table_pruned (void)
{
  g_autoptr (PresConversationTable) table = pres_conversation_table_new ();
  gint64 at, expires;

  for (guint i = 0; i < 10000; i++)
    {
      g_autofree char *other = g_strdup_printf ("p%u", i);

      /* At i ms of a clock whose conversations last 10 ms. */
      pres_conversation_table_record (table, "lena", other, i, i + 10, i, &at, &expires);
      g_assert_cmpint (pres_conversation_table_lookup (table, other, "lena", i), ==, i + 10);
    }
  g_assert_cmpuint (pres_conversation_table_size (table), <=, 64);
  g_assert_cmpint (pres_conversation_table_lookup (table, "lena", "p0", 10000), ==, 0);
}

int
main (int argc, char *argv[])
{
  store_choice_init (&argc, &argv);

  store_choice_add ("/store/conversations/not-granted", test_not_granted);
  store_choice_add ("/store/conversations/granted", test_granted);
  store_choice_add ("/store/conversations/expired", test_expired);
  store_choice_add ("/store/conversations/newest-kept", test_newest_kept);
  store_choice_add ("/store/conversations/signalled", test_signalled);
  if (!store_choice_is_redis ())
    store_choice_add ("/store/conversations/table-pruned", test_table_pruned);

  return store_choice_run ();
}
