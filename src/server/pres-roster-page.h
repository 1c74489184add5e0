#pragma once

#include "pres-http-server.h"
#include "pres-metrics.h"

G_BEGIN_DECLS

/* The live roster page: GET / and /roster, and its stylesheet and module
 * under /roster/, compiled in.  Everything it shows it reads with the
 * user's token through the API and the stream, like any other client. */
void pres_roster_page_add_routes (PresHttpServer *server,
                                  PresMetrics    *metrics);

G_END_DECLS
