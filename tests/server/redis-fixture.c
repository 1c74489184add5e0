#include <glib/gstdio.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redis-fixture.h"

#define START_TIMEOUT_S 10

struct _RedisFixture
{
  GPid pid;
  char *dir;
  char *socket_path;
  char *address;
};

/* Its own process group, and gone with the test: a test that aborts must
 * not leave it running (nor holding the test runner's output open). */
static void
new_session (gpointer user_data)
{
  setsid ();
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static redisContext *
connect_now (RedisFixture *self)
{
  redisContext *c = redisConnectUnix (self->socket_path);

  if (c != NULL && c->err)
    g_clear_pointer (&c, redisFree);
  return c;
}

static void
command (RedisFixture *self,
         const char   *text)
{
  redisContext *c = connect_now (self);
  redisReply *reply;

  g_assert_nonnull (c);
  reply = redisCommand (c, text);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->type, !=, REDIS_REPLY_ERROR);
  freeReplyObject (reply);
  redisFree (c);
}

RedisFixture *
redis_fixture_start (char **skip_reason)
{
  g_autofree char *program = g_find_program_in_path ("redis-server");
  RedisFixture *self;
  g_autoptr (GError) error = NULL;
  gint64 deadline;
  redisContext *c = NULL;

  if (program == NULL)
    {
      *skip_reason = g_strdup ("redis-server is not installed (apt-get install redis-server)");
      return NULL;
    }
  self = g_new0 (RedisFixture, 1);
  self->dir = g_dir_make_tmp ("pres-redis-XXXXXX", &error);
  g_assert_no_error (error);
  self->socket_path = g_build_filename (self->dir, "redis.sock", NULL);
  self->address = g_strconcat ("unix:", self->socket_path, NULL);
  {
    g_autofree char *log = g_build_filename (self->dir, "redis.log", NULL);
    const char *argv[] = {
      program,        "--port", "0",     "--unixsocket", self->socket_path, "--save", "",
      "--appendonly", "no",     "--dir", self->dir,      "--logfile",       log,      "--daemonize",
      "no",           NULL
    };

    g_spawn_async (NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, new_session, NULL,
                   &self->pid, &error);
    g_assert_no_error (error);
  }
  /* Up when it answers on its socket. */
  deadline = g_get_monotonic_time () + START_TIMEOUT_S * G_USEC_PER_SEC;
  while ((c = connect_now (self)) == NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("redis-server did not come up within %d s (log in %s)", START_TIMEOUT_S,
                 self->dir);
      g_usleep (10000);
    }
  redisFree (c);
  return self;
}

void
redis_fixture_flush (RedisFixture *self)
{
  command (self, "FLUSHALL");
  command (self, "FUNCTION FLUSH");
}

void
redis_fixture_command (RedisFixture *self,
                       const char   *text)
{
  command (self, text);
}

const char *
redis_fixture_get_address (RedisFixture *self)
{
  return self->address;
}

void
redis_fixture_stop (RedisFixture *self)
{
  g_autofree char *log = NULL;

  if (self == NULL)
    return;
  kill (-self->pid, SIGTERM);
  waitpid (self->pid, NULL, 0);
  g_spawn_close_pid (self->pid);
  log = g_build_filename (self->dir, "redis.log", NULL);
  g_unlink (log);
  g_unlink (self->socket_path);
  g_rmdir (self->dir);
  g_free (self->socket_path);
  g_free (self->address);
  g_free (self->dir);
  g_free (self);
}
