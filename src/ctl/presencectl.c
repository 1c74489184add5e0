/* presencectl: the command line for org.presence.Agent.
 *
 * Exit status: 0 done, 1 failed (e.g. the agent is not running),
 * 2 bad usage or an argument the agent refused. */
#define G_LOG_DOMAIN "pres-ctl"

#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pres-error.h"
#include "pres-ctl.h"

typedef struct
{
  const char *name;
  PresCtlCommandFunc func;
  const char *usage;
  const char *summary;
} Command;

static const Command commands[] = {
  { "status", pres_ctl_cmd_status, "[--json]", N_("Show the state and the agent’s status") },
  { "busy", pres_ctl_cmd_busy, "[--for DURATION | --until TIME]",
    N_("Set busy, until “auto” or for a while") },
  { "appear-offline", pres_ctl_cmd_appear_offline, "[--for DURATION | --until TIME]",
    N_("Appear offline to others") },
  { "auto", pres_ctl_cmd_auto, "", N_("Follow the desktop’s idle and lock again") },
  { "text", pres_ctl_cmd_text, "[TEXT | --clear]", N_("Print, set or clear the status text") },
  { "idle-time", pres_ctl_cmd_idle_time, "[--json]",
    N_("Print the seconds since the last input, or “unknown”") },
  { "idle-timeout", pres_ctl_cmd_idle_timeout, "[DURATION]", N_("Print or set the idle timeout") },
  { "watch", pres_ctl_cmd_watch, "[--json]", N_("Print each state change until interrupted") },
  { "explain", pres_ctl_cmd_explain, "", N_("Explain why the state is what it is") },
  { "destinations", pres_ctl_cmd_destinations, "[--json]",
    N_("List the places presence goes to, with the state of each") },
  { "reconnect", pres_ctl_cmd_reconnect, "", N_("Reconnect to the server now") },
  { "login", pres_ctl_cmd_login, "[--server URL]",
    N_("Store the server token (read from stdin) in the keyring") },
  { "logout", pres_ctl_cmd_logout, "[--server URL]",
    N_("Remove the server token from the keyring") },
  { "version", pres_ctl_cmd_version, "", N_("Print the client and agent versions") },
};

static void
print_usage (FILE *stream)
{
  GString *out = g_string_new (NULL);
  int width = 0;

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    width = MAX (width, (int)(strlen (commands[i].name) + 1 + strlen (commands[i].usage)));

  g_string_append (out, _("Usage:\n  presencectl [COMMAND] [OPTION…]\n\n"));
  g_string_append (out,
                   _("Show and set the presence that presence-agent keeps on the server.\n\n"));
  g_string_append (out, _("Commands:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *call = g_strdup_printf ("%s %s", commands[i].name, commands[i].usage);

      g_string_append_printf (out, "  %-*s  %s\n", width, call, _(commands[i].summary));
    }
  g_string_append (out,
                   _("\nWithout a command: status.\n"
                      "DURATION: 45s, 30m, 2h, 1h30 (or 1h30m), 1d; for busy and appear-offline\n"
                      "also “until 17:00” or “until tomorrow 09:00”; for idle-timeout also\n"
                      "plain seconds (300).\n"
                      "Every command takes --help; --quiet, which leaves out the line that\n"
                      "confirms a change; and --start, which starts the agent through D-Bus\n"
                      "activation if it is not running (where it is installed).\n"));

  if (stream == stderr)
    g_printerr ("%s", out->str);
  else
    g_print ("%s", out->str);
  g_string_free (out, TRUE);
}

static const Command *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

int
main (int argc, char *argv[])
{
  PresCtl ctl = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *prgname = NULL;
  const Command *command;
  char *default_argv[] = { (char *)"status", NULL };
  char **cmd_argv;
  int cmd_argc;
  int status = 0;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Map org.presence.Agent.Error.* to PRES_ERROR before the first call. */
  (void)pres_error_quark ();

  if (argc < 2)
    {
      cmd_argc = 1;
      cmd_argv = default_argv;
    }
  else
    {
      cmd_argc = argc - 1;
      cmd_argv = argv + 1;
    }

  /* The one option that is not a command's own may also come first. */
  if (g_str_equal (cmd_argv[0], "--start"))
    {
      ctl.auto_start = TRUE;
      cmd_argc--;
      cmd_argv++;
      if (cmd_argc == 0)
        {
          cmd_argc = 1;
          cmd_argv = default_argv;
        }
    }

  if (g_str_equal (cmd_argv[0], "-h") || g_str_equal (cmd_argv[0], "--help")
      || g_str_equal (cmd_argv[0], "help"))
    {
      /* `presencectl help busy` is `presencectl busy --help`. */
      if (cmd_argc < 2)
        {
          print_usage (stdout);
          return 0;
        }
      if (find_command (cmd_argv[1]) == NULL)
        {
          g_printerr (_("presencectl: unknown command “%s”.\n\n"), cmd_argv[1]);
          print_usage (stderr);
          return 2;
        }
      cmd_argv[0] = cmd_argv[1];
      cmd_argv[1] = (char *)"--help";
    }
  else if (g_str_equal (cmd_argv[0], "--version"))
    {
      cmd_argv[0] = (char *)"version";
    }

  command = find_command (cmd_argv[0]);
  if (command == NULL)
    {
      if (cmd_argv[0][0] == '-')
        g_printerr (_("presencectl: a command comes first, then its options: “%s”.\n"),
                    cmd_argv[0]);
      else
        g_printerr (_("presencectl: unknown command “%s”.\n"), cmd_argv[0]);
      g_printerr ("\n");
      print_usage (stderr);
      return 2;
    }

  prgname = g_strdup_printf ("presencectl %s", command->name);
  g_set_prgname (prgname);
  ctl.command = command->name;

  if (!command->func (&ctl, cmd_argc, cmd_argv, &error))
    status = pres_ctl_report_error (&ctl, error);

  pres_ctl_clear (&ctl);
  return status;
}
