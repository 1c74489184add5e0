#pragma once

#include <gio/gio.h>

#include "pres-dbus.h"

G_BEGIN_DECLS

#define PRES_CTL_ERROR (pres_ctl_error_quark ())

/* How presencectl fails; main() turns these into the exit status. */
typedef enum
{
  PRES_CTL_ERROR_USAGE,       /* bad command line: exit 2 with a hint */
  PRES_CTL_ERROR_NOT_RUNNING, /* no agent on the bus: exit 1, say how to start it */
  PRES_CTL_ERROR_FAILED,      /* anything else: exit 1 */
} PresCtlError;

GQuark pres_ctl_error_quark (void);

#define PRES_AGENT_BUS_NAME "org.presence.Agent"
#define PRES_AGENT_OBJECT_PATH "/org/presence/Agent"
#define PRES_AGENT_INTERFACE "org.presence.Agent"

typedef struct
{
  const char *command;      /* the command being run, for messages */
  gboolean auto_start;      /* --start: D-Bus activation allowed */
  gboolean quiet;           /* --quiet: no confirmation of a change */
  gboolean connect_signals; /* the proxy should deliver StateChanged */
  GDBusConnection *bus;
  PresDBusAgent *agent;
} PresCtl;

void pres_ctl_clear (PresCtl *ctl);

gboolean pres_ctl_parse_options (PresCtl *ctl,
                                 const GOptionEntry *entries,
                                 const char *parameter_string,
                                 const char *summary,
                                 int *argc,
                                 char ***argv,
                                 GError **error);
gboolean pres_ctl_check_args (PresCtl *ctl, int argc, int min_args, int max_args, GError **error);

GDBusConnection *pres_ctl_get_bus (PresCtl *ctl, GError **error);
PresDBusAgent *pres_ctl_get_agent (PresCtl *ctl, GError **error);
PresDBusAgent *pres_ctl_get_agent_proxy (PresCtl *ctl, gboolean require_running, GError **error);
GVariant *
pres_ctl_get_property (PresCtl *ctl, const char *name, const GVariantType *type, GError **error);
GVariant *pres_ctl_get_all_properties (PresCtl *ctl, GError **error);
void pres_ctl_print_raw (const char *text);
void pres_ctl_confirm (PresCtl *ctl, const char *format, ...) G_GNUC_PRINTF (2, 3);

int pres_ctl_report_error (PresCtl *ctl, const GError *error);

typedef gboolean (*PresCtlCommandFunc) (PresCtl *ctl, int argc, char **argv, GError **error);

gboolean pres_ctl_cmd_status (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_busy (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_appear_offline (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_auto (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_text (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_idle_time (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_idle_timeout (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_explain (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_destinations (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_reconnect (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_version (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_watch (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_login (PresCtl *ctl, int argc, char **argv, GError **error);
gboolean pres_ctl_cmd_logout (PresCtl *ctl, int argc, char **argv, GError **error);

G_END_DECLS
