#define G_LOG_DOMAIN "pres-redis"

#include <hiredis/async.h>
#include <string.h>
#include <unistd.h>

#include "pres-redis-connection.h"

#define DEFAULT_PORT 6379
#define DEFAULT_TIMEOUT_MS 2000
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 5000
/* Writes at most about this often: commands issued faster are sent
 * together, and Redis reads them with one read().  Each wake-up of Redis
 * costs it about as much as a heartbeat function, so at 10,000
 * heartbeats/s this saves a third of its CPU for about a millisecond more
 * at the median (see bench/README.md).  Idle, a command goes out at once. */
#define FLUSH_INTERVAL_US 2000

typedef enum
{
  STATE_STOPPED,
  STATE_CONNECTING,
  STATE_CONNECTED,
  STATE_DOWN, /* waiting for the next attempt */
} State;

/* Our own fd watch rather than hiredis' adapters/glib.h: that one wakes the
 * main context (an eventfd write) on every read/write interest change, a
 * syscall per command on the hot path. */
typedef struct
{
  GSource source;
  redisAsyncContext *ac; /* NULL once hiredis cleaned up */
  gpointer tag;
  GIOCondition events;
} Watch;

typedef struct
{
  PresRedisConnection *conn;
  PresRedisReplyFunc callback;
  gpointer user_data;
  gint64 deadline_us;
  GList link;
} Pending;

struct _PresRedisConnection
{
  GObject parent_instance;

  char *address;
  char *name;
  char *host;
  int port;
  char *unix_path;
  guint db;
  guint timeout_ms;
  char *epoch_key;
  char *epoch;

  State state;
  redisAsyncContext *ac; /* its fd watch lives as long as it */
  /* The one timer: connect and command deadlines, the next attempt, and a
   * reset asked for from inside a hiredis callback. */
  GSource *timer;
  gint64 connect_deadline_us;
  gint64 retry_at_us;
  guint attempt;
  gboolean outage_reported;
  gboolean ever_connected;
  char *reset_why;
  char *fail_why; /* for the commands failed by a reset we made */
  guint in_callback;
  GQueue pending; /* of Pending, in the order sent: Redis answers in order */
  gint64 last_flush_us;
  gboolean flush_held; /* hiredis has data to write, the timer sends it */
};

G_DEFINE_TYPE (PresRedisConnection, pres_redis_connection, G_TYPE_OBJECT)

enum
{
  SIGNAL_CONNECTED,
  SIGNAL_DISCONNECTED,
  SIGNAL_EPOCH,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void connection_lost (PresRedisConnection *self, const char *why);

static gboolean
parse_address (const char  *address,
               char       **host,
               int         *port,
               char       **unix_path,
               guint       *db,
               GError     **error)
{
  g_autoptr (GUri) uri = NULL;
  const char *path;
  guint64 n = 0;

  if (g_str_has_prefix (address, "unix:"))
    {
      if (address[5] != '/')
        goto invalid;
      *unix_path = g_strdup (address + 5);
      return TRUE;
    }
  if (!g_str_has_prefix (address, "redis://"))
    goto invalid;
  uri = g_uri_parse (address, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0'
      || g_uri_get_userinfo (uri) != NULL || g_uri_get_query (uri) != NULL)
    goto invalid;
  path = g_uri_get_path (uri);
  if (path[0] != '\0' && !g_str_equal (path, "/")
      && !g_ascii_string_to_unsigned (path + 1, 10, 0, 1000, &n, NULL))
    goto invalid;
  *host = g_strdup (g_uri_get_host (uri));
  *port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : DEFAULT_PORT;
  *db = n;
  return TRUE;

invalid:
  {
    /* A password in it is not repeated (nor supported). */
    const char *at = strrchr (address, '@');
    g_autofree char *shown =
      at != NULL ? g_strconcat ("…", at, NULL) : g_strdup (address);

    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 "--store: expected memory, redis://HOST[:PORT][/DB] or unix:/PATH, got \"%s\"",
                 shown);
  }
  return FALSE;
}

gboolean
pres_redis_address_is_valid (const char  *address,
                             GError     **error)
{
  g_autofree char *host = NULL, *unix_path = NULL;
  int port;
  guint db;

  return parse_address (address, &host, &port, &unix_path, &db, error);
}

/* The fd watch. */

