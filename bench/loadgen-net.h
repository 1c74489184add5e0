#pragma once

/* The plumbing of bench/loadgen: the server under test, loopback
 * connections, minimal HTTP/1.1 and WebSocket framing, and statistics. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAX_PENDING 64
#define BUF_SIZE 8192

typedef struct
{
  int fd;
  int id;
  int busy;                    /* a request (or a handshake) is in flight */
  double sent_sched;           /* scheduled time of the request in flight */
  double pending[MAX_PENDING]; /* scheduled, not yet sent (open loop) */
  int n_pending;
  char buf[BUF_SIZE];
  size_t len;
} Conn;

typedef struct
{
  double *v;
  size_t n, cap;
} Samples;

extern pid_t server_pid;
extern int server_port;
extern int epfd;
extern int pin_cpus; /* 0: leave placement to the scheduler (a shared machine) */
extern const char *server_store; /* the server's --store, NULL for its default */
extern const char *server_ttl;   /* the server's --ttl (interval 0.4 of it), NULL: default */

double now_s (void);
void   die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));

void   samples_add (Samples *s,
                    double   value);
/* Sorts the samples. */
double percentile (Samples *s,
                   double   p);

/* `presence-server --dev` on 127.0.0.1:0, pinned to CPU 0; sets server_pid
 * and server_port. */
void   start_server (const char *path);
double server_cpu_s (void);
long   server_rss_kib (void);
void   pin_to_cpu (pid_t pid,
                   int   cpu);

void   write_all (int         fd,
                  const char *data,
                  size_t      len);
/* Consumes one complete response from c->buf: its status, or 0. */
int    take_response (Conn *c);
int    read_into (Conn *c);
/* n keep-alive connections, registered with epfd. */
Conn  *conns_open (int n);
void   conns_close (Conn *conns,
                    int   n);

void   ws_send_text (int         fd,
                     const char *text);
/* Consumes the complete frames in c->buf: how many were text messages. */
int    ws_take_messages (Conn *c);
