/* What every presencectl command shares: option parsing, the connection to
 * the agent, and turning failures into a message and an exit status. */
#define G_LOG_DOMAIN "pres-ctl"

#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pres-error.h"
#include "pres-ctl.h"
#include "pres-ctl-hints.h"

/* Long enough for a busy agent, short enough that a wedged one does not
 * look like a hung terminal. */
#define CALL_TIMEOUT_MS 15000

G_DEFINE_QUARK (pres - ctl - error - quark, pres_ctl_error)

void
pres_ctl_clear (PresCtl *ctl)
{
  g_clear_object (&ctl->agent);
  g_clear_object (&ctl->bus);
}

static gboolean start_option;
static gboolean quiet_option;

static const GOptionEntry common_entries[]
  = { { "start", 0, 0, G_OPTION_ARG_NONE, &start_option,
        N_("Start presence-agent through D-Bus activation if it is not running (where it is "
           "installed with its D-Bus service file)"),
        NULL },
      { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet_option,
        N_("Do not confirm a change; errors are still printed"), NULL },
      { NULL } };

/**
 * pres_ctl_parse_options:
 * @entries: (nullable): the command's own options
 *
 * Parses a command's options in place: on return @argv holds the command
 * name followed by its positional arguments. Errors are usage errors.
 */
gboolean
pres_ctl_parse_options (PresCtl *ctl,
                        const GOptionEntry *entries,
                        const char *parameter_string,
                        const char *summary,
                        int *argc,
                        char ***argv,
                        GError **error)
{
  g_autoptr (GOptionContext) context = g_option_context_new (parameter_string);
  g_autoptr (GError) local_error = NULL;

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, summary);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, common_entries, GETTEXT_PACKAGE);

  start_option = FALSE;
  quiet_option = FALSE;
  if (!g_option_context_parse (context, argc, argv, &local_error))
    {
      g_set_error_literal (error, PRES_CTL_ERROR, PRES_CTL_ERROR_USAGE, local_error->message);
      return FALSE;
    }
  ctl->auto_start = ctl->auto_start || start_option;
  ctl->quiet = ctl->quiet || quiet_option;

  /* GOption leaves the "--" that ends the options in place; what follows
   * it is an argument even if it starts with a dash (`text -- -1`). */
  for (int i = 1; i < *argc; i++)
    {
      if (g_str_equal ((*argv)[i], "--"))
        {
          memmove (&(*argv)[i], &(*argv)[i + 1], sizeof (char *) * (size_t) (*argc - i));
          (*argc)--;
          break;
        }
    }
  return TRUE;
}

/* argc counts the command name, as in argv. */
gboolean
pres_ctl_check_args (PresCtl *ctl, int argc, int min_args, int max_args, GError **error)
{
  int n = argc - 1;

  if (n < min_args)
    {
      g_set_error_literal (error, PRES_CTL_ERROR, PRES_CTL_ERROR_USAGE, _("Missing argument."));
      return FALSE;
    }
  if (max_args >= 0 && n > max_args)
    {
      g_set_error_literal (error, PRES_CTL_ERROR, PRES_CTL_ERROR_USAGE, _("Too many arguments."));
      return FALSE;
    }
  return TRUE;
}

GDBusConnection *
pres_ctl_get_bus (PresCtl *ctl, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (ctl->bus != NULL)
    return ctl->bus;

  ctl->bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &local_error);
  if (ctl->bus == NULL)
    {
      g_set_error (error, PRES_CTL_ERROR, PRES_CTL_ERROR_FAILED,
                   _("Cannot reach the session bus: %s. presencectl talks to "
                      "presence-agent on the session bus of a desktop login."),
                   local_error->message);
      return NULL;
    }
  return ctl->bus;
}

/* Activation only when asked for (--start), and bounded: an implicit
 * auto-start of a broken service would leave the command hanging. The
 * bound is that of the bus daemon's own default for service start-up. */
#define START_TIMEOUT_MS 30000

