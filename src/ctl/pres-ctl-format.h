#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Output of presencectl, kept apart from the bus so the tests can feed it
 * any set of properties (an a{sv} as from Properties.GetAll) and any "now". */

char *pres_ctl_format_status (GVariant *props, GDateTime *now);

char *pres_ctl_format_status_json (GVariant *props);

char *pres_ctl_format_time (gint64 unix_seconds, GDateTime *now);

char *pres_ctl_format_idle_time (gboolean known, guint seconds, const char *source, gboolean json);

char *pres_ctl_format_state_change (GDateTime *when,
                                    const char *state,
                                    const char *previous,
                                    const char *reason,
                                    gboolean json);

char *
pres_ctl_format_agent_event (GDateTime *when, gboolean running, const char *state, gboolean json);

G_END_DECLS
