#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PRES_ERROR (pres_error_quark ())

/* Mapped to org.presence.Agent.Error.<Name> on the bus. */
typedef enum
{
  PRES_ERROR_FAILED,
  PRES_ERROR_INVALID_ARGS,
  PRES_ERROR_NOT_SUPPORTED,
} PresError;

#define PRES_ERROR_N_ERRORS (PRES_ERROR_NOT_SUPPORTED + 1)

GQuark pres_error_quark (void);

G_END_DECLS