static gboolean
start_agent (GDBusConnection *bus, GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *command = NULL;

  if (!pres_ctl_check_activatable (bus, error))
    return FALSE;
  reply = g_dbus_connection_call_sync (
    bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
    "StartServiceByName", g_variant_new ("(su)", PRES_AGENT_BUS_NAME, 0), G_VARIANT_TYPE ("(u)"),
    G_DBUS_CALL_FLAGS_NONE, START_TIMEOUT_MS, NULL, &local_error);
  if (reply == NULL)
    {
      if (g_dbus_error_is_remote_error (local_error))
        g_dbus_error_strip_remote_error (local_error);
      command = pres_ctl_agent_command (NULL);
      g_set_error (error, PRES_CTL_ERROR, PRES_CTL_ERROR_FAILED,
                   _("Could not start presence-agent through D-Bus activation: %s. "
                     "Start it by hand with: %s"),
                   local_error->message, command);
      return FALSE;
    }
  return TRUE;
}

/**
 * pres_ctl_get_agent_proxy:
 * @require_running: fail when nobody owns the name
 *
 * Returns: (transfer none): a proxy for the agent, or %NULL with
 *   %PRES_CTL_ERROR_NOT_RUNNING when nobody owns the name and
 *   @require_running is set
 */
PresDBusAgent *
pres_ctl_get_agent_proxy (PresCtl *ctl, gboolean require_running, GError **error)
{
  GDBusConnection *bus;
  GDBusProxyFlags flags
    = G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START | G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES;
  g_autofree char *owner = NULL;

  if (ctl->agent != NULL && !require_running)
    return ctl->agent;

  if (ctl->agent != NULL)
    goto check_owner;

  bus = pres_ctl_get_bus (ctl, error);
  if (bus == NULL)
    return NULL;

  if (ctl->auto_start && !start_agent (bus, error))
    return NULL;

  if (!ctl->connect_signals)
    flags |= G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS;

  ctl->agent = pres_dbus_agent_proxy_new_sync (bus, flags, PRES_AGENT_BUS_NAME,
                                               PRES_AGENT_OBJECT_PATH, NULL, error);
  if (ctl->agent == NULL)
    return NULL;
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (ctl->agent), CALL_TIMEOUT_MS);
  if (!require_running)
    return ctl->agent;

check_owner:
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (ctl->agent));
  if (owner == NULL)
    {
      g_set_error_literal (error, PRES_CTL_ERROR, PRES_CTL_ERROR_NOT_RUNNING,
                           _("presence-agent is not running."));
      return NULL;
    }
  g_debug ("agent is %s", owner);
  return ctl->agent;
}

/* Returns: (transfer none): a proxy for the running agent, or %NULL */
PresDBusAgent *
pres_ctl_get_agent (PresCtl *ctl, GError **error)
{
  return pres_ctl_get_agent_proxy (ctl, TRUE, error);
}

/* Read fresh from the agent rather than from a cache, so that an agent that
 * owns its name but fails to answer shows up as an error. */
GVariant *
pres_ctl_get_property (PresCtl *ctl, const char *name, const GVariantType *type, GError **error)
{
  PresDBusAgent *agent = pres_ctl_get_agent (ctl, error);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) value = NULL;

  if (agent == NULL)
    return NULL;

  reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (agent), "org.freedesktop.DBus.Properties.Get",
                                  g_variant_new ("(ss)", PRES_AGENT_INTERFACE, name),
                                  G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply == NULL)
    return NULL;

  g_variant_get (reply, "(v)", &value);
  if (!g_variant_is_of_type (value, type))
    {
      g_set_error (error, PRES_CTL_ERROR, PRES_CTL_ERROR_FAILED,
                   _("presence-agent sent %s as type “%s”, expected “%s”."), name,
                   g_variant_get_type_string (value), g_variant_type_peek_string (type));
      return NULL;
    }
  return g_steal_pointer (&value);
}

/* Returns: (transfer full): the a{sv} of Properties.GetAll */
GVariant *
pres_ctl_get_all_properties (PresCtl *ctl, GError **error)
{
  PresDBusAgent *agent = pres_ctl_get_agent (ctl, error);
  g_autoptr (GVariant) reply = NULL;
  GVariant *props;

  if (agent == NULL)
    return NULL;

  reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (agent), "org.freedesktop.DBus.Properties.GetAll",
                                  g_variant_new ("(s)", PRES_AGENT_INTERFACE),
                                  G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply == NULL)
    return NULL;
  if (!g_variant_is_of_type (reply, G_VARIANT_TYPE ("(a{sv})")))
    {
      g_set_error_literal (error, PRES_CTL_ERROR, PRES_CTL_ERROR_FAILED,
                           _("presence-agent sent a malformed property list."));
      return NULL;
    }
  g_variant_get (reply, "(@a{sv})", &props);
  return props;
}

