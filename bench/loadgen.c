/* loadgen: an open-loop load generator for presence-server (a benchmark,
 * not a test).
 *
 * It starts `presence-server --dev` on 127.0.0.1 (pinned to CPU 0 when there
 * are two or more, itself on CPU 1), then:
 *
 *  1. store: registers --instances instances over a few connections and
 *     reports the server's RSS growth per instance;
 *  2. load: --agents keep-alive connections beat the store phase's
 *     instances in turn at a fixed total rate for --step-seconds per step,
 *     rising until p99 exceeds --target-p99-ms.  Open loop: every heartbeat has a scheduled
 *     send time and its latency is measured from that time, so a slow server
 *     cannot hide its queueing (no coordinated omission);
 *  3. storm: --storm-agents agents, registered online, all reconnect
 *     (a new connection and a new agent session each) within
 *     --storm-seconds; reports when all were accepted, whether all read
 *     online, and the public changes the storm caused (flicker: must be 0);
 *  4. fan-out: --subscribers WebSocket subscribers watch one participant;
 *     each change is timed until every subscriber has it.  With
 *     --member-events they ask for member events, and each change is one:
 *     the member enters, then its data changes, its state does not.
 *
 * --phases picks some of them (default store,load,fanout).  With
 * --store redis://… or unix:/… the server runs over that Redis, and the
 * store and load phases also report Redis: bytes per participant
 * (used_memory), the heartbeat function's time per call (INFO commandstats)
 * and the redis-server process's CPU per heartbeat.
 *
 * Server CPU comes from /proc/PID/stat (utime + stime).  Loopback only, with
 * bounded run time (--max-seconds) and request count (--max-requests). */

#define _GNU_SOURCE

#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loadgen-net.h"
#include "loadgen-redis.h"

static struct
{
  const char *server_path;
  int agents;
  int instances;
  int subscribers;
  int fan_changes;
  double step_seconds;
  double start_rate;
  double rate_step;
  double max_rate;
  double target_p99_ms;
  double max_seconds;
  long max_requests;
  const char *phases;
  int storm_agents;
  double storm_seconds;
  int member_events;
} opt = { NULL, 4000, 100000, 1000, 20, 5.0, 5000, 5000, 60000, 10.0, 240.0, 5000000,
          "store,load,fanout", 10000, 10.0, 0 };

static int use_redis;

/* Redis figures around a phase; all zero without --store redis. */
static void
redis_snap (RedisStats *snap)
{
  memset (snap, 0, sizeof *snap);
#ifdef HAVE_REDIS
  if (use_redis)
    redis_stats_take (snap);
#endif
}

static void
redis_report (const char      *phase,
              const RedisStats *before,
              long             heartbeats)
{
  RedisStats after;
  double calls;

  if (!use_redis || heartbeats == 0)
    return;
  redis_snap (&after);
  calls = after.fcall_calls - before->fcall_calls;
  /* commandstats times the function's own commands inside its FCALL too,
   * and in wall-clock time: the process's CPU is the honest total.  Index
   * writes (ZADD) say how many heartbeats took the slow path. */
  printf ("%s Redis: heartbeat function %.2f µs per call (%.0f calls), redis-server process "
          "%.2f µs CPU per heartbeat, %.2f reads and %.2f writes per heartbeat, %.2f index "
          "writes per heartbeat\n",
          phase, calls > 0 ? (after.fcall_usec - before->fcall_usec) / calls : 0, calls,
          (after.cpu_s - before->cpu_s) * 1e6 / heartbeats,
          (after.reads - before->reads) / heartbeats, (after.writes - before->writes) / heartbeats,
          (after.zadd_calls - before->zadd_calls) / heartbeats);
}

#define STORE_FIRST_ID 1000000 /* instance ids of the store phase: from here on */

static unsigned session_tag = 0x5e55u; /* a new value: every agent is a new run */
static unsigned long long last_seq; /* one sequence for all: each instance's rises */
static long load_beats; /* heartbeats of the load phase so far, over all steps */
static long total_requests;
static long total_errors;
static double run_start;
static char *member_data; /* ",\"data\":{…}" of --data-bytes, or "" */

