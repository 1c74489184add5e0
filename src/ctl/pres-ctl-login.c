/* presencectl login / logout: the server token in the keyring.
 *
 * The token is read from stdin (without echo on a terminal), never from
 * the command line where other users could see it in ps. */
#define G_LOG_DOMAIN "pres-ctl"

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <glib/gi18n.h>

#include "pres-error.h"
#include "pres-secret.h"
#include "pres-ctl.h"

/* An unlock prompt may be on screen: give the user time to answer it. */
#define KEYRING_TIMEOUT_MS 120000

static struct termios saved_termios;

static void
restore_echo_and_exit (int signum)
{
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
  _exit (128 + signum);
}

/* One line from stdin, at most PRES_SECRET_TOKEN_MAX bytes plus blanks. */
static char *
read_token (const char *server, GError **error)
{
  char buf[PRES_SECRET_TOKEN_MAX + 64];
  gboolean tty = isatty (STDIN_FILENO);
  struct sigaction action = { 0 }, old_int, old_term;
  char *line;
  char *token;

  if (tty)
    {
      struct termios quiet;

      if (tcgetattr (STDIN_FILENO, &saved_termios) != 0)
        tty = FALSE;
      else
        {
          /* Ctrl+C at the prompt must not leave the terminal without echo. */
          action.sa_handler = restore_echo_and_exit;
          sigaction (SIGINT, &action, &old_int);
          sigaction (SIGTERM, &action, &old_term);
          quiet = saved_termios;
          quiet.c_lflag &= ~(tcflag_t)ECHO;
          quiet.c_lflag |= ECHONL;
          tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
          g_printerr (_("Token for %s: "), server);
        }
    }

  /* Unbuffered, so that no copy of the token stays behind in stdio. */
  setvbuf (stdin, NULL, _IONBF, 0);
  line = fgets (buf, sizeof buf, stdin);

  if (tty)
    {
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
      sigaction (SIGINT, &old_int, NULL);
      sigaction (SIGTERM, &old_term, NULL);
    }

  if (line == NULL)
    {
      if (ferror (stdin))
        g_set_error (error, PRES_CTL_ERROR, PRES_CTL_ERROR_FAILED,
                     _("Cannot read the token from stdin: %s."), g_strerror (errno));
      else
        g_set_error_literal (error, PRES_CTL_ERROR, PRES_CTL_ERROR_USAGE,
                             _("No token on stdin. Type it, or pipe it in: "
                                "presencectl login < token-file"));
      return NULL;
    }
  if (strchr (buf, '\n') == NULL && !feof (stdin))
    {
      explicit_bzero (buf, sizeof buf);
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   _("The token is longer than %u bytes."), PRES_SECRET_TOKEN_MAX);
      return NULL;
    }

  token = g_strdup (g_strstrip (buf));
  explicit_bzero (buf, sizeof buf);
  if (!pres_secret_token_validate (token, error))
    {
      explicit_bzero (token, strlen (token));
      g_free (token);
      return NULL;
    }
  return token;
}

/* --server, else what the running agent uses, else the setting. */
static char *
find_server (PresCtl *ctl, const char *option, GError **error)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GVariant) value = NULL;

  if (option != NULL)
    return g_strdup (option);

  value = pres_ctl_get_property (ctl, "Server", G_VARIANT_TYPE_STRING, &local_error);
  if (value != NULL && *g_variant_get_string (value, NULL) != '\0')
    return g_variant_dup_string (value, NULL);
  if (local_error != NULL)
    g_debug ("no Server from the agent: %s", local_error->message);

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, "org.presence.Agent", TRUE);
  if (schema != NULL && g_settings_schema_has_key (schema, "server-url"))
    {
      g_autoptr (GSettings) settings = g_settings_new_full (schema, NULL, NULL);
      g_autofree char *url = g_settings_get_string (settings, "server-url");

      if (*url != '\0')
        return g_steal_pointer (&url);
    }

  g_set_error_literal (error, PRES_CTL_ERROR, PRES_CTL_ERROR_USAGE,
                       _("No server is configured: give one with --server URL."));
  return NULL;
}

