#pragma once

#include "pres-transport.h"

G_BEGIN_DECLS

/* The transport named NAME, "http" or "openclaw" (the transport setting).
 * It lives apart from the interface, which knows no implementation. */
PresTransport *
pres_transport_new (const char *name, const PresTransportSetup *setup, GError **error);

G_END_DECLS
