#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* How to start the agent, said for where this presencectl runs from: its
 * build tree, or an install. */

gboolean pres_ctl_runs_from_build_tree (void);

char *pres_ctl_agent_command (const char *extra_args);

char *pres_ctl_start_hint (void);

gboolean pres_ctl_check_activatable (GDBusConnection *bus, GError **error);

G_END_DECLS
