#pragma once

/* bench/loadgen's view of the Redis behind a --store redis server: the
 * figures INFO gives (commandstats, memory, the process's CPU time). */

typedef struct
{
  double fcall_calls;
  double fcall_usec;
  double zadd_calls; /* deadline index writes */
  double used_memory;
  double cpu_s; /* the redis-server process, user + system */
  double reads; /* read () calls on client sockets (INFO stats) */
  double writes;
} RedisStats;

/* address: the server's --store, "redis://HOST:PORT" or "unix:/PATH".
 * Returns 0 when it cannot connect. */
int redis_stats_open (const char *address);
int redis_stats_take (RedisStats *out);
