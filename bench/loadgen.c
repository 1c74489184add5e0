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

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PENDING 64
#define BUF_SIZE 8192

typedef struct
{
  int fd;
  int id;
  uint64_t seq;
  int busy;                      /* a request is in flight */
  double sent_sched;             /* scheduled time of the request in flight */
  double pending[MAX_PENDING];   /* scheduled, not yet sent (open loop) */
  int n_pending;
  char buf[BUF_SIZE];
  size_t len;
} Conn;

typedef struct
{
  double *v;
  size_t n, cap;
} Samples;

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

static pid_t server_pid;
static int server_port;
static int epfd;
static long total_requests;
static long total_errors;
static double run_start;

static double
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die (const char *fmt,
     ...)
{
  va_list ap;

  va_start (ap, fmt);
  fprintf (stderr, "loadgen: ");
  vfprintf (stderr, fmt, ap);
  fprintf (stderr, "\n");
  va_end (ap);
  if (server_pid > 0)
    kill (server_pid, SIGTERM);
  exit (1);
}

static void
samples_add (Samples *s,
             double   value)
{
  if (s->n == s->cap)
    {
      s->cap = s->cap ? s->cap * 2 : 4096;
      s->v = realloc (s->v, s->cap * sizeof (double));
    }
  s->v[s->n++] = value;
}

static int
cmp_double (const void *a,
            const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
percentile (Samples *s,
            double   p)
{
  if (s->n == 0)
    return 0;
  qsort (s->v, s->n, sizeof (double), cmp_double);
  return s->v[(size_t) (p * (s->n - 1))];
}

/* utime + stime of the server, in seconds. */
static double
server_cpu_s (void)
{
  char path[64], text[1024];
  unsigned long utime = 0, stime = 0;
  FILE *f;
  char *p;

  snprintf (path, sizeof path, "/proc/%d/stat", server_pid);
  f = fopen (path, "r");
  if (f == NULL || fgets (text, sizeof text, f) == NULL)
    die ("cannot read %s", path);
  fclose (f);
  /* Fields after the command name, which is in parentheses. */
  p = strrchr (text, ')');
  if (p == NULL || sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                           &stime) != 2)
    die ("cannot parse %s", path);
  return (utime + stime) / (double) sysconf (_SC_CLK_TCK);
}

static long
server_rss_kib (void)
{
  char path[64], line[256];
  long kib = -1;
  FILE *f;

  snprintf (path, sizeof path, "/proc/%d/status", server_pid);
  f = fopen (path, "r");
  if (f == NULL)
    die ("cannot read %s", path);
  while (fgets (line, sizeof line, f) != NULL)
    if (sscanf (line, "VmRSS: %ld kB", &kib) == 1)
      break;
  fclose (f);
  return kib;
}

static void
pin_to_cpu (pid_t pid,
            int   cpu)
{
  cpu_set_t set;

  if (sysconf (_SC_NPROCESSORS_ONLN) < 2)
    return;
  CPU_ZERO (&set);
  CPU_SET (cpu, &set);
  sched_setaffinity (pid, sizeof set, &set);
}

static void
start_server (void)
{
  char port_file[] = "/tmp/loadgen-port-XXXXXX";
  int fd = mkstemp (port_file);
  double deadline;

  if (fd < 0)
    die ("mkstemp: %s", strerror (errno));
  close (fd);
  unlink (port_file);

  server_pid = fork ();
  if (server_pid == 0)
    {
      int devnull = open ("/dev/null", O_WRONLY);

      dup2 (devnull, STDOUT_FILENO);
      /* Never outlive the benchmark, even if it is killed. */
      prctl (PR_SET_PDEATHSIG, SIGTERM);
      pin_to_cpu (0, 0);
      execl (opt.server_path, opt.server_path, "--dev", "--listen", "127.0.0.1:0", "--port-file",
             port_file, "--max-instances", "1000000", (char *) NULL);
      _exit (127);
    }
  pin_to_cpu (0, 1);

  deadline = now_s () + 10;
  while (now_s () < deadline)
    {
      FILE *f = fopen (port_file, "r");

      if (f != NULL && fscanf (f, "%d", &server_port) == 1)
        {
          fclose (f);
          unlink (port_file);
          return;
        }
      if (f != NULL)
        fclose (f);
      usleep (20000);
    }
  die ("the server did not write its port");
}

static int
connect_loopback (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons (server_port) };
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  int one = 1;

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 || connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    die ("connect: %s", strerror (errno));
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl (fd, F_SETFL, O_NONBLOCK);
  return fd;
}

