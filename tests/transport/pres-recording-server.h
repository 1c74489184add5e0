#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* A loopback HTTP server for transport tests: it answers as the test says
 * and records every request it gets. */
typedef enum
{
  PRES_RECORDING_GOOD,         /* 200 and a valid heartbeat reply */
  PRES_RECORDING_GARBAGE,      /* 200 and a body that is no reply */
  PRES_RECORDING_UNAUTHORIZED, /* 401 with a protocol error */
  PRES_RECORDING_RATE_LIMITED, /* 429 with Retry-After: 2 */
  PRES_RECORDING_UNAVAILABLE,  /* 503 without Retry-After */
  PRES_RECORDING_HANG,         /* accepts the connection, never answers */
  /* 200 and a body of PRES_RECORDING_FLOOD_BYTES: announced as 200 MiB by
   * Content-Length (the rest never comes), or chunked to its end. */
  PRES_RECORDING_FLOOD_LENGTH,
  PRES_RECORDING_FLOOD_CHUNKED,
} PresRecordingMode;

#define PRES_RECORDING_FLOOD_BYTES (20 * 1024 * 1024)

typedef struct
{
  char *method;
  char *path;
  char *query;
  char *authorization;
  char *body;
  gint64 when; /* monotonic µs */
} PresRecordedRequest;

typedef struct _PresRecordingServer PresRecordingServer;

PresRecordingServer *pres_recording_server_new (PresRecordingMode mode);
void pres_recording_server_free (PresRecordingServer *self);

const char *pres_recording_server_get_url (PresRecordingServer *self);
void pres_recording_server_set_mode (PresRecordingServer *self, PresRecordingMode mode);
/* The interval_ms given in good replies (default 30000). */
void pres_recording_server_set_interval (PresRecordingServer *self, guint interval_ms);

guint pres_recording_server_count (PresRecordingServer *self);
/* Flood modes: body bytes the kernel took, and whether the client went
 * away before all of them were sent. */
gsize pres_recording_server_get_flooded (PresRecordingServer *self);
gboolean pres_recording_server_flood_refused (PresRecordingServer *self);
const PresRecordedRequest *pres_recording_server_get (PresRecordingServer *self, guint index);
const PresRecordedRequest *pres_recording_server_last (PresRecordingServer *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresRecordingServer, pres_recording_server_free)

/* Iterates the main context until COND holds; fails after TIMEOUT_MS
 * (times ten under valgrind, which makes everything that much slower). */
#define PRES_TEST_WAIT(cond, timeout_ms)                                                           \
  G_STMT_START                                                                                     \
  {                                                                                                \
    gint64 pres_deadline_                                                                          \
      = g_get_monotonic_time () + (gint64)(timeout_ms)*1000 * pres_test_slowdown ();               \
    while (!(cond) && g_get_monotonic_time () < pres_deadline_)                                    \
      pres_test_iterate (pres_deadline_);                                                          \
    if (!(cond))                                                                                   \
      g_error ("Not within %d ms: %s", (int)(timeout_ms), #cond);                                  \
  }                                                                                                \
  G_STMT_END

guint pres_test_slowdown (void);

/* Runs the main context for MS milliseconds. */
void pres_test_run_for (guint ms);
void pres_test_iterate (gint64 deadline);

G_END_DECLS
