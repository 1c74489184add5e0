/* The presencectl commands that are one call to the agent each. */
#define G_LOG_DOMAIN "pres-ctl"

#include "config.h"

#include <glib/gi18n.h>

#include "pres-error.h"
#include "pres-ctl.h"
#include "pres-ctl-destinations.h"
#include "pres-ctl-format.h"
#include "pres-ctl-words.h"
#include "pres-duration.h"

/* The agent's bounds for IdleTimeout (see the D-Bus API). */
#define IDLE_TIMEOUT_MIN 10
#define IDLE_TIMEOUT_MAX 86400

gboolean
pres_ctl_cmd_status (PresCtl *ctl, int argc, char **argv, GError **error)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = { { "json", 0, 0, G_OPTION_ARG_NONE, &json,
                                     N_("Print all properties as one JSON object"), NULL },
                                   { NULL } };
  g_autoptr (GVariant) props = NULL;
  g_autofree char *out = NULL;

  if (!pres_ctl_parse_options (ctl, entries, NULL,
                               _("Show the presence state and the agent’s status."), &argc, &argv,
                               error)
      || !pres_ctl_check_args (ctl, argc, 0, 0, error))
    return FALSE;

  props = pres_ctl_get_all_properties (ctl, error);
  if (props == NULL)
    return FALSE;

  if (json)
    {
      out = pres_ctl_format_status_json (props);
      pres_ctl_print_raw (out);
      pres_ctl_print_raw ("\n");
    }
  else
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_local ();

      out = pres_ctl_format_status (props, now);
      g_print ("%s", out);
    }
  return TRUE;
}

/* Joins --for with what follows it, so that `--for until 17:00` works
 * unquoted, and takes a bare `busy 1h` too. */
static gboolean
parse_duration_args (const char *for_arg,
                     const char *until_arg,
                     int argc,
                     char **argv,
                     guint32 *out_seconds,
                     GError **error)
{
  g_autoptr (GPtrArray) words = g_ptr_array_new ();
  g_autofree char *text = NULL;

  if (for_arg != NULL && until_arg != NULL)
    {
      g_set_error_literal (error, PRES_CTL_ERROR, PRES_CTL_ERROR_USAGE,
                           _("Give either --for or --until, not both."));
      return FALSE;
    }

  if (until_arg != NULL)
    g_ptr_array_add (words, (gpointer) "until");
  if (for_arg != NULL || until_arg != NULL)
    g_ptr_array_add (words, (gpointer)(for_arg != NULL ? for_arg : until_arg));
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (words, argv[i]);

  *out_seconds = 0;
  if (words->len == 0)
    return TRUE;

  g_ptr_array_add (words, NULL);
  text = g_strjoinv (" ", (char **)words->pdata);
  return pres_duration_parse (text, NULL, out_seconds, error);
}

typedef gboolean (*SetManualFunc) (PresDBusAgent *proxy,
                                   guint arg_seconds,
                                   GDBusCallFlags call_flags,
                                   gint timeout_msec,
                                   GCancellable *cancellable,
                                   GError **error);

static gboolean
set_manual (PresCtl *ctl,
            int argc,
            char **argv,
            const char *state,
            const char *summary,
            SetManualFunc call,
            GError **error)
{
  g_autofree char *for_arg = NULL;
  g_autofree char *until_arg = NULL;
  const GOptionEntry entries[] = {
    { "for", 'f', 0, G_OPTION_ARG_STRING, &for_arg,
      N_("How long: 45s, 30m, 2h, 1h30 (or 1h30m), 1d, at most 365d, or “until 17:00” "
         "(default: until “presencectl auto”)"),
      N_("DURATION") },
    { "until", 'u', 0, G_OPTION_ARG_STRING, &until_arg,
      N_("Until the next time the clock shows TIME, e.g. 17:00 or “tomorrow 09:00”"),
      N_("TIME") },
    { NULL }
  };
  PresDBusAgent *agent;
  guint32 seconds = 0;

  if (!pres_ctl_parse_options (ctl, entries, "[--for DURATION | --until TIME]", summary, &argc,
                               &argv, error))
    return FALSE;
  if (!parse_duration_args (for_arg, until_arg, argc, argv, &seconds, error))
    return FALSE;

  agent = pres_ctl_get_agent (ctl, error);
  if (agent == NULL || !call (agent, seconds, G_DBUS_CALL_FLAGS_NONE, -1, NULL, error))
    return FALSE;

  {
    g_autoptr (GDateTime) now = g_date_time_new_now_local ();
    g_autofree char *line = pres_ctl_format_manual (
      state, seconds ? g_date_time_to_unix (now) + seconds : 0, now);

    pres_ctl_confirm (ctl, "%s", line);
  }
  return TRUE;
}

