/* bench/loadgen: Redis figures for a --store redis run (see loadgen-redis.h). */

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadgen-redis.h"

static redisContext *ctx;
static long redis_pid;

static char *
info (const char *section)
{
  redisReply *reply = redisCommand (ctx, "INFO %s", section);
  char *text = NULL;

  if (reply != NULL && reply->type == REDIS_REPLY_STRING)
    text = strdup (reply->str);
  freeReplyObject (reply);
  return text;
}

static double
field (const char *text,
       const char *name)
{
  const char *at = text != NULL ? strstr (text, name) : NULL;

  return at != NULL ? strtod (at + strlen (name), NULL) : 0;
}

int
redis_stats_open (const char *address)
{
  char *server;

  if (strncmp (address, "unix:", 5) == 0)
    ctx = redisConnectUnix (address + 5);
  else if (strncmp (address, "redis://", 8) == 0)
    {
      char host[256] = "127.0.0.1";
      int port = 6379;

      sscanf (address + 8, "%255[^:/]:%d", host, &port);
      ctx = redisConnect (host, port);
    }
  if (ctx == NULL || ctx->err)
    return 0;
  server = info ("server");
  redis_pid = (long)field (server, "process_id:");
  free (server);
  return 1;
}

static double
process_cpu_s (long pid)
{
  char path[64], buf[1024], *p;
  unsigned long utime = 0, stime = 0;
  FILE *f;

  snprintf (path, sizeof path, "/proc/%ld/stat", pid);
  f = fopen (path, "r");
  if (f == NULL)
    return 0;
  if (fgets (buf, sizeof buf, f) != NULL && (p = strrchr (buf, ')')) != NULL)
    sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime);
  fclose (f);
  return (double)(utime + stime) / 100.0;
}

int
redis_stats_take (RedisStats *out)
{
  char *stats, *memory, *counters;

  memset (out, 0, sizeof *out);
  if (ctx == NULL)
    return 0;
  stats = info ("commandstats");
  memory = info ("memory");
  counters = info ("stats");
  out->fcall_calls = field (stats, "cmdstat_fcall:calls=");
  out->fcall_usec = field (strstr (stats != NULL ? stats : "", "cmdstat_fcall:"), ",usec=");
  out->zadd_calls = field (stats, "cmdstat_zadd:calls=");
  out->used_memory = field (memory, "used_memory:");
  out->cpu_s = process_cpu_s (redis_pid);
  out->reads = field (counters, "total_reads_processed:");
  out->writes = field (counters, "total_writes_processed:");
  free (stats);
  free (memory);
  free (counters);
  return 1;
}
