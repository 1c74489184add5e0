#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loadgen-net.h"

pid_t server_pid;
int server_port;
int epfd;
int pin_cpus = 1;
const char *server_store;
const char *server_ttl;

double
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
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

void
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

double
percentile (Samples *s,
            double   p)
{
  if (s->n == 0)
    return 0;
  qsort (s->v, s->n, sizeof (double), cmp_double);
  return s->v[(size_t) (p * (s->n - 1))];
}

/* utime + stime of the server, in seconds. */
double
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

long
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

void
pin_to_cpu (pid_t pid,
            int   cpu)
{
  cpu_set_t set;

  if (!pin_cpus || sysconf (_SC_NPROCESSORS_ONLN) < 2)
    return;
  CPU_ZERO (&set);
  CPU_SET (cpu, &set);
  sched_setaffinity (pid, sizeof set, &set);
}

void
start_server (const char *path)
{
  char port_file[] = "/tmp/loadgen-port-XXXXXX";
  char interval[32];
  int fd = mkstemp (port_file);
  double deadline;

  if (fd < 0)
    die ("mkstemp: %s", strerror (errno));
  close (fd);
  unlink (port_file);

  if (server_ttl != NULL)
    snprintf (interval, sizeof interval, "%g", atof (server_ttl) * 0.4);
  server_pid = fork ();
  if (server_pid == 0)
    {
      /* --ttl and --interval only when asked for. */
      const char *argv[] = { path, "--dev", "--listen", "127.0.0.1:0", "--port-file", port_file,
                             "--max-instances", "1000000", "--store",
                             server_store != NULL ? server_store : "memory",
                             server_ttl != NULL ? "--ttl" : NULL, server_ttl,
                             "--interval", interval, NULL };
      int devnull = open ("/dev/null", O_WRONLY);

      dup2 (devnull, STDOUT_FILENO);
      /* Never outlive the benchmark, even if it is killed. */
      prctl (PR_SET_PDEATHSIG, SIGTERM);
      pin_to_cpu (0, 0);
      execv (path, (char **)argv);
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

void
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

/* Consumes one complete HTTP response from c->buf; returns its status, 0 if
 * incomplete. */
int
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

int
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

Conn *
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

void
conns_close (Conn *conns,
             int   n)
{
  for (int i = 0; i < n; i++)
    close (conns[i].fd);
  free (conns);
}

/* Phase 3: WebSocket fan-out. */
void
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
int
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