gboolean
pres_ctl_cmd_busy (PresCtl *ctl, int argc, char **argv, GError **error)
{
  return set_manual (ctl, argc, argv, "busy",
                     _("Set the state to busy, until “presencectl auto” or for a while."),
                     pres_dbus_agent_call_set_busy_sync, error);
}

gboolean
pres_ctl_cmd_appear_offline (PresCtl *ctl, int argc, char **argv, GError **error)
{
  return set_manual (ctl, argc, argv, "appear_offline",
                     _("Appear offline to others while this device stays connected, until "
                       "“presencectl auto” or for a while."),
                     pres_dbus_agent_call_set_appear_offline_sync, error);
}

gboolean
pres_ctl_cmd_auto (PresCtl *ctl, int argc, char **argv, GError **error)
{
  PresDBusAgent *agent;

  if (!pres_ctl_parse_options (
        ctl, NULL, NULL, _("Clear the manual state: follow the desktop’s idle and lock again."),
        &argc, &argv, error)
      || !pres_ctl_check_args (ctl, argc, 0, 0, error))
    return FALSE;

  agent = pres_ctl_get_agent (ctl, error);
  if (agent == NULL
      || !pres_dbus_agent_call_set_auto_sync (agent, G_DBUS_CALL_FLAGS_NONE, -1, NULL, error))
    return FALSE;
  if (!ctl->quiet)
    {
      g_autoptr (GVariant) state = pres_ctl_get_property (ctl, "State", G_VARIANT_TYPE_STRING,
                                                          error);
      if (state == NULL)
        return FALSE;
      /* TRANSLATORS: %s is the state the desktop's idle and lock give now */
      pres_ctl_confirm (ctl, _("automatic: %s, following the desktop’s idle and lock"),
                        pres_ctl_state_words (g_variant_get_string (state, NULL)));
    }
  return TRUE;
}

gboolean
pres_ctl_cmd_text (PresCtl *ctl, int argc, char **argv, GError **error)
{
  gboolean clear = FALSE;
  const GOptionEntry entries[]
    = { { "clear", 'c', 0, G_OPTION_ARG_NONE, &clear, N_("Remove the status text"), NULL },
        { NULL } };
  PresDBusAgent *agent;
  g_autofree char *text = NULL;

  if (!pres_ctl_parse_options (
        ctl, entries, N_("[TEXT… | --clear]"),
        _("Set the status text shown with the state (at most 140 characters). "
           "Without arguments, print it."),
        &argc, &argv, error))
    return FALSE;

  if (clear && argc > 1)
    {
      g_set_error_literal (error, PRES_CTL_ERROR, PRES_CTL_ERROR_USAGE,
                           _("Give either a text or --clear, not both."));
      return FALSE;
    }

  if (!clear && argc == 1)
    {
      g_autoptr (GVariant) value
        = pres_ctl_get_property (ctl, "StatusText", G_VARIANT_TYPE_STRING, error);
      if (value == NULL)
        return FALSE;
      pres_ctl_print_raw (g_variant_get_string (value, NULL));
      pres_ctl_print_raw ("\n");
      return TRUE;
    }

  /* Unquoted words are one text, as `echo` would print them. Positional
   * arguments are bytes; the bus wants UTF-8. */
  if (clear)
    text = g_strdup ("");
  else
    {
      g_autofree char *joined = g_strjoinv (" ", argv + 1);

      /* UTF-8 as it is (also in a C locale), else from the locale. */
      if (g_utf8_validate (joined, -1, NULL))
        text = g_steal_pointer (&joined);
      else
        text = g_locale_to_utf8 (joined, -1, NULL, NULL, NULL);
      if (text == NULL || !g_utf8_validate (text, -1, NULL))
        {
          g_set_error_literal (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                               _("The text is not valid in the current locale’s character set."));
          return FALSE;
        }
    }
  agent = pres_ctl_get_agent (ctl, error);
  if (agent == NULL
      || !pres_dbus_agent_call_set_status_text_sync (agent, text, G_DBUS_CALL_FLAGS_NONE, -1,
                                                     NULL, error))
    return FALSE;
  if (*text == '\0')
    pres_ctl_confirm (ctl, "%s", _("status text cleared"));
  else
    /* TRANSLATORS: %s is the status text */
    pres_ctl_confirm (ctl, _("status text: “%s”"), text);
  return TRUE;
}