/* The keyring's own errors name D-Bus services; say what it means here. */
static void
keyring_error (GError **error, GError *cause, const char *server)
{
  g_autofree char *detail = NULL;

  if (g_dbus_error_is_remote_error (cause))
    g_dbus_error_strip_remote_error (cause);
  detail = g_strdup (cause->message);
  g_set_error (error, PRES_CTL_ERROR, PRES_CTL_ERROR_FAILED,
               _("The keyring (Secret Service) failed for %s: %s\n"
                  "Without a keyring, give presence-agent the token in a file only you "
                  "can read (--token-file FILE, mode 0600) or in PRESENCE_TOKEN."),
               server, detail);
  g_error_free (cause);
}

typedef struct
{
  GAsyncResult *result;
} Wait;

static void
on_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  g_main_context_wakeup (NULL);
}

static GAsyncResult *
wait_for (Wait *wait)
{
  while (wait->result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return wait->result;
}

gboolean
pres_ctl_cmd_login (PresCtl *ctl, int argc, char **argv, GError **error)
{
  g_autofree char *server_option = NULL;
  const GOptionEntry entries[]
    = { { "server", 's', 0, G_OPTION_ARG_STRING, &server_option,
          N_("The server the token is for (default: the agent’s server)"), N_("URL") },
        { NULL } };
  g_autofree char *server = NULL;
  g_autofree char *key = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GError *local_error = NULL;
  Wait wait = { NULL };
  char *token;

  if (!pres_ctl_parse_options (ctl, entries, NULL,
                               _("Store the token for the presence server in the keyring. "
                                  "The token is read from stdin."),
                               &argc, &argv, error)
      || !pres_ctl_check_args (ctl, argc, 0, 0, error))
    return FALSE;

  server = find_server (ctl, server_option, error);
  if (server == NULL)
    return FALSE;
  key = pres_secret_normalize_server (server);

  token = read_token (key, error);
  if (token == NULL)
    return FALSE;

  pres_secret_store_token (key, token, KEYRING_TIMEOUT_MS, NULL, on_ready, &wait);
  explicit_bzero (token, strlen (token));
  g_free (token);

  result = wait_for (&wait);
  if (!pres_secret_store_token_finish (result, &local_error))
    {
      keyring_error (error, local_error, key);
      return FALSE;
    }

  pres_ctl_confirm (ctl,
                    _("Token stored in the keyring for %s; a running agent uses it from its next "
                      "connection (presencectl reconnect)."),
                    key);
  return TRUE;
}

gboolean
pres_ctl_cmd_logout (PresCtl *ctl, int argc, char **argv, GError **error)
{
  g_autofree char *server_option = NULL;
  const GOptionEntry entries[]
    = { { "server", 's', 0, G_OPTION_ARG_STRING, &server_option,
          N_("The server the token is for (default: the agent’s server)"), N_("URL") },
        { NULL } };
  g_autofree char *server = NULL;
  g_autofree char *key = NULL;
  g_autoptr (GAsyncResult) result = NULL;
  GError *local_error = NULL;
  Wait wait = { NULL };
  gboolean removed = FALSE;

  if (!pres_ctl_parse_options (ctl, entries, NULL,
                               _("Remove the token for the presence server from the keyring."),
                               &argc, &argv, error)
      || !pres_ctl_check_args (ctl, argc, 0, 0, error))
    return FALSE;

  server = find_server (ctl, server_option, error);
  if (server == NULL)
    return FALSE;
  key = pres_secret_normalize_server (server);

  pres_secret_clear_token (key, KEYRING_TIMEOUT_MS, NULL, on_ready, &wait);
  result = wait_for (&wait);
  if (!pres_secret_clear_token_finish (result, &removed, &local_error))
    {
      keyring_error (error, local_error, key);
      return FALSE;
    }

  if (removed)
    pres_ctl_confirm (ctl, _("Token removed from the keyring for %s."), key);
  else
    pres_ctl_confirm (ctl, _("No token was stored for %s."), key);
  return TRUE;
}
