/* loadgen: an open-loop load generator for presence-server (a benchmark,
 * not a test).
 *
 * It starts `presence-server --dev` on 127.0.0.1 (pinned to CPU 0 when there
 * are two or more, itself on CPU 1), then:
 *
 *  1. store: registers --instances instances over a few connections and
 *     reports the server's RSS growth per instance;
 *  2. load: --agents agents, each on its own keep-alive connection, beat at
 *     a fixed total rate for --step-seconds per step, rising until p99
 *     exceeds --target-p99-ms.  Open loop: every heartbeat has a scheduled
 *     send time and its latency is measured from that time, so a slow server
 *     cannot hide its queueing (no coordinated omission);
 *  3. fan-out: --subscribers WebSocket subscribers watch one participant;
 *     each change is timed until every subscriber has it.
 *
 * Server CPU comes from /proc/PID/stat (utime + stime).  Loopback only, with
 * bounded run time (--max-seconds) and request count (--max-requests). */

#define _GNU_SOURCE

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loadgen-net.h"

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
} opt = { NULL, 4000, 100000, 1000, 20, 5.0, 5000, 5000, 60000, 10.0, 240.0, 5000000 };

static long total_requests;
static long total_errors;
static double run_start;

/* Instance ids in mixed case, so the server's case folding is exercised. */
static void
send_heartbeat (Conn       *c,
                const char *state,
                int         instance)
{
  char body[256], req[768];
  int blen, rlen;

  blen = snprintf (body, sizeof body,
                   "{\"state\":\"%s\",\"session\":\"%08x%08x\",\"seq\":%llu,"
                   "\"last_input_seconds\":3,\"reason\":\"periodic\"}",
                   state, 0x5e55u, instance, (unsigned long long) ++c->seq);
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

/* Phase 1: first-seen heartbeats for many instances over 64 connections. */
static void
phase_store (void)
{
  const int n_conns = 64;
  Conn *conns = conns_open (n_conns);
  long rss_before = server_rss_kib ();
  double cpu_before = server_cpu_s (), t0 = now_s ();
  int next = 0, done = 0;
  struct epoll_event events[256];

  for (int i = 0; i < n_conns && next < opt.instances; i++)
    {
      conns[i].busy = 1;
      send_heartbeat (&conns[i], "online", 1000000 + next++);
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
                send_heartbeat (c, "online", 1000000 + next++);
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
  }
  conns_close (conns, n_conns);
}

static void
conn_send_next (Conn  *c,
                double sched)
{
  c->busy = 1;
  c->sent_sched = sched;
  send_heartbeat (c, (c->seq % 20) == 19 ? "idle" : "online", c->id);
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
              ws_send_text (c->fd, "{\"op\":\"sub\",\"ids\":[\"fan-target\"]}");
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
      int blen = snprintf (body, sizeof body,
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

    printf ("fan-out: one change → %d WebSocket subscribers (%d changes): p50 %.2f ms, "
            "p99 %.2f ms, max %.2f ms\n",
            opt.subscribers, opt.fan_changes, p50, p99, lat.n ? lat.v[lat.n - 1] : 0);
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
           "               [--fan-changes N] [--no-pin]\n"
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
    { NULL, 0, NULL, 0 },
  };
  struct rlimit rl;
  int ch, status;

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
        default: usage ();
        }
    }
  if (opt.server_path == NULL || opt.agents < 1 || opt.subscribers < 1 || opt.instances < 1)
    usage ();

  /* Agents + subscribers + spare, each one descriptor. */
  getrlimit (RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit (RLIMIT_NOFILE, &rl);
  if ((rlim_t) (opt.agents + opt.subscribers + 128) > rl.rlim_cur)
    die ("need %d file descriptors, the limit is %lu", opt.agents + opt.subscribers + 128,
         (unsigned long) rl.rlim_cur);
  signal (SIGPIPE, SIG_IGN);

  setvbuf (stdout, NULL, _IOLBF, 0);
  epfd = epoll_create1 (0);
  run_start = now_s ();
  start_server (opt.server_path);
  printf ("server:  %s on 127.0.0.1:%d, pid %d%s\n", opt.server_path, server_port, server_pid,
          pin_cpus && sysconf (_SC_NPROCESSORS_ONLN) >= 2 ? ", pinned to CPU 0 (loadgen on CPU 1)"
                                                           : "");

  phase_store ();
  phase_load ();
  phase_fanout ();

  printf ("total:   %ld requests, %ld errors, %.1f s\n", total_requests, total_errors,
          now_s () - run_start);
  kill (server_pid, SIGTERM);
  waitpid (server_pid, &status, 0);
  return 0;
}