static gboolean
watch_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  Watch *w = (Watch *)source;
  GIOCondition revents = g_source_query_unix_fd (source, w->tag);

  /* Either call may free the context (cleanup clears w->ac). */
  if ((revents & G_IO_OUT) && w->ac != NULL)
    redisAsyncHandleWrite (w->ac);
  if ((revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && w->ac != NULL)
    redisAsyncHandleRead (w->ac);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_funcs = { .dispatch = watch_dispatch };

static void
watch_set (Watch        *w,
           GIOCondition  add,
           GIOCondition  del)
{
  GIOCondition events = (w->events | add) & ~del;

  if (events == w->events || w->ac == NULL)
    return;
  w->events = events;
  g_source_modify_unix_fd (&w->source, w->tag, events);
}

static void
watch_add_read (void *data)
{
  watch_set (data, G_IO_IN, 0);
}

static void
watch_del_read (void *data)
{
  watch_set (data, 0, G_IO_IN);
}

static void timer_arm (PresRedisConnection *self, gint64 at_us);

static void
watch_add_write (void *data)
{
  Watch *w = data;
  PresRedisConnection *self = w->ac != NULL ? w->ac->data : NULL;
  gint64 now;

  if (self != NULL && self->flush_held)
    return; /* goes out with the held ones */
  /* Not held: the connect (hiredis learns of it from write readiness), a
   * write already under way, and commands issued from a reply callback,
   * whose request waits on each round trip of its chain. */
  if (self == NULL || self->state != STATE_CONNECTED || (w->events & G_IO_OUT)
      || self->in_callback > 0)
    {
      watch_set (w, G_IO_OUT, 0);
      return;
    }
  now = g_get_monotonic_time ();
  if (now - self->last_flush_us >= FLUSH_INTERVAL_US)
    {
      self->last_flush_us = now;
      watch_set (w, G_IO_OUT, 0);
      return;
    }
  self->flush_held = TRUE;
  timer_arm (self, self->last_flush_us + FLUSH_INTERVAL_US);
}

static void
watch_del_write (void *data)
{
  watch_set (data, 0, G_IO_OUT);
}

static void
watch_cleanup (void *data)
{
  Watch *w = data;

  w->ac = NULL;
  g_source_destroy (&w->source);
}

/* Owned by the main context until hiredis' cleanup destroys it. */
static void
watch_new (redisAsyncContext *ac)
{
  Watch *w = (Watch *)g_source_new (&watch_funcs, sizeof (Watch));

  w->ac = ac;
  w->tag = g_source_add_unix_fd (&w->source, ac->c.fd, 0);
  ac->ev.addRead = watch_add_read;
  ac->ev.delRead = watch_del_read;
  ac->ev.addWrite = watch_add_write;
  ac->ev.delWrite = watch_del_write;
  ac->ev.cleanup = watch_cleanup;
  ac->ev.data = w;
  g_source_set_name (&w->source, "[pres-redis] socket");
  g_source_attach (&w->source, NULL);
  g_source_unref (&w->source);
}

/* The timer. */

static void
timer_arm (PresRedisConnection *self,
           gint64               at_us)
{
  gint64 current = g_source_get_ready_time (self->timer);

  /* Re-arming only to an earlier time: a late fire just re-arms, which is
   * cheaper than a wake-up per command. */
  if (current == -1 || at_us < current)
    g_source_set_ready_time (self->timer, at_us);
}

static void
pending_fail (PresRedisConnection *self,
              GIOErrorEnum         code,
              const char          *message)
{
  g_autoptr (GError) error
    = g_error_new (G_IO_ERROR, code, "Redis at %s: %s", self->address, message);
  Pending *p;

  /* Commands that hiredis never took (none today) would be here. */
  while ((p = g_queue_pop_head (&self->pending)) != NULL)
    {
      p->callback (self, NULL, error, p->user_data);
      g_free (p);
    }
}

static void
schedule_retry (PresRedisConnection *self)
{
  guint ceiling = MIN (BACKOFF_MAX_MS, BACKOFF_MIN_MS << MIN (self->attempt, 10));
  /* Full jitter over the upper half: nodes that lost Redis together do not
   * come back in lock step. */
  guint delay_ms = g_random_int_range (ceiling / 2, ceiling + 1);

  self->attempt++;
  self->state = STATE_DOWN;
  self->retry_at_us = g_get_monotonic_time () + (gint64)delay_ms * 1000;
  timer_arm (self, self->retry_at_us);
  g_debug ("%s: next attempt in %u ms", self->name, delay_ms);
}

static void
connection_lost (PresRedisConnection *self,
                 const char          *why)
{
  gboolean was_connected = self->state == STATE_CONNECTED;

  self->ac = NULL;
  self->flush_held = FALSE;
  pending_fail (self, G_IO_ERROR_NOT_CONNECTED, why);
  if (self->state == STATE_STOPPED)
    return;
  if (!self->outage_reported)
    {
      g_warning ("%s: Redis at %s %s: %s; retrying with back-off", self->name, self->address,
                 was_connected ? "lost" : "unreachable", why);
      self->outage_reported = TRUE;
    }
  schedule_retry (self);
  g_signal_emit (self, signals[SIGNAL_DISCONNECTED], 0, why);
}

static void
reply_cb (redisAsyncContext *ac,
          void              *reply,
          void              *privdata)
{
  Pending *p = privdata;
  PresRedisConnection *self = p->conn;

  g_queue_unlink (&self->pending, &p->link);
  self->in_callback++;
  if (reply == NULL)
    {
      g_autoptr (GError) error
        = g_error_new (G_IO_ERROR,
                       self->fail_why != NULL && strstr (self->fail_why, "timed out") != NULL
                         ? G_IO_ERROR_TIMED_OUT
                         : G_IO_ERROR_NOT_CONNECTED,
                       "Redis at %s: %s", self->address,
                       self->fail_why != NULL ? self->fail_why : "connection lost");
      p->callback (self, NULL, error, p->user_data);
    }
  else
    p->callback (self, reply, NULL, p->user_data);
  self->in_callback--;
  g_free (p);
}

static void
do_reset (PresRedisConnection *self,
          const char          *why)
{
  redisAsyncContext *ac = self->ac;

  if (ac == NULL)
    return;
  g_free (self->fail_why);
  self->fail_why = g_strdup (why);
  /* Fails the pending commands through reply_cb, then calls
   * disconnect_cb if the socket was up. */
  redisAsyncFree (ac);
  if (self->ac == ac)
    connection_lost (self, why);
  g_clear_pointer (&self->fail_why, g_free);
}

static gboolean
timer_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  PresRedisConnection *self = user_data;
  gint64 now = g_get_monotonic_time ();
  Pending *head;

  g_source_set_ready_time (source, -1);
  if (self->flush_held && self->ac != NULL)
    {
      if (now >= self->last_flush_us + FLUSH_INTERVAL_US)
        {
          self->flush_held = FALSE;
          self->last_flush_us = now;
          watch_set (self->ac->ev.data, G_IO_OUT, 0);
        }
      else
        timer_arm (self, self->last_flush_us + FLUSH_INTERVAL_US);
    }
  if (self->reset_why != NULL)
    {
      g_autofree char *why = g_steal_pointer (&self->reset_why);

      do_reset (self, why);
      return G_SOURCE_CONTINUE;
    }
  switch (self->state)
    {
      case STATE_CONNECTING:
        if (now >= self->connect_deadline_us)
          do_reset (self, "connect timed out");
        else
          timer_arm (self, self->connect_deadline_us);
        break;
      case STATE_DOWN:
        if (now >= self->retry_at_us)
          pres_redis_connection_start (self);
        else
          timer_arm (self, self->retry_at_us);
        break;
      case STATE_CONNECTED:
        head = g_queue_peek_head (&self->pending);
        if (head != NULL && now >= head->deadline_us)
          {
            g_autofree char *why
              = g_strdup_printf ("command timed out after %u ms", self->timeout_ms);

            do_reset (self, why);
          }
        else if (head != NULL)
          timer_arm (self, head->deadline_us);
        break;
      case STATE_STOPPED:
        break;
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = { .dispatch = timer_dispatch };

/* hiredis callbacks. */

static void
disconnect_cb (const redisAsyncContext *ac,
               int                      status)
{
  PresRedisConnection *self = ac->data;

  if (self == NULL || self->ac != ac)
    return;
  connection_lost (self, self->fail_why != NULL ? self->fail_why
                         : status == REDIS_OK   ? "closed"
                                                : ac->errstr);
}

static void
ignore_cb (PresRedisConnection *self,
           redisReply          *reply,
           const GError        *error,
           gpointer             user_data)
{
  if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
    g_warning ("%s: %s", self->name, reply->str);
}

static void
connect_cb (const redisAsyncContext *ac,
            int                      status)
{
  PresRedisConnection *self = ac->data;

  if (self == NULL || self->ac != ac)
    return;
  if (status != REDIS_OK)
    {
      /* hiredis frees the context right after this returns. */
      g_autofree char *why = g_strdup (ac->errstr);

      connection_lost (self, why);
      return;
    }
  self->state = STATE_CONNECTED;
  self->attempt = 0;
  if (self->outage_reported)
    g_message ("%s: Redis at %s reachable again", self->name, self->address);
  else
    g_debug ("%s: connected to Redis at %s", self->name, self->address);
  self->outage_reported = FALSE;
  self->ever_connected = TRUE;
  /* Named for operators (CLIENT LIST) and for tests that kill one
   * node's connections. */
  {
    g_autofree char *client_name
      = g_strdup_printf ("presence-server-%d-%s", (int)getpid (), self->name);

    g_strdelimit (client_name, " ", '-');
    pres_redis_connection_command (self, 0, ignore_cb, NULL, 3,
                                   (const char *[]) { "CLIENT", "SETNAME", client_name }, NULL);
  }
  if (self->db != 0)
    {
      g_autofree char *db = g_strdup_printf ("%u", self->db);
      const char *argv[] = { "SELECT", db };

      pres_redis_connection_command (self, 0, ignore_cb, NULL, 2, argv, NULL);
    }
  g_signal_emit (self, signals[SIGNAL_CONNECTED], 0);
  if (self->epoch_key != NULL && self->state == STATE_CONNECTED)
    pres_redis_connection_check_epoch (self);
}

void
pres_redis_connection_start (PresRedisConnection *self)
{
  redisAsyncContext *ac;

  g_return_if_fail (self->ac == NULL);

  ac = self->unix_path != NULL ? redisAsyncConnectUnix (self->unix_path)
                               : redisAsyncConnect (self->host, self->port);
  if (ac == NULL || ac->err)
    {
      g_autofree char *why = g_strdup (ac != NULL ? ac->errstr : "out of memory");

      if (ac != NULL)
        redisAsyncFree (ac);
      self->state = STATE_CONNECTING;
      connection_lost (self, why);
      return;
    }
  ac->data = self;
  self->ac = ac;
  self->state = STATE_CONNECTING;
  redisAsyncSetConnectCallback (ac, connect_cb);
  redisAsyncSetDisconnectCallback (ac, disconnect_cb);
  watch_new (ac);
  /* hiredis 0.14 learns that the connect completed from the first write
   * readiness, and asks for it only with a command queued. */
  watch_add_write (ac->ev.data);
  self->connect_deadline_us = g_get_monotonic_time () + (gint64)self->timeout_ms * 1000;
  timer_arm (self, self->connect_deadline_us);
}

void
pres_redis_connection_command (PresRedisConnection  *self,
                               guint                 extra_timeout_ms,
                               PresRedisReplyFunc    callback,
                               gpointer              user_data,
                               int                   argc,
                               const char          **argv,
                               const size_t         *argvlen)
{
  g_autofree size_t *lengths = NULL;
  Pending *p;

  if (self->state != STATE_CONNECTED)
    {
      g_autoptr (GError) error = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                                              "Redis at %s is not reachable", self->address);

      callback (self, NULL, error, user_data);
      return;
    }
  if (argvlen == NULL)
    {
      lengths = g_new (size_t, argc);
      for (int i = 0; i < argc; i++)
        lengths[i] = strlen (argv[i]);
      argvlen = lengths;
    }
  p = g_new0 (Pending, 1);
  p->conn = self;
  p->callback = callback;
  p->user_data = user_data;
  p->link.data = p;
  p->deadline_us = g_get_monotonic_time () + (gint64)(self->timeout_ms + extra_timeout_ms) * 1000;
  g_queue_push_tail_link (&self->pending, &p->link);
  if (redisAsyncCommandArgv (self->ac, reply_cb, p, argc, argv, argvlen) != REDIS_OK)
    {
      g_autoptr (GError) error
        = g_error_new (G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                       "Redis at %s: the connection is closing", self->address);

      g_queue_unlink (&self->pending, &p->link);
      callback (self, NULL, error, user_data);
      g_free (p);
      return;
    }
  timer_arm (self, p->deadline_us);
}

static void
epoch_cb (PresRedisConnection *self,
          redisReply          *reply,
          const GError        *error,
          gpointer             user_data)
{
  gboolean changed;

  if (reply == NULL || reply->type != REDIS_REPLY_STRING)
    {
      if (reply != NULL)
        g_warning ("%s: reading the store epoch: unexpected reply", self->name);
      return;
    }
  changed = self->epoch != NULL && !g_str_equal (self->epoch, reply->str);
  if (self->epoch != NULL && !changed)
    {
      g_signal_emit (self, signals[SIGNAL_EPOCH], 0, self->epoch, FALSE);
      return;
    }
  if (changed)
    g_warning ("%s: the store epoch changed (Redis at %s was flushed or restarted empty)",
               self->name, self->address);
  g_free (self->epoch);
  self->epoch = g_strdup (reply->str);
  g_signal_emit (self, signals[SIGNAL_EPOCH], 0, self->epoch, changed);
}

void
pres_redis_connection_check_epoch (PresRedisConnection *self)
{
  g_autofree char *fresh = NULL;

  g_return_if_fail (self->epoch_key != NULL);

  /* Set on first use only (NX): every node then reads the same value until
   * the data is lost. */
  fresh = g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
  pres_redis_connection_command (self, 0, ignore_cb, NULL, 4,
                                 (const char *[]) { "SET", self->epoch_key, fresh, "NX" }, NULL);
  pres_redis_connection_command (self, 0, epoch_cb, NULL, 2,
                                 (const char *[]) { "GET", self->epoch_key }, NULL);
}

void
pres_redis_connection_reset (PresRedisConnection *self,
                             const char          *why)
{
  if (self->ac == NULL)
    return;
  /* hiredis defers a free asked for inside its callbacks; ours is done
   * from the timer instead, so the state stays simple. */
  if (self->in_callback > 0)
    {
      if (self->reset_why == NULL)
        self->reset_why = g_strdup (why);
      g_source_set_ready_time (self->timer, 0);
      return;
    }
  do_reset (self, why);
}

gboolean
pres_redis_connection_is_connected (PresRedisConnection *self)
{
  return self->state == STATE_CONNECTED;
}

const char *
pres_redis_connection_get_address (PresRedisConnection *self)
{
  return self->address;
}

const char *
pres_redis_connection_get_epoch (PresRedisConnection *self)
{
  return self->epoch;
}

void
pres_redis_connection_set_timeout (PresRedisConnection *self,
                                   guint                timeout_ms)
{
  self->timeout_ms = timeout_ms;
}

void
pres_redis_connection_set_epoch_key (PresRedisConnection *self,
                                     const char          *key)
{
  g_free (self->epoch_key);
  self->epoch_key = g_strdup (key);
}

static void
pres_redis_connection_dispose (GObject *object)
{
  PresRedisConnection *self = PRES_REDIS_CONNECTION (object);

  self->state = STATE_STOPPED;
  if (self->ac != NULL)
    {
      g_free (self->fail_why);
      self->fail_why = g_strdup ("shutting down");
      redisAsyncFree (self->ac);
      if (self->ac != NULL)
        connection_lost (self, "shutting down");
    }
  if (self->timer != NULL)
    {
      g_source_destroy (self->timer);
      g_clear_pointer (&self->timer, g_source_unref);
    }
  G_OBJECT_CLASS (pres_redis_connection_parent_class)->dispose (object);
}

static void
pres_redis_connection_finalize (GObject *object)
{
  PresRedisConnection *self = PRES_REDIS_CONNECTION (object);

  g_free (self->address);
  g_free (self->name);
  g_free (self->host);
  g_free (self->unix_path);
  g_free (self->epoch_key);
  g_free (self->epoch);
  g_free (self->reset_why);
  g_free (self->fail_why);
  G_OBJECT_CLASS (pres_redis_connection_parent_class)->finalize (object);
}

static void
pres_redis_connection_class_init (PresRedisConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pres_redis_connection_dispose;
  object_class->finalize = pres_redis_connection_finalize;

  signals[SIGNAL_CONNECTED] = g_signal_new ("connected", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_DISCONNECTED]
    = g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_EPOCH]
    = g_signal_new ("epoch", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);
}

static void
pres_redis_connection_init (PresRedisConnection *self)
{
  self->timeout_ms = DEFAULT_TIMEOUT_MS;
  self->timer = g_source_new (&timer_funcs, sizeof (GSource));
  g_source_set_callback (self->timer, NULL, self, NULL);
  g_source_set_ready_time (self->timer, -1);
  g_source_set_name (self->timer, "[pres-redis] timer");
  g_source_attach (self->timer, NULL);
  g_queue_init (&self->pending);
}

PresRedisConnection *
pres_redis_connection_new (const char  *address,
                           const char  *name,
                           GError     **error)
{
  g_autoptr (PresRedisConnection) self = g_object_new (PRES_TYPE_REDIS_CONNECTION, NULL);

  if (!parse_address (address, &self->host, &self->port, &self->unix_path, &self->db, error))
    return NULL;
  self->address = g_strdup (address);
  self->name = g_strdup (name);
  return g_steal_pointer (&self);
}
