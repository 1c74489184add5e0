#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Counters for GET /metrics.  Plain fields, bumped on the hot path without a
 * lookup; gauges are read from their owners when the page is rendered. */
typedef struct
{
  guint64 heartbeats;
  guint64 heartbeats_stale;
  guint64 leaves;
  guint64 reads;
  guint64 state_changes;
  guint64 stream_messages;
  guint64 rejected[600]; /* by HTTP status */
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
/* Prometheus text exposition format 0.0.4. */
char        *pres_metrics_render (PresMetrics             *self,
                                  const PresMetricsGauges *gauges);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresMetrics, pres_metrics_free)

G_END_DECLS
