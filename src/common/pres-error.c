#include <gio/gio.h>

#include "pres-error.h"

static const GDBusErrorEntry pres_error_entries[] = {
  { PRES_ERROR_FAILED, "org.presence.Agent.Error.Failed" },
  { PRES_ERROR_INVALID_ARGS, "org.presence.Agent.Error.InvalidArgs" },
  { PRES_ERROR_NOT_SUPPORTED, "org.presence.Agent.Error.NotSupported" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (pres_error_entries) == PRES_ERROR_N_ERRORS);

GQuark
pres_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("pres-error-quark",
                                      &quark,
                                      pres_error_entries,
                                      G_N_ELEMENTS (pres_error_entries));
  return (GQuark) quark;
}
