#include "config.h"

#include <string.h>

#include "pres-memory-store.h"
#include "store-choice.h"
#if HAVE_REDIS
#include "pres-redis-store.h"
#include "redis-fixture.h"
#endif

static gboolean use_redis;
static char *skip_reason;
#if HAVE_REDIS
static RedisFixture *redis;

static gboolean
ready_timeout_cb (gpointer user_data)
{
  g_error ("the Redis store was not ready within 10 s");
  return G_SOURCE_REMOVE;
}
#endif

void
store_choice_init (int    *argc,
                   char ***argv)
{
  for (int i = 1; i < *argc; i++)
    if (g_str_equal ((*argv)[i], "--store=redis"))
      {
        use_redis = TRUE;
        memmove (&(*argv)[i], &(*argv)[i + 1], (*argc - i) * sizeof (char *));
        (*argc)--;
        break;
      }
  g_test_init (argc, argv, NULL);
#if HAVE_REDIS
  if (use_redis)
    redis = redis_fixture_start (&skip_reason);
#else
  if (use_redis)
    skip_reason = g_strdup ("built without Redis (meson -Dredis)");
#endif
}

gboolean
store_choice_is_redis (void)
{
  return use_redis;
}

/* A store with nothing in it: Redis is flushed first. */
PresStore *
store_choice_new (guint ttl_ms,
                  guint max_instances)
{
#if HAVE_REDIS
  if (use_redis)
    {
      g_autoptr (GError) error = NULL;
      PresStore *store;
      guint timeout_id;

      redis_fixture_flush (redis);
      store = pres_redis_store_new (redis_fixture_get_address (redis), ttl_ms, max_instances,
                                    &error);
      g_assert_no_error (error);
      timeout_id = g_timeout_add_seconds (10, ready_timeout_cb, NULL);
      while (!pres_redis_store_is_ready (PRES_REDIS_STORE (store)))
        g_main_context_iteration (NULL, TRUE);
      g_source_remove (timeout_id);
      return store;
    }
#endif
  return pres_memory_store_new (ttl_ms, max_instances);
}

static void
run_case (gconstpointer data)
{
  if (skip_reason != NULL)
    {
      g_test_skip (skip_reason);
      return;
    }
  ((GTestFunc) data) ();
}

void
store_choice_add (const char *path,
                  GTestFunc   func)
{
  g_test_add_data_func (path, func, run_case);
}

int
store_choice_run (void)
{
  int status = g_test_run ();

#if HAVE_REDIS
  redis_fixture_stop (redis);
#endif
  g_free (skip_reason);
  return status;
}
