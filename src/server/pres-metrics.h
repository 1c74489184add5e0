#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the store is asked, for its latency histogram. */
typedef enum
{
  PRES_METRICS_STORE_HEARTBEAT,
  PRES_METRICS_STORE_LEAVE,
  PRES_METRICS_STORE_READ,
  PRES_METRICS_STORE_N_OPS
} PresMetricsStoreOp;

#define PRES_METRICS_N_LATENCY_BOUNDS 11

/* Counters for GET /metrics.  Plain fields, bumped on the hot path without a
 * lookup; gauges are read from their owners when the page is rendered. */
typedef struct
{
  guint64 heartbeats;
  guint64 heartbeats_stale;
  guint64 leaves;
  guint64 reads;
  guint64 state_changes;
  guint64 member_events;
  guint64 stream_messages;
  guint64 rejected[600]; /* by HTTP status */
  /* Per bound, not cumulative; the last one counts what is above them all. */
  guint64 store_latency[PRES_METRICS_STORE_N_OPS][PRES_METRICS_N_LATENCY_BOUNDS + 1];
  guint64 store_latency_sum_us[PRES_METRICS_STORE_N_OPS];
} PresMetrics;

typedef struct
{
  gboolean store_up; /* FALSE: the store did not answer, its gauges are left out */
  guint instances;
  guint participants;
  guint subscribers;
  guint rate_limit_keys;
  guint ttl_ms;
  guint interval_ms;
} PresMetricsGauges;

PresMetrics *pres_metrics_new (void);
void         pres_metrics_free (PresMetrics *self);
void         pres_metrics_reject (PresMetrics *self,
                                  guint        status);
/* From a call to the store to its answer. */
void         pres_metrics_store_latency (PresMetrics        *self,
                                         PresMetricsStoreOp  op,
                                         gint64              microseconds);
/* Prometheus text exposition format 0.0.4. */
char        *pres_metrics_render (PresMetrics             *self,
                                  const PresMetricsGauges *gauges);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresMetrics, pres_metrics_free)

G_END_DECLS
