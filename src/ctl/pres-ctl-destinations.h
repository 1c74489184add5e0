#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What `presencectl destinations` prints, from the agent's Destinations
 * property (an aa{sv}); pure, so the tests can give it any list and "now". */

char *pres_ctl_format_destinations (GVariant *destinations, GDateTime *now);

char *pres_ctl_format_destinations_json (GVariant *destinations);

G_END_DECLS