/* For machine-read output: bytes as they are, whatever the locale's
 * charset (g_print would convert, and mangle JSON in a C locale). */
void
pres_ctl_print_raw (const char *text)
{
  fputs (text, stdout);
  fflush (stdout);
}

/* Every command that changes something says what it did, in one line, in
 * the words of pres-ctl-words.c; --quiet is for scripts. */
void
pres_ctl_confirm (PresCtl *ctl, const char *format, ...)
{
  g_autofree char *line = NULL;
  va_list args;

  if (ctl->quiet)
    return;
  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  g_print ("%s\n", line);
}

static void
print_not_running (void)
{
  g_autofree char *hint = pres_ctl_start_hint ();

  g_printerr ("%s %s", _("presence-agent is not running."), hint);
}

/**
 * pres_ctl_report_error:
 *
 * Prints @error to stderr in words that say what to do next.
 *
 * Returns: the exit status: 2 for usage errors and arguments the agent
 *   refused, 1 for everything else
 */
int
pres_ctl_report_error (PresCtl *ctl, const GError *error)
{
  g_autoptr (GError) copy = g_error_copy (error);
  g_autofree char *remote = NULL;

  if (g_dbus_error_is_remote_error (copy))
    {
      remote = g_dbus_error_get_remote_error (copy);
      g_dbus_error_strip_remote_error (copy);
    }
  g_debug ("error %s %d %s (remote %s)", g_quark_to_string (copy->domain), copy->code,
           copy->message, remote ? remote : "-");

  if (g_error_matches (copy, PRES_CTL_ERROR, PRES_CTL_ERROR_USAGE)
      || (remote == NULL && g_error_matches (copy, PRES_ERROR, PRES_ERROR_INVALID_ARGS)))
    {
      g_printerr ("presencectl: %s\n", copy->message);
      if (ctl->command != NULL)
        g_printerr (_("Try “presencectl %s --help”.\n"), ctl->command);
      else
        g_printerr (_("Try “presencectl --help”.\n"));
      return 2;
    }

  if (g_error_matches (copy, PRES_ERROR, PRES_ERROR_INVALID_ARGS)
      || g_strcmp0 (remote, "org.presence.Agent.Error.InvalidArgs") == 0
      || g_strcmp0 (remote, "org.freedesktop.DBus.Error.InvalidArgs") == 0)
    {
      g_printerr (_("presencectl: presence-agent refused: %s\n"), copy->message);
      return 2;
    }

  if (g_error_matches (copy, PRES_CTL_ERROR, PRES_CTL_ERROR_NOT_RUNNING)
      || g_strcmp0 (remote, "org.freedesktop.DBus.Error.ServiceUnknown") == 0
      || g_strcmp0 (remote, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0)
    {
      print_not_running ();
      return 1;
    }

  if (g_strcmp0 (remote, "org.freedesktop.DBus.Error.NoReply") == 0
      || g_strcmp0 (remote, "org.freedesktop.DBus.Error.Timeout") == 0
      || g_error_matches (copy, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_autofree char *command = pres_ctl_agent_command ("--replace");

      g_printerr (_("presencectl: presence-agent did not answer in time (%s). "
                     "Restart it with: %s\n"),
                  copy->message, command);
      return 1;
    }

  if (g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownMethod") == 0
      || g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownProperty") == 0
      || g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownInterface") == 0
      || g_strcmp0 (remote, "org.freedesktop.DBus.Error.UnknownObject") == 0)
    {
      g_printerr (_("presencectl: the running presence-agent does not know this request (%s). "
                     "It may be older than presencectl: compare “presencectl version”.\n"),
                  copy->message);
      return 1;
    }

  g_printerr ("presencectl: %s\n", copy->message);
  return 1;
}
