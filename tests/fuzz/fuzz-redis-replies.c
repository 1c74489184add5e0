#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "pres-redis-store.h"

/* presence-server's Redis store against a Redis that lies: a unix socket
 * where every command the store sends once it is up (heartbeats, leaves,
 * reads, counts, the sweeper's and the event stream's reads) is answered
 * with the next RESP value of the input, whatever was asked.  The set-up
 * before (CLIENT SETNAME, the epoch, FUNCTION LOAD, the streams' ends) gets
 * a plausible answer, so that inputs reach the replies that carry data.
 * When the input has no value left, what is asked is answered as an empty
 * Redis would, and a blocking XREAD is left waiting. */

#define MAX_CLIENTS    4
#define MAX_ITERATIONS 20000

typedef struct
{
  int fd;
  redisReader *commands;
} Client;

static char *socket_path;
static char *address;
static int listen_fd = -1;

static redisReader *values; /* the input, split into RESP values */
static const char *input;
static size_t input_size;
static gboolean store_up;
static guint answered;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autofree char *dir = g_dir_make_tmp ("pres-fuzz-redis-XXXXXX", NULL);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  g_assert_nonnull (dir);
  socket_path = g_build_filename (dir, "redis.sock", NULL);
  address = g_strconcat ("unix:", socket_path, NULL);
  g_assert_cmpuint (strlen (socket_path), <, sizeof addr.sun_path);
  strcpy (addr.sun_path, socket_path);
  listen_fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  g_assert_cmpint (bind (listen_fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (listen_fd, 16), ==, 0);
  return 0;
}

/* The next value of the input, as the bytes it was sent as; NULL when
 * there is none (or the rest is not RESP). */
static GString *
next_value (void)
{
  size_t start;
  void *reply = NULL;

  if (values == NULL)
    return NULL;
  /* The whole input was fed at once and the reader drops what it has read
   * past 1 KiB: its buffer is always the input's last len bytes. */
  start = input_size - values->len + values->pos;
  if (redisReaderGetReply (values, &reply) != REDIS_OK || reply == NULL)
    return NULL;
  freeReplyObject (reply);
  return g_string_new_len (input + start, input_size - values->len + values->pos - start);
}

/* What an empty Redis (of the store's own keys) would answer. */
static const char *
plausible (const redisReply *command)
{
  const char *name = command->element[0]->str;

  if (g_ascii_strcasecmp (name, "GET") == 0)
    return "$16\r\n0123456789abcdef\r\n";
  if (g_ascii_strcasecmp (name, "TIME") == 0)
    return "*2\r\n$10\r\n1700000000\r\n$6\r\n123456\r\n";
  if (g_ascii_strcasecmp (name, "FUNCTION") == 0)
    return "$5\r\nfuzz_\r\n";
  if (g_ascii_strcasecmp (name, "HGET") == 0)
    return "$-1\r\n";
  if (g_ascii_strcasecmp (name, "HMGET") == 0)
    return "*2\r\n$-1\r\n$-1\r\n";
  if (g_ascii_strcasecmp (name, "XREVRANGE") == 0 || g_ascii_strcasecmp (name, "XRANGE") == 0 ||
      g_ascii_strcasecmp (name, "HGETALL") == 0 ||
      g_ascii_strcasecmp (name, "ZRANGE") == 0 || g_ascii_strcasecmp (name, "ZRANGEBYSCORE") == 0)
    return "*0\r\n";
  if (g_ascii_strcasecmp (name, "XREAD") == 0)
    return NULL; /* blocks until it times out */
  if (g_ascii_strcasecmp (name, "FCALL") == 0)
    return "-ERR the fuzz input has no more replies\r\n";
  return "+OK\r\n";
}

