#define G_LOG_DOMAIN "pres-server"

#include <malloc.h>

#include "pres-metrics.h"

PresMetrics *
pres_metrics_new (void)
{
  return g_new0 (PresMetrics, 1);
}

void
pres_metrics_free (PresMetrics *self)
{
  g_free (self);
}

void
pres_metrics_reject (PresMetrics *self,
                     guint        status)
{
  if (status < G_N_ELEMENTS (self->rejected))
    self->rejected[status]++;
}

/* Upper bounds in µs: from the memory store's answer within the call to a
 * Redis far away or struggling (commands time out after 2 s). */
static const gint64 latency_bounds_us[PRES_METRICS_N_LATENCY_BOUNDS]
  = { 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 500000, 2000000 };
static const char *const store_op_names[PRES_METRICS_STORE_N_OPS]
  = { "heartbeat", "leave", "read" };

void
pres_metrics_store_latency (PresMetrics        *self,
                            PresMetricsStoreOp  op,
                            gint64              microseconds)
{
  guint i = 0;

  while (i < PRES_METRICS_N_LATENCY_BOUNDS && microseconds > latency_bounds_us[i])
    i++;
  self->store_latency[op][i]++;
  self->store_latency_sum_us[op] += MAX (microseconds, 0);
}

static void
store_latency_histogram (PresMetrics *self,
                         GString     *out)
{
  g_string_append (out, "# HELP presence_store_duration_seconds From a call to the store to its "
                        "answer, by operation.\n"
                        "# TYPE presence_store_duration_seconds histogram\n");
  for (guint op = 0; op < PRES_METRICS_STORE_N_OPS; op++)
    {
      const char *name = store_op_names[op];
      guint64 count = 0;

      char le[G_ASCII_DTOSTR_BUF_SIZE], sum[G_ASCII_DTOSTR_BUF_SIZE];

      /* Whatever the locale: Prometheus reads a decimal point. */
      for (guint i = 0; i <= PRES_METRICS_N_LATENCY_BOUNDS; i++)
        {
          count += self->store_latency[op][i];
          if (i < PRES_METRICS_N_LATENCY_BOUNDS)
            g_ascii_formatd (le, sizeof le, "%g", latency_bounds_us[i] / 1e6);
          else
            g_strlcpy (le, "+Inf", sizeof le);
          g_string_append_printf (out,
                                  "presence_store_duration_seconds_bucket{op=\"%s\",le=\"%s\"} "
                                  "%" G_GUINT64_FORMAT "\n",
                                  name, le, count);
        }
      g_ascii_formatd (sum, sizeof sum, "%.6f", self->store_latency_sum_us[op] / 1e6);
      g_string_append_printf (out,
                              "presence_store_duration_seconds_sum{op=\"%s\"} %s\n"
                              "presence_store_duration_seconds_count{op=\"%s\"} %" G_GUINT64_FORMAT
                              "\n",
                              name, sum, name, count);
    }
}

static void
counter (GString    *out,
         const char *name,
         const char *help,
         guint64     value)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s counter\n%s %" G_GUINT64_FORMAT "\n",
                          name, help, name, name, value);
}

static void
gauge (GString    *out,
       const char *name,
       const char *help,
       guint64     value)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s gauge\n%s %" G_GUINT64_FORMAT "\n", name,
                          help, name, name, value);
}

char *
pres_metrics_render (PresMetrics             *self,
                     const PresMetricsGauges *gauges)
{
  GString *out = g_string_sized_new (2048);

  counter (out, "presence_heartbeats_total", "Heartbeats applied.", self->heartbeats);
  counter (out, "presence_heartbeats_stale_total",
           "Heartbeats ignored for an older seq or a replaced session.", self->heartbeats_stale);
  counter (out, "presence_leaves_total", "Leaves that removed an instance.", self->leaves);
  counter (out, "presence_reads_total", "Presence and instance reads.", self->reads);
  counter (out, "presence_state_changes_total", "Public state changes of participants.",
           self->state_changes);
  counter (out, "presence_member_events_total", "Member events (enter, update, leave).",
           self->member_events);
  counter (out, "presence_stream_messages_total", "WebSocket messages sent to subscribers.",
           self->stream_messages);

  g_string_append (out, "# HELP presence_rejected_requests_total Requests answered with an "
                        "error, by HTTP status.\n"
                        "# TYPE presence_rejected_requests_total counter\n");
  for (guint status = 0; status < G_N_ELEMENTS (self->rejected); status++)
    if (self->rejected[status] > 0)
      g_string_append_printf (out,
                              "presence_rejected_requests_total{status=\"%u\"} %" G_GUINT64_FORMAT
                              "\n",
                              status, self->rejected[status]);

  store_latency_histogram (self, out);
  gauge (out, "presence_store_up", "Whether the store answered.", gauges->store_up ? 1 : 0);
  if (gauges->store_up)
    {
      gauge (out, "presence_instances", "Live instances.", gauges->instances);
      gauge (out, "presence_participants", "Participants with a live instance or always online.",
             gauges->participants);
    }
  gauge (out, "presence_stream_subscribers", "Open WebSocket streams.", gauges->subscribers);
  gauge (out, "presence_rate_limit_keys", "Callers with a rate-limit bucket.",
         gauges->rate_limit_keys);
  /* What the store really costs, allocator overhead included (RSS keeps
   * pages the heap has freed). */
  gauge (out, "presence_heap_bytes", "Heap bytes in use by the server.", mallinfo2 ().uordblks);
  gauge (out, "presence_ttl_milliseconds", "Instance TTL given to clients.", gauges->ttl_ms);
  gauge (out, "presence_interval_milliseconds", "Heartbeat interval given to clients.",
         gauges->interval_ms);
  return g_string_free (out, FALSE);
}
