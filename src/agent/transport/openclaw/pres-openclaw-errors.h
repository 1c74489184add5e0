#pragma once

#include <json-glib/json-glib.h>

#include "pres-link.h"

G_BEGIN_DECLS

/* How soon to try again after a refused connect. Permanent refusals wait
 * long (the user has something to fix, and a reconnect request, a network
 * change or a settings change tries at once): never a hot loop. */
#define PRES_OPENCLAW_RETRY_AUTH_MS (5 * 60 * 1000)
/* Someone approves the pairing and waits for the desktop to come. */
#define PRES_OPENCLAW_RETRY_PAIRING_MS (30 * 1000)
#define PRES_OPENCLAW_RETRY_MISMATCH_MS (30 * 60 * 1000)

typedef enum
{
  PRES_OPENCLAW_RETRY_BACKOFF,     /* transient: the backoff schedule, or retry_ms when given */
  PRES_OPENCLAW_RETRY_AFTER,       /* permanent until someone acts: retry_ms */
  PRES_OPENCLAW_RETRY_DEVICE_TOKEN /* the shared token was refused; the device token may do */
} PresOpenclawRetry;

typedef struct
{
  char *code; /* details.code, else error.code; for tests and logs */
  PresConnection connection;
  PresOpenclawRetry retry;
  guint retry_ms; /* 0 = the backoff decides */
  char *message;  /* for LastError: what happened and what to do */
} PresOpenclawFailure;

/* ERROR is the "error" object of a failed response to connect (or, with
 * IN_CONNECT FALSE, to a later request). */
PresOpenclawFailure *pres_openclaw_failure_new (JsonObject *error, gboolean in_connect);
void pres_openclaw_failure_free (PresOpenclawFailure *failure);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresOpenclawFailure, pres_openclaw_failure_free)

G_END_DECLS