/* Instance ids in mixed case, so the server's case folding is exercised. */
static void
send_heartbeat (Conn       *c,
                const char *state,
                int         instance)
{
  char body[2048], req[2560];
  int blen, rlen;

  blen = snprintf (body, sizeof body,
                   "{\"state\":\"%s\",\"session\":\"%08x%08x\",\"seq\":%llu,"
                   "\"last_input_seconds\":3,\"reason\":\"periodic\"%s}",
                   state, session_tag, instance, ++last_seq, member_data);
  rlen = snprintf (req, sizeof req,
                   "PUT /v1/instances/Agent-%07d HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Authorization: Bearer p%07d\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n%s",
                   instance, instance, blen, body);
  write_all (c->fd, req, rlen);
  total_requests++;
}

static int
budget_left (void)
{
  return now_s () - run_start < opt.max_seconds && total_requests < opt.max_requests;
}

static char *http_get (const char *path, const char *token);
static double server_metric (const char *name);

/* The server's default rate limit (20/s, bursts of 40) refills a bucket in
 * 2 s; a bucket untouched that long is forgotten at the next request. */
#define RATE_LIMIT_REFILL_S 2

/* Phase 1: first-seen heartbeats for many instances over 64 connections. */
static void
phase_store (void)
{
  const int n_conns = 64;
  Conn *conns = conns_open (n_conns);
  double heap_before = server_metric ("presence_heap_bytes");
  long rss_before = server_rss_kib ();
  double cpu_before = server_cpu_s (), t0 = now_s ();
  int next = 0, done = 0;
  struct epoll_event events[256];
  RedisStats redis_before;

  redis_snap (&redis_before);

  for (int i = 0; i < n_conns && next < opt.instances; i++)
    {
      conns[i].busy = 1;
      send_heartbeat (&conns[i], "online", STORE_FIRST_ID + next++);
    }
  while (done < next && budget_left ())
    {
      int n = epoll_wait (epfd, events, 256, 1000);

      for (int i = 0; i < n; i++)
        {
          Conn *c = events[i].data.ptr;
          int status;

          read_into (c);
          while ((status = take_response (c)) != 0)
            {
              done++;
              if (status != 200)
                total_errors++;
              if (next < opt.instances)
                send_heartbeat (c, "online", STORE_FIRST_ID + next++);
            }
        }
    }
  {
    double secs = now_s () - t0, cpu = server_cpu_s () - cpu_before;
    long rss_after = server_rss_kib ();

    printf ("store:   %d instances registered in %.2f s (%.0f/s), server CPU %.1f µs per "
            "first-seen heartbeat\n",
            done, secs, done / secs, cpu * 1e6 / done);
    printf ("store:   server RSS %ld → %ld KiB: %.0f B per instance (store, rate-limit bucket "
            "and allocator overhead)\n",
            rss_before, rss_after, (rss_after - rss_before) * 1024.0 / done);
    if (!use_redis && heap_before >= 0)
      {
        /* At 30 s heartbeats a caller's bucket lives 2 s of every 30:
         * what stays is the store.  One request lets the limiter forget. */
        double heap_after;

        usleep ((RATE_LIMIT_REFILL_S * 1000 + 500) * 1000);
        free (http_get ("/v1/presence?ids=nobody", "loadgen"));
        heap_after = server_metric ("presence_heap_bytes");
        printf ("store:   heap in use +%.1f MB: %.0f B per instance (store and allocator "
                "overhead, once the %.0f rate-limit buckets of the burst are forgotten)\n",
                (heap_after - heap_before) / 1e6, (heap_after - heap_before) / done,
                (double) done - server_metric ("presence_rate_limit_keys") + 1);
      }
    if (use_redis)
      {
        RedisStats after;

        redis_snap (&after);
        printf ("store:   Redis used_memory +%.1f MB: %.0f B per participant (one device each, "
                "with its share of the event streams)\n",
                (after.used_memory - redis_before.used_memory) / 1e6,
                (after.used_memory - redis_before.used_memory) / done);
        redis_report ("store:  ", &redis_before, done);
      }
  }
  conns_close (conns, n_conns);
}