gboolean
pres_ctl_cmd_idle_time (PresCtl *ctl, int argc, char **argv, GError **error)
{
  gboolean json = FALSE;
  const GOptionEntry entries[]
    = { { "json", 0, 0, G_OPTION_ARG_NONE, &json,
          N_("Print {\"seconds\": N or null, \"estimate\": true|false, \"source\": NAME}"),
          NULL },
        { NULL } };
  g_autoptr (GVariant) source_value = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *out = NULL;
  PresDBusAgent *agent;
  gboolean known;
  guint seconds = 0;

  if (!pres_ctl_parse_options (
        ctl, entries, NULL,
        _("Print the seconds since the last keyboard or pointer input; “unknown” where the "
          "desktop has no idle source, and marked as an estimate where the idle source only "
          "says when the idle timeout has passed."),
        &argc, &argv, error)
      || !pres_ctl_check_args (ctl, argc, 0, 0, error))
    return FALSE;

  agent = pres_ctl_get_agent (ctl, error);
  if (agent == NULL)
    return FALSE;
  source_value = pres_ctl_get_property (ctl, "IdleSource", G_VARIANT_TYPE_STRING, error);
  if (source_value == NULL)
    return FALSE;

  known = pres_dbus_agent_call_get_idle_time_sync (agent, G_DBUS_CALL_FLAGS_NONE, -1, &seconds,
                                                   NULL, &local_error);
  /* No idle source is a fact about this desktop, not a failure. */
  if (!known && !g_error_matches (local_error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  out = pres_ctl_format_idle_time (known, seconds, g_variant_get_string (source_value, NULL),
                                   json);
  if (json)
    {
      pres_ctl_print_raw (out);
      pres_ctl_print_raw ("\n");
    }
  else
    g_print ("%s\n", out);
  return TRUE;
}

static gboolean
parse_idle_timeout (const char *text, guint32 *out_seconds, GError **error)
{
  guint32 seconds;

  if (!pres_duration_parse_span (text, &seconds, error))
    return FALSE;
  if (seconds < IDLE_TIMEOUT_MIN || seconds > IDLE_TIMEOUT_MAX)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   _("The idle timeout must be between %u seconds and %u seconds (1d), "
                     "not “%s”."),
                   IDLE_TIMEOUT_MIN, IDLE_TIMEOUT_MAX, text);
      return FALSE;
    }
  *out_seconds = seconds;
  return TRUE;
}

gboolean
pres_ctl_cmd_idle_timeout (PresCtl *ctl, int argc, char **argv, GError **error)
{
  PresDBusAgent *agent;
  g_autoptr (GVariant) reply = NULL;
  guint32 seconds;

  if (!pres_ctl_parse_options (
        ctl, NULL, N_("[DURATION]"),
        _("Print or set how long without input before the state becomes idle. DURATION is "
          "seconds (300) or 45s, 10m, 1h30, 1d; from 10 seconds to 1 day. Printed in seconds."),
        &argc, &argv, error)
      || !pres_ctl_check_args (ctl, argc, 0, 1, error))
    return FALSE;

  if (argc == 1)
    {
      g_autoptr (GVariant) value
        = pres_ctl_get_property (ctl, "IdleTimeout", G_VARIANT_TYPE_UINT32, error);
      if (value == NULL)
        return FALSE;
      g_print ("%u\n", g_variant_get_uint32 (value));
      return TRUE;
    }

  if (!parse_idle_timeout (argv[1], &seconds, error))
    return FALSE;

  /* Properties.Set directly: the generated setter cannot report errors. */
  agent = pres_ctl_get_agent (ctl, error);
  if (agent == NULL)
    return FALSE;
  reply = g_dbus_proxy_call_sync (
    G_DBUS_PROXY (agent), "org.freedesktop.DBus.Properties.Set",
    g_variant_new ("(ssv)", PRES_AGENT_INTERFACE, "IdleTimeout", g_variant_new_uint32 (seconds)),
    G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply == NULL)
    return FALSE;
  {
    g_autofree char *span = pres_ctl_format_span (seconds);

    /* TRANSLATORS: %s is a length of time, "10 min" */
    pres_ctl_confirm (ctl, _("idle after %s without input"), span);
  }
  return TRUE;
}

