/* The hints presencectl gives when the agent is not running: a command
 * that works where this presencectl is. Run from its build tree, the
 * installed paths do not exist yet and there is no D-Bus service file, so
 * the hints name the agent built beside it; run from an install, the
 * installed agent and its systemd user unit. */
#define G_LOG_DOMAIN "pres-ctl"

#include "config.h"

#include <glib/gi18n.h>

#include "pres-ctl.h"
#include "pres-ctl-hints.h"

gboolean
pres_ctl_runs_from_build_tree (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  return exe != NULL && g_str_has_prefix (exe, PRES_BUILD_ROOT G_DIR_SEPARATOR_S);
}

/**
 * pres_ctl_agent_command:
 * @extra_args: (nullable): options for the agent, e.g. "--replace"
 *
 * Returns: (transfer full): a shell command that starts the agent in the
 *   background: the build tree's agent, with the schema it needs, or the
 *   installed one
 */
char *
pres_ctl_agent_command (const char *extra_args)
{
  const char *space = extra_args != NULL ? " " : "";

  if (extra_args == NULL)
    extra_args = "";
  if (pres_ctl_runs_from_build_tree ())
    return g_strdup_printf ("GSETTINGS_SCHEMA_DIR=%s/data %s/src/agent/presence-agent%s%s &",
                            PRES_BUILD_ROOT, PRES_BUILD_ROOT, space, extra_args);
  return g_strdup_printf ("%s/presence-agent%s%s &", LIBEXECDIR, space, extra_args);
}

/* Returns: (transfer full): the lines after "presence-agent is not running." */
char *
pres_ctl_start_hint (void)
{
  g_autofree char *command = pres_ctl_agent_command (NULL);

  if (pres_ctl_runs_from_build_tree ())
    return g_strdup_printf (_ ("Start the agent of this build tree with:\n  %s\n"), command);
  return g_strdup_printf (_ ("Start it with:\n"
                             "  systemctl --user start presence-agent\n"
                             "or, without systemd:\n"
                             "  %s\n"),
                          command);
}

/* --start can only work where the bus has a service file for the agent:
 * say so instead of letting the activation fail with the bus's words. */
gboolean
pres_ctl_check_activatable (GDBusConnection *bus, GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) names = NULL;
  g_autofree const char **list = NULL;
  g_autofree char *command = NULL;

  reply = g_dbus_connection_call_sync (
    bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
    "ListActivatableNames", NULL, G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply == NULL)
    return FALSE;
  names = g_variant_get_child_value (reply, 0);
  list = g_variant_get_strv (names, NULL);
  if (g_strv_contains (list, PRES_AGENT_BUS_NAME))
    return TRUE;

  command = pres_ctl_agent_command (NULL);
  if (pres_ctl_runs_from_build_tree ())
    g_set_error (error, PRES_CTL_ERROR, PRES_CTL_ERROR_FAILED,
                 _ ("--start needs the D-Bus service file %s.service, which “meson install” puts "
                    "in place; this presencectl runs from its build tree, where there is none. "
                    "Start the agent by hand: %s"),
                 PRES_AGENT_BUS_NAME, command);
  else
    g_set_error (error, PRES_CTL_ERROR, PRES_CTL_ERROR_FAILED,
                 _ ("--start needs the D-Bus service file %s.service, and this session bus has "
                    "none (is presence-agent installed under a prefix the bus does not read?). "
                    "Start the agent by hand: %s"),
                 PRES_AGENT_BUS_NAME, command);
  return FALSE;
}