/* The load phase beats the store phase's instances in turn, as agents
 * beating every instances/rate seconds would; each goes idle for one beat
 * in twenty (a public change, and its way back another). */
static void
conn_send_next (Conn  *c,
                double sched)
{
  long index = load_beats % opt.instances;
  long round = load_beats / opt.instances;

  load_beats++;
  c->busy = 1;
  c->sent_sched = sched;
  send_heartbeat (c, (round + index) % 20 == 19 ? "idle" : "online", STORE_FIRST_ID + index);
}

/* Phase 2, one step: `rate` heartbeats per second spread over the agents. */
static int
load_step (Conn   *conns,
           double  rate,
           double *p99_out,
           double *cpu_us_out)
{
  Samples lat = { 0 };
  double t0 = now_s (), end = t0 + opt.step_seconds, cpu_before = server_cpu_s ();
  long sent = 0, errors_before = total_errors, dropped = 0;
  struct epoll_event events[512];
  RedisStats redis_before;

  redis_snap (&redis_before);

  while (budget_left ())
    {
      double now = now_s ();
      long due = now < end ? (long) ((now - t0) * rate) : (long) (opt.step_seconds * rate);
      int n, timeout_ms;

      /* Schedule every beat whose time has come: beat j belongs to agent
       * j mod N and is due at t0 + j / rate. */
      for (; sent < due; sent++)
        {
          Conn *c = &conns[sent % opt.agents];
          double sched = t0 + sent / rate;

          if (!c->busy)
            conn_send_next (c, sched);
          else if (c->n_pending < MAX_PENDING)
            c->pending[c->n_pending++] = sched;
          else
            dropped++;
        }
      if (now >= end && lat.n + dropped >= (size_t) sent)
        break;
      if (now >= end + 5)
        break;
      /* Busy-polls while sending: a sleeping generator is woken per
       * response, and on this VM those wakeups cost it more than the
       * requests do, so it saturates its core long before the server. */
      timeout_ms = now < end ? 0 : 50;
      n = epoll_wait (epfd, events, 512, timeout_ms);
      for (int i = 0; i < n; i++)
        {
          Conn *c = events[i].data.ptr;
          int status;

          read_into (c);
          while ((status = take_response (c)) != 0)
            {
              double t = now_s ();

              samples_add (&lat, (t - c->sent_sched) * 1000.0);
              if (status != 200)
                total_errors++;
              c->busy = 0;
              if (c->n_pending > 0)
                {
                  double sched = c->pending[0];

                  memmove (c->pending, c->pending + 1, --c->n_pending * sizeof (double));
                  conn_send_next (c, sched);
                }
            }
        }
    }
  {
    double secs = now_s () - t0, cpu = server_cpu_s () - cpu_before;
    double p50 = percentile (&lat, 0.50), p99 = percentile (&lat, 0.99);
    double p999 = percentile (&lat, 0.999);
    double max = lat.n ? lat.v[lat.n - 1] : 0;

    printf ("load:    target %6.0f hb/s → %6.0f hb/s done, p50 %6.2f ms, p99 %7.2f ms, "
            "p99.9 %7.2f ms, max %7.2f ms, errors %ld, dropped %ld, server CPU %.1f µs/hb "
            "(%.0f%% of a core)\n",
            rate, lat.n / opt.step_seconds, p50, p99, p999, max, total_errors - errors_before,
            dropped, lat.n ? cpu * 1e6 / lat.n : 0, cpu * 100 / secs);
    redis_report ("load:   ", &redis_before, lat.n);
    *p99_out = p99;
    *cpu_us_out = lat.n ? cpu * 1e6 / lat.n : 0;
    free (lat.v);
    return lat.n > 0 && dropped == 0 && total_errors == errors_before;
  }
}