static void
answer (Client           *client,
        const redisReply *command)
{
  g_autoptr (GString) value = NULL;
  const char *text;

  if (command->type != REDIS_REPLY_ARRAY || command->elements == 0 ||
      command->element[0]->type != REDIS_REPLY_STRING)
    return;
  if (store_up)
    value = next_value ();
  text = value != NULL ? value->str : plausible (command);
  if (text == NULL)
    return;
  answered++;
  /* Small answers to a peer that reads them: a full socket would be a
   * store that stopped reading, which the bound on iterations catches. */
  if (send (client->fd, text, value != NULL ? value->len : strlen (text),
            MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
    g_assert (errno == EAGAIN || errno == EPIPE || errno == ECONNRESET);
}

static void
serve (Client *client)
{
  char buf[65536];
  ssize_t n;
  void *command;

  while ((n = recv (client->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
    {
      redisReaderFeed (client->commands, buf, n);
      while (redisReaderGetReply (client->commands, &command) == REDIS_OK && command != NULL)
        {
          answer (client, command);
          freeReplyObject (command);
        }
    }
}

static void
upsert_cb (PresUpsertResult result,
           PresState        state,
           const GError    *error,
           gpointer         user_data)
{
  (*(guint *) user_data)++;
}

static void
leave_cb (gboolean      removed,
          const GError *error,
          gpointer      user_data)
{
  (*(guint *) user_data)++;
}

static void
states_cb (const PresState *states,
           const GError    *error,
           gpointer         user_data)
{
  if (states != NULL)
    for (guint i = 0; i < 2; i++)
      g_assert_cmpint (states[i], <=, PRES_STATE_APPEAR_OFFLINE);
  (*(guint *) user_data)++;
}

static void
instances_cb (GPtrArray    *instances,
              const GError *error,
              gpointer      user_data)
{
  for (guint i = 0; instances != NULL && i < instances->len; i++)
    {
      PresInstanceInfo *info = g_ptr_array_index (instances, i);

      g_assert_nonnull (info->participant_id);
      g_assert_nonnull (info->instance_id);
      g_assert_nonnull (info->heartbeat);
    }
  (*(guint *) user_data)++;
}

static void
counts_cb (const PresStoreCounts *counts,
           const GError          *error,
           gpointer               user_data)
{
  (*(guint *) user_data)++;
}

static void
replay_cb (gboolean      resumed,
           GPtrArray    *changed_ids,
           GPtrArray    *events,
           const GError *error,
           gpointer      user_data)
{
  g_assert (error == NULL || (changed_ids == NULL && events == NULL));
  g_assert (error != NULL || (changed_ids != NULL && events != NULL));
  g_assert (resumed || error != NULL || (changed_ids->len == 0 && events->len == 0));
  for (guint i = 0; events != NULL && i < events->len; i++)
    {
      PresMemberEvent *event = g_ptr_array_index (events, i);

      g_assert_nonnull (pres_member_action_to_string (event->action));
      g_assert_true (g_str_equal (event->participant_id, "lena")
                     || g_str_equal (event->participant_id, "bob"));
      g_assert_nonnull (event->instance_id);
      g_assert_cmpint (event->state, <=, PRES_STATE_APPEAR_OFFLINE);
    }
  (*(guint *) user_data)++;
}

#define N_CALLS 7

/* The replay first: its commands (the epoch, then per bucket of lena and
 * bob XINFO STREAM and XRANGE) take the input's first values, so seeds
 * can put stream entries there. */
static void
call_everything (PresStore *store,
                 guint     *done)
{
  const char *ids[] = { "lena", "bob" };
  g_autofree char *cursor = pres_store_get_cursor (store);
  PresHeartbeat *hb = pres_heartbeat_new ();

  pres_store_replay (store, cursor, ids, 2, replay_cb, done);

  hb->session = g_strdup ("s1");
  hb->seq = 1;
  hb->status_text = g_strdup ("日本");
  pres_store_upsert (store, "lena", "laptop", hb, upsert_cb, done);
  pres_store_get_states (store, ids, 2, states_cb, done);
  pres_store_list_instances (store, "lena", instances_cb, done);
  pres_store_list_instances (store, NULL, instances_cb, done);
  pres_store_get_counts (store, counts_cb, done);
  pres_store_leave (store, "lena", "laptop", "s1", NULL, NULL, leave_cb, done);
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  Client clients[MAX_CLIENTS];
  guint n_clients = 0, done = 0, called = FALSE;
  g_autoptr (GError) error = NULL;
  PresStore *store;

  /* hiredis allocates the elements an array declares before they come: a
   * Redis that declares millions makes it run out of memory, and the
   * fuzzer would find nothing else. */
  for (size_t i = 0; i < size; i++)
    {
      guint64 count = 0;

      if (data[i] != '*' && data[i] != '%' && data[i] != '~' && data[i] != '>')
        continue;
      for (size_t j = i + 1; j < size && g_ascii_isdigit (data[j]) && count <= 4096; j++)
        count = count * 10 + (data[j] - '0');
      if (count > 4096)
        return 0;
    }
  /* Connections of the store before, reconnecting, are not this one's. */
  for (int stale; (stale = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
    close (stale);
  input = (const char *) data;
  input_size = size;
  values = redisReaderCreate ();
  redisReaderFeed (values, input, size);
  store_up = FALSE;
  answered = 0;
  store = pres_redis_store_new (address, 75000, 1000, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < MAX_ITERATIONS && done < N_CALLS; i++)
    {
      int fd;

      while (n_clients < MAX_CLIENTS && (fd = accept4 (listen_fd, NULL, NULL,
                                                       SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
        clients[n_clients++] = (Client) { fd, redisReaderCreate () };
      for (guint c = 0; c < n_clients; c++)
        serve (&clients[c]);
      if (!called && pres_redis_store_is_ready (PRES_REDIS_STORE (store)))
        {
          store_up = TRUE;
          called = TRUE;
          call_everything (store, &done);
        }
      g_main_context_iteration (NULL, FALSE);
    }
  /* Redis goes away: whatever is pending fails, and the store goes. */
  for (guint c = 0; c < n_clients; c++)
    {
      close (clients[c].fd);
      redisReaderFree (clients[c].commands);
    }
  for (guint i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE);
  g_object_unref (store);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert (!called || done == N_CALLS);
  redisReaderFree (values);
  values = NULL;
  return 0;
}