static void
write_all (int         fd,
           const char *data,
           size_t      len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (n <= 0)
        die ("write: %s", strerror (errno));
      data += n;
      len -= n;
    }
}

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

/* Consumes one complete HTTP response from c->buf; returns its status, 0 if
 * incomplete. */
static int
take_response (Conn *c)
{
  char *end, *cl;
  int status = 0;
  long body_len = 0;
  size_t total;

  if (c->len < 12)
    return 0;
  c->buf[c->len] = '\0';
  end = strstr (c->buf, "\r\n\r\n");
  if (end == NULL)
    return 0;
  sscanf (c->buf, "HTTP/1.1 %d", &status);
  cl = strcasestr (c->buf, "Content-Length:");
  if (cl != NULL && cl < end)
    body_len = strtol (cl + 15, NULL, 10);
  total = (end + 4 - c->buf) + body_len;
  if (c->len < total)
    return 0;
  memmove (c->buf, c->buf + total, c->len - total);
  c->len -= total;
  return status;
}

static int
read_into (Conn *c)
{
  ssize_t n = read (c->fd, c->buf + c->len, BUF_SIZE - 1 - c->len);

  if (n == 0)
    die ("the server closed connection %d", c->id);
  if (n < 0)
    return errno == EAGAIN ? 0 : (die ("read: %s", strerror (errno)), 0);
  c->len += n;
  return (int) n;
}

static Conn *
conns_open (int n)
{
  Conn *conns = calloc (n, sizeof (Conn));

  for (int i = 0; i < n; i++)
    {
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &conns[i] };

      conns[i].fd = connect_loopback ();
      conns[i].id = i;
      epoll_ctl (epfd, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
  return conns;
}

static void
conns_close (Conn *conns,
             int   n)
{
  for (int i = 0; i < n; i++)
    close (conns[i].fd);
  free (conns);
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
           double *p99_out)
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
      timeout_ms = now < end ? 1 : 50;
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
    free (lat.v);
    return lat.n > 0 && dropped == 0 && total_errors == errors_before;
  }
}

static void
phase_load (void)
{
  Conn *conns = conns_open (opt.agents);
  double best = 0;

  for (double rate = opt.start_rate; rate <= opt.max_rate && budget_left (); rate += opt.rate_step)
    {
      double p99 = 0;
      int clean = load_step (conns, rate, &p99);

      if (!clean || p99 > opt.target_p99_ms)
        break;
      best = rate;
    }
  printf ("load:    sustained %.0f heartbeats/s at p99 ≤ %.0f ms with %d keep-alive agents\n",
          best, opt.target_p99_ms, opt.agents);
  conns_close (conns, opt.agents);
}

/* Phase 3: WebSocket fan-out. */
static void
ws_send_text (int         fd,
              const char *text)
{
  size_t len = strlen (text);
  unsigned char frame[512];
  size_t off = 0;

  frame[off++] = 0x81;
  frame[off++] = 0x80 | (unsigned char) len; /* short messages only */
  memset (frame + off, 0, 4);                /* a zero mask is a valid mask */
  off += 4;
  memcpy (frame + off, text, len);
  write_all (fd, (const char *) frame, off + len);
}

/* Counts complete server frames in c->buf that are text messages. */
static int
ws_take_messages (Conn *c)
{
  int count = 0;

  for (;;)
    {
      size_t need = 2, len;

      if (c->len < 2)
        break;
      len = c->buf[1] & 0x7f;
      if (len == 126)
        {
          if (c->len < 4)
            break;
          len = ((unsigned char) c->buf[2] << 8) | (unsigned char) c->buf[3];
          need = 4;
        }
      if (c->len < need + len)
        break;
      if ((c->buf[0] & 0x0f) == 0x1)
        count++;
      memmove (c->buf, c->buf + need + len, c->len - need - len);
      c->len -= need + len;
    }
  return count;
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
           "               [--fan-changes N]\n"
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
  start_server ();
  printf ("server:  %s on 127.0.0.1:%d, pid %d%s\n", opt.server_path, server_port, server_pid,
          sysconf (_SC_NPROCESSORS_ONLN) >= 2 ? ", pinned to CPU 0 (loadgen on CPU 1)" : "");

  phase_store ();
  phase_load ();
  phase_fanout ();

  printf ("total:   %ld requests, %ld errors, %.1f s\n", total_requests, total_errors,
          now_s () - run_start);
  kill (server_pid, SIGTERM);
  waitpid (server_pid, &status, 0);
  return 0;
}
