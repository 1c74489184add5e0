#define G_LOG_DOMAIN "pres-transport"

#include "pres-transport-factory.h"

#include "pres-http-transport.h"
#include "pres-openclaw-transport.h"

PresTransport *
pres_transport_new (const char *name, const PresTransportSetup *setup, GError **error)
{
  if (g_str_equal (name, "http"))
    return pres_http_transport_new (setup);
  if (g_str_equal (name, "openclaw"))
    return pres_openclaw_transport_new (setup);
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "Unknown transport “%s” (http or openclaw)", name);
  return NULL;
}