gboolean
pres_ctl_cmd_explain (PresCtl *ctl, int argc, char **argv, GError **error)
{
  PresDBusAgent *agent;
  g_autofree char *text = NULL;

  if (!pres_ctl_parse_options (ctl, NULL, NULL, _("Explain why the state is what it is."), &argc,
                               &argv, error)
      || !pres_ctl_check_args (ctl, argc, 0, 0, error))
    return FALSE;

  agent = pres_ctl_get_agent (ctl, error);
  if (agent == NULL
      || !pres_dbus_agent_call_explain_sync (agent, G_DBUS_CALL_FLAGS_NONE, -1, &text, NULL, error))
    return FALSE;
  g_print ("%s%s", text, g_str_has_suffix (text, "\n") ? "" : "\n");
  return TRUE;
}

gboolean
pres_ctl_cmd_destinations (PresCtl *ctl, int argc, char **argv, GError **error)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = { { "json", 0, 0, G_OPTION_ARG_NONE, &json,
                                     N_("Print the list as JSON"), NULL },
                                   { NULL } };
  g_autoptr (GVariant) destinations = NULL;
  g_autofree char *out = NULL;

  if (!pres_ctl_parse_options (ctl, entries, NULL,
                               _("List the places the agent sends presence to, with the state "
                                 "of each."),
                               &argc, &argv, error)
      || !pres_ctl_check_args (ctl, argc, 0, 0, error))
    return FALSE;

  destinations = pres_ctl_get_property (ctl, "Destinations", G_VARIANT_TYPE ("aa{sv}"), error);
  if (destinations == NULL)
    return FALSE;
  if (json)
    {
      out = pres_ctl_format_destinations_json (destinations);
      pres_ctl_print_raw (out);
      pres_ctl_print_raw ("\n");
    }
  else
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_local ();

      out = pres_ctl_format_destinations (destinations, now);
      g_print ("%s", out);
    }
  return TRUE;
}

gboolean
pres_ctl_cmd_reconnect (PresCtl *ctl, int argc, char **argv, GError **error)
{
  PresDBusAgent *agent;

  if (!pres_ctl_parse_options (
        ctl, NULL, NULL, _("Drop the connection to the server and send the full state again."),
        &argc, &argv, error)
      || !pres_ctl_check_args (ctl, argc, 0, 0, error))
    return FALSE;

  agent = pres_ctl_get_agent (ctl, error);
  if (agent == NULL
      || !pres_dbus_agent_call_reconnect_sync (agent, G_DBUS_CALL_FLAGS_NONE, -1, NULL, error))
    return FALSE;
  if (!ctl->quiet)
    {
      g_autoptr (GVariant) server = pres_ctl_get_property (ctl, "Server", G_VARIANT_TYPE_STRING,
                                                           error);
      if (server == NULL)
        return FALSE;
      /* TRANSLATORS: %s is the server's URL */
      pres_ctl_confirm (ctl, _("reconnecting: the full state goes to %s now"),
                        g_variant_get_string (server, NULL));
    }
  return TRUE;
}

gboolean
pres_ctl_cmd_version (PresCtl *ctl, int argc, char **argv, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GVariant) value = NULL;

  if (!pres_ctl_parse_options (ctl, NULL, NULL,
                               _("Print the versions of presencectl and of the running agent."),
                               &argc, &argv, error)
      || !pres_ctl_check_args (ctl, argc, 0, 0, error))
    return FALSE;

  g_print ("presencectl: %s\n", PACKAGE_VERSION);

  value = pres_ctl_get_property (ctl, "Version", G_VARIANT_TYPE_STRING, &local_error);
  if (value != NULL)
    {
      g_print ("presence-agent: %s\n", g_variant_get_string (value, NULL));
      return TRUE;
    }
  if (g_error_matches (local_error, PRES_CTL_ERROR, PRES_CTL_ERROR_NOT_RUNNING))
    {
      g_print ("presence-agent: %s\n", _("not running"));
      return TRUE;
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}