static void
phase_load (void)
{
  Conn *conns = conns_open (opt.agents);
  double best = 0, cpu_us_sum = 0;
  int steps = 0;

  for (double rate = opt.start_rate; rate <= opt.max_rate && budget_left (); rate += opt.rate_step)
    {
      double p99 = 0, cpu_us = 0;
      int clean = load_step (conns, rate, &p99, &cpu_us);

      cpu_us_sum += cpu_us;
      steps++;
      if (!clean || p99 > opt.target_p99_ms)
        break;
      best = rate;
    }
  printf ("load:    sustained %.0f heartbeats/s at p99 ≤ %.0f ms with %d keep-alive agents\n",
          best, opt.target_p99_ms, opt.agents);
  /* What one core would do if the server had it to itself. */
  if (steps > 0 && cpu_us_sum > 0)
    printf ("load:    server CPU %.1f µs per heartbeat on average: ≈ %.0f heartbeats/s per "
            "core when CPU-bound\n",
            cpu_us_sum / steps, 1e6 * steps / cpu_us_sum);
  conns_close (conns, opt.agents);
}

/* GET on a connection of its own: the body of a 200 (malloc'd), or NULL. */
static char *
http_get (const char *path, const char *token)
{
  Conn *c = conns_open (1);
  char req[9000], *body = NULL;
  int n = snprintf (req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s\r\n", path,
                    token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
  double deadline = now_s () + 10;

  write_all (c->fd, req, n);
  while (now_s () < deadline)
    {
      struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
      char *end, *cl;
      long len;

      poll (&pfd, 1, 100);
      read_into (c);
      c->buf[c->len] = '\0';
      end = strstr (c->buf, "\r\n\r\n");
      cl = strcasestr (c->buf, "Content-Length:");
      if (end == NULL || cl == NULL)
        continue;
      len = strtol (cl + 15, NULL, 10);
      if ((size_t)(end + 4 - c->buf + len) > c->len)
        continue;
      if (strncmp (c->buf, "HTTP/1.1 200", 12) == 0)
        body = strndup (end + 4, len);
      break;
    }
  conns_close (c, 1);
  return body;
}

static double
server_metric (const char *name)
{
  char *page = http_get ("/metrics", NULL), *at;
  double value = -1;
  char key[128];

  snprintf (key, sizeof key, "\n%s ", name);
  if (page != NULL && (at = strstr (page, key)) != NULL)
    value = strtod (at + strlen (key), NULL);
  free (page);
  return value;
}

/* n first-seen heartbeats for agents first..first+n-1 over 64 connections. */
static long
register_agents (int first, int n)
{
  const int n_conns = 64;
  Conn *conns = conns_open (n_conns);
  int next = 0, done = 0;
  long errors = 0;
  struct epoll_event events[256];

  for (int i = 0; i < n_conns && next < n; i++)
    send_heartbeat (&conns[i], "online", first + next++);
  while (done < next && budget_left ())
    {
      int k = epoll_wait (epfd, events, 256, 1000);

      for (int i = 0; i < k; i++)
        {
          Conn *c = events[i].data.ptr;
          int status;

          read_into (c);
          while ((status = take_response (c)) != 0)
            {
              done++;
              errors += status != 200;
              if (next < n)
                send_heartbeat (c, "online", first + next++);
            }
        }
    }
  conns_close (conns, n_conns);
  return errors;
}

/* Phase 3: every agent reconnects within storm_seconds, as after a network
 * outage or a server restart: a new connection and a new agent run each. */
static void
phase_storm (void)
{
  const int first = 3000000, n = opt.storm_agents;
  Conn **conns = calloc (n, sizeof (Conn *));
  struct epoll_event events[512];
  double t0, last_done = 0, cpu_before, changes_before, changes_after, wait_until;
  int opened = 0, done = 0, online = 0;
  double registered = server_metric ("presence_state_changes_total");
  long errors = register_agents (first, n);

  if (errors > 0)
    die ("storm: %ld errors registering the agents", errors);
  /* Each registration is one change; over Redis the server counts them as
   * its event stream brings them, so wait for all before counting. */
  wait_until = now_s () + 10;
  while ((changes_before = server_metric ("presence_state_changes_total")) < registered + n
         && now_s () < wait_until)
    usleep (10000);
  session_tag = 0x5707u;
  cpu_before = server_cpu_s ();
  t0 = now_s ();
  while (done < n && now_s () < t0 + opt.storm_seconds + 30)
    {
      long due = (long)((now_s () - t0) / opt.storm_seconds * n);
      int k;

      for (; opened < n && opened <= due; opened++)
        {
          conns[opened] = conns_open (1);
          conns[opened]->id = opened;
          send_heartbeat (conns[opened], "online", first + opened);
        }
      k = epoll_wait (epfd, events, 512, 1);
      for (int i = 0; i < k; i++)
        {
          Conn *c = events[i].data.ptr;
          int status;

          read_into (c);
          if ((status = take_response (c)) != 0)
            {
              done++;
              errors += status != 200;
              last_done = now_s ();
              close (c->fd);
              c->fd = -1;
            }
        }
    }
  {
    double cpu = server_cpu_s () - cpu_before;

    /* Changes the storm caused reach the count through the event stream
     * within milliseconds; give them a second. */
    usleep (1000000);
    changes_after = server_metric ("presence_state_changes_total");
    /* All online again, as any reader sees them. */
    for (int i = 0; i < n; i += 300)
      {
        char path[8192];
        int len = snprintf (path, sizeof path, "/v1/presence?ids=");
        char *body, *at;

        for (int j = i; j < i + 300 && j < n; j++)
          len += snprintf (path + len, sizeof path - len, "%sp%07d", j > i ? "," : "", first + j);
        body = http_get (path, "storm-checker");
        for (at = body; at != NULL && (at = strstr (at, "\"online\"")) != NULL; at++)
          online++;
        free (body);
      }
    printf ("storm:   %d agents reconnected over %.0f s (new connection, new session): all "
            "accepted %.2f s after the first, %ld errors, server CPU %.1f µs each\n",
            done, opt.storm_seconds, last_done - t0, errors, done ? cpu * 1e6 / done : 0);
    printf ("storm:   %d of %d read online afterwards; %.0f public state changes during the "
            "storm (flicker, must be 0)\n",
            online, n, changes_after - changes_before);
  }
  for (int i = 0; i < opened; i++)
    {
      if (conns[i]->fd >= 0)
        close (conns[i]->fd);
      free (conns[i]);
    }
  free (conns);
  session_tag = 0x5e55u;
}

static void
phase_fanout (void)
{
  Conn *subs = conns_open (opt.subscribers);
  Conn *writer;
  Samples lat = { 0 };
  struct epoll_event events[512];
  int snapshots = 0;
  double deadline;

  for (int i = 0; i < opt.subscribers; i++)
    {
      char req[512];
      int n = snprintf (req, sizeof req,
                        "GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer watcher%d\r\n\r\n",
                        i);

      write_all (subs[i].fd, req, n);
      subs[i].busy = 1; /* handshake pending */
    }
  deadline = now_s () + 30;
  while (snapshots < opt.subscribers && now_s () < deadline)
    {
      int n = epoll_wait (epfd, events, 512, 100);

      for (int i = 0; i < n; i++)
        {
          Conn *c = events[i].data.ptr;

          read_into (c);
          if (c->busy)
            {
              char *end;

              c->buf[c->len] = '\0';
              end = strstr (c->buf, "\r\n\r\n");
              if (end == NULL)
                continue;
              if (strncmp (c->buf, "HTTP/1.1 101", 12) != 0)
                die ("WebSocket handshake refused: %.40s", c->buf);
              c->len -= end + 4 - c->buf;
              memmove (c->buf, end + 4, c->len);
              c->busy = 0;
              ws_send_text (c->fd, opt.member_events
                                     ? "{\"op\":\"sub\",\"ids\":[\"fan-target\"],"
                                       "\"events\":[\"enter\",\"update\",\"leave\"]}"
                                     : "{\"op\":\"sub\",\"ids\":[\"fan-target\"]}");
            }
          snapshots += ws_take_messages (c);
        }
    }
  if (snapshots < opt.subscribers)
    die ("only %d of %d subscribers got a snapshot", snapshots, opt.subscribers);

  writer = conns_open (1);
  for (int k = 0; k < opt.fan_changes && budget_left (); k++)
    {
      Conn *w = &writer[0];
      int received = 0;
      double t_send;
      char body[160], req[512];
      int blen = opt.member_events
                   ? snprintf (body, sizeof body,
                               "{\"state\":\"online\",\"session\":\"fan\",\"seq\":%d,"
                               "\"data\":{\"n\":%d}}", k + 1, k)
                   : snprintf (body, sizeof body,
                               "{\"state\":\"%s\",\"session\":\"fan\",\"seq\":%d}",
                               k % 2 ? "online" : "busy", k + 1);
      int rlen = snprintf (req, sizeof req,
                           "PUT /v1/instances/fan-device HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Authorization: Bearer fan-target\r\nContent-Length: %d\r\n\r\n%s",
                           blen, body);

      /* Apart by more than the server's coalescing window. */
      usleep (200000);
      t_send = now_s ();
      write_all (w->fd, req, rlen);
      deadline = t_send + 5;
      while (received < opt.subscribers && now_s () < deadline)
        {
          int n = epoll_wait (epfd, events, 512, 100);

          for (int i = 0; i < n; i++)
            {
              Conn *c = events[i].data.ptr;
              int got;

              read_into (c);
              if (c == w)
                {
                  take_response (c);
                  continue;
                }
              got = ws_take_messages (c);
              for (int j = 0; j < got; j++)
                samples_add (&lat, (now_s () - t_send) * 1000.0);
              received += got;
            }
        }
      if (received < opt.subscribers)
        printf ("fan-out: change %d reached only %d of %d subscribers\n", k, received,
                opt.subscribers);
    }
  {
    double p50 = percentile (&lat, 0.5), p99 = percentile (&lat, 0.99);

    printf ("fan-out: one %s → %d WebSocket subscribers (%d changes): p50 %.2f ms, "
            "p99 %.2f ms, max %.2f ms\n",
            opt.member_events ? "member event" : "state change", opt.subscribers,
            opt.fan_changes, p50, p99, lat.n ? lat.v[lat.n - 1] : 0);
  }
  free (lat.v);
  conns_close (writer, 1);
  conns_close (subs, opt.subscribers);
}

static void
usage (void)
{
  fprintf (stderr,
           "usage: loadgen --server PATH [--agents N] [--instances N] [--subscribers N]\n"
           "               [--fan-changes N] [--no-pin] [--store ADDRESS]\n"
           "               [--phases store,load,storm,fanout] [--storm-agents N]\n"
           "               [--storm-seconds S] [--ttl S] [--data-bytes N] [--member-events]\n"
           "               [--step-seconds S] [--start-rate R] [--rate-step R] [--max-rate R]\n"
           "               [--target-p99-ms MS] [--max-seconds S] [--max-requests N]\n");
  exit (2);
}

int
main (int   argc,
      char *argv[])
{
  static const struct option longopts[] = {
    { "server", required_argument, NULL, 's' },
    { "agents", required_argument, NULL, 'a' },
    { "instances", required_argument, NULL, 'i' },
    { "subscribers", required_argument, NULL, 'w' },
    { "fan-changes", required_argument, NULL, 'f' },
    { "no-pin", no_argument, NULL, 'P' },
    { "step-seconds", required_argument, NULL, 'd' },
    { "start-rate", required_argument, NULL, 'r' },
    { "rate-step", required_argument, NULL, 'R' },
    { "max-rate", required_argument, NULL, 'm' },
    { "target-p99-ms", required_argument, NULL, 'p' },
    { "max-seconds", required_argument, NULL, 't' },
    { "max-requests", required_argument, NULL, 'n' },
    { "store", required_argument, NULL, 'S' },
    { "phases", required_argument, NULL, 'H' },
    { "storm-agents", required_argument, NULL, 'A' },
    { "storm-seconds", required_argument, NULL, 'D' },
    { "ttl", required_argument, NULL, 'T' },
    { "data-bytes", required_argument, NULL, 'B' },
    { "member-events", no_argument, NULL, 'E' },
    { NULL, 0, NULL, 0 },
  };
  struct rlimit rl;
  int ch, status, data_bytes = 0;

  while ((ch = getopt_long (argc, argv, "", longopts, NULL)) != -1)
    {
      switch (ch)
        {
        case 's': opt.server_path = optarg; break;
        case 'a': opt.agents = atoi (optarg); break;
        case 'i': opt.instances = atoi (optarg); break;
        case 'w': opt.subscribers = atoi (optarg); break;
        case 'f': opt.fan_changes = atoi (optarg); break;
        case 'P': pin_cpus = 0; break;
        case 'd': opt.step_seconds = atof (optarg); break;
        case 'r': opt.start_rate = atof (optarg); break;
        case 'R': opt.rate_step = atof (optarg); break;
        case 'm': opt.max_rate = atof (optarg); break;
        case 'p': opt.target_p99_ms = atof (optarg); break;
        case 't': opt.max_seconds = atof (optarg); break;
        case 'n': opt.max_requests = atol (optarg); break;
        case 'S': server_store = optarg; break;
        case 'H': opt.phases = optarg; break;
        case 'A': opt.storm_agents = atoi (optarg); break;
        case 'D': opt.storm_seconds = atof (optarg); break;
        case 'T': server_ttl = optarg; break;
        case 'B': data_bytes = atoi (optarg); break;
        case 'E': opt.member_events = 1; break;
        default: usage ();
        }
    }
  if (opt.server_path == NULL || opt.agents < 1 || opt.subscribers < 1 || opt.instances < 1 ||
      data_bytes < 0 || data_bytes > 1024)
    usage ();
  /* Every heartbeat's member data: {"d":"xx…"}, data_bytes long as the
   * server keeps it (compact), like a cursor or a task description. */
  member_data = calloc (1, 32 + data_bytes);
  if (data_bytes >= 9)
    {
      strcpy (member_data, ",\"data\":{\"d\":\"");
      memset (member_data + strlen (member_data), 'x', data_bytes - 8);
      strcat (member_data, "\"}");
    }

  /* Agents + subscribers + spare, each one descriptor. */
  getrlimit (RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit (RLIMIT_NOFILE, &rl);
  if ((rlim_t) (opt.agents + opt.subscribers + opt.storm_agents + 128) > rl.rlim_cur)
    die ("need %d file descriptors, the limit is %lu",
         opt.agents + opt.subscribers + opt.storm_agents + 128, (unsigned long) rl.rlim_cur);
  signal (SIGPIPE, SIG_IGN);

  setvbuf (stdout, NULL, _IOLBF, 0);
  epfd = epoll_create1 (0);
  run_start = now_s ();
  start_server (opt.server_path);
  printf ("server:  %s --store %s on 127.0.0.1:%d, pid %d%s\n", opt.server_path,
          server_store != NULL ? server_store : "memory", server_port, server_pid,
          pin_cpus && sysconf (_SC_NPROCESSORS_ONLN) >= 2 ? ", pinned to CPU 0 (loadgen on CPU 1)"
                                                           : "");

  use_redis = server_store != NULL && strcmp (server_store, "memory") != 0;
  /* Ready when a read is answered from the store ("unknown" without it). */
  for (double deadline = now_s () + 10;;)
    {
      char *body = http_get ("/v1/presence?ids=nobody", "loadgen");
      int ready = body != NULL && strstr (body, "offline") != NULL;

      free (body);
      if (ready)
        break;
      if (now_s () > deadline)
        die ("the server's store was not ready within 10 s");
      usleep (20000);
    }
#ifdef HAVE_REDIS
  if (use_redis && !redis_stats_open (server_store))
    die ("cannot reach Redis at %s for its figures", server_store);
#else
  if (use_redis)
    die ("loadgen was built without hiredis: no Redis figures");
#endif
  if (strstr (opt.phases, "store") != NULL)
    phase_store ();
  if (strstr (opt.phases, "load") != NULL)
    phase_load ();
  if (strstr (opt.phases, "storm") != NULL)
    phase_storm ();
  if (strstr (opt.phases, "fanout") != NULL)
    phase_fanout ();

  printf ("total:   %ld requests, %ld errors, %.1f s\n", total_requests, total_errors,
          now_s () - run_start);
  kill (server_pid, SIGTERM);
  waitpid (server_pid, &status, 0);
  return 0;
}
