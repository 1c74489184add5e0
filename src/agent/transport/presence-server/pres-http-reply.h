#pragma once

#include <gio/gio.h>

#include "pres-wire.h"

G_BEGIN_DECLS

/* Bounds on what a server may ask of us: a hostile or broken server must
 * neither make the agent hammer it nor fall silent for hours. */
#define PRES_HTTP_MIN_INTERVAL_MS 1000
#define PRES_HTTP_MAX_INTERVAL_MS (10 * 60 * 1000)
#define PRES_HTTP_MAX_RETRY_AFTER_MS (60 * 60 * 1000)
#define PRES_HTTP_REQUEST_TIMEOUT_S 9
/* Our replies are a few hundred bytes and a proxy's error page a few KiB:
 * nothing larger is read, so a server cannot make the agent grow. */
#define PRES_HTTP_MAX_REPLY_BYTES (16 * 1024)

typedef enum
{
  PRES_HTTP_OUTCOME_OK,
  PRES_HTTP_OUTCOME_UNAUTHORIZED, /* 401, 403: the token is the problem */
  PRES_HTTP_OUTCOME_RETRY_AFTER,  /* 429, 503: the server asked us to wait */
  PRES_HTTP_OUTCOME_FAILED,       /* anything else; retried with backoff */
} PresHttpOutcomeKind;

/* What one exchange with the server came to, in words for LastError. */
typedef struct
{
  PresHttpOutcomeKind kind;
  guint retry_after_ms;      /* 0 = the server did not say */
  char *message;             /* NULL when OK */
  PresHeartbeatReply *reply; /* a heartbeat's parsed reply when OK */
} PresHttpOutcome;

void pres_http_outcome_free (PresHttpOutcome *outcome);

PresHttpOutcome *
pres_http_outcome_for_heartbeat (guint status, const char *retry_after, GBytes *body);
PresHttpOutcome *pres_http_outcome_for_leave (guint status, const char *retry_after, GBytes *body);
/* A reply whose body is over PRES_HTTP_MAX_REPLY_BYTES: as its
 * Content-Length announced (ANNOUNCED), or while reading (-1). */
PresHttpOutcome *pres_http_outcome_for_oversize (guint status, goffset announced);
/* A request that got no HTTP answer at all. */
PresHttpOutcome *pres_http_outcome_for_error (const GError *error, gboolean timed_out);

/* Retry-After as delta-seconds or an HTTP date, in ms from NOW, clamped
 * to 1 s … 1 h; 0 when absent or unreadable. */
guint pres_http_parse_retry_after (const char *value, GDateTime *now);

/* "HTTP 200: {…}", valid UTF-8 and bounded, for Explain. */
char *pres_http_describe_reply (guint status, GBytes *body);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresHttpOutcome, pres_http_outcome_free)

G_END_DECLS
