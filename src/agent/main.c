#define G_LOG_DOMAIN "pres-main"

#include "config.h"

#include <locale.h>
#include <stdlib.h>

#include <glib-unix.h>
#include <glib/gi18n.h>

#include "pres-agent.h"
#include "pres-service.h"

typedef struct
{
  GMainLoop *loop;
  PresAgent *agent;
  gboolean   owned_name;
  gboolean   quitting;
  int        exit_status;
} Context;

static void
on_name_acquired (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  Context *ctx = user_data;

  g_debug ("Owning %s", name);
  ctx->owned_name = TRUE;
  pres_agent_start (ctx->agent);
}

static void
on_name_lost (GDBusConnection *connection,
              const char      *name,
              gpointer         user_data)
{
  Context *ctx = user_data;

  if (ctx->owned_name)
    g_message (connection == NULL ? "Lost the session bus; exiting"
                                  : "Replaced by another presence-agent; exiting");
  else if (connection == NULL)
    {
      g_printerr ("presence-agent: lost the session bus before owning %s\n", name);
      ctx->exit_status = EXIT_FAILURE;
    }
  else
    /* Not an error: the agent the user wanted is running. */
    g_print ("presence-agent is already running (use --replace to take over)\n");
  g_main_loop_quit (ctx->loop);
}

static void
on_left (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Context *ctx = user_data;

  pres_agent_quit_finish (PRES_AGENT (source), result, NULL);
  g_main_loop_quit (ctx->loop);
}

static void
begin_quit (Context    *ctx,
            const char *reason)
{
  /* A second signal means the user is done waiting for the leave. */
  if (ctx->quitting)
    {
      g_main_loop_quit (ctx->loop);
      return;
    }
  g_debug ("Quitting (%s): sending the leave first", reason);
  ctx->quitting = TRUE;
  pres_agent_quit_async (ctx->agent, reason, on_left, ctx);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  begin_quit (user_data, "quit");
  return G_SOURCE_CONTINUE;
}

static void
on_session_ended (PresAgent *agent,
                  gpointer   user_data)
{
  Context *ctx = user_data;

  if (!ctx->quitting)
    begin_quit (ctx, "logout");
}

static void
on_quit_requested (PresAgent *agent,
                   Context   *ctx)
{
  on_quit_signal (ctx);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GOptionContext) option_context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (GDBusConnection) bus = NULL;
  g_autoptr (PresAgent) agent = NULL;
  gboolean verbose = FALSE, replace = FALSE, version = FALSE;
  PresAgentOptions options = { 0 };
  Context ctx = { 0 };
  guint owner_id;
  const GOptionEntry entries[] = {
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_("Print debug messages"), NULL },
    { "replace", 'r', 0, G_OPTION_ARG_NONE, &replace, N_("Replace a running agent"), NULL },
    { "server", 0, 0, G_OPTION_ARG_STRING, &options.server,
      N_("Use this presence server instead of the configured one"), N_("URL") },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &options.token_file,
      N_("Read the access token from this file"), N_("FILE") },
    { "transport", 0, 0, G_OPTION_ARG_STRING, &options.transport,
      N_("Speak this protocol to the server: http, openclaw or mqtt"), N_("PROTOCOL") },
    { "no-tray", 0, 0, G_OPTION_ARG_NONE, &options.no_tray, N_("Do not show a tray icon"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  option_context = g_option_context_new (NULL);
  g_option_context_set_summary (option_context,
                                _("Keeps your presence on a presence server up to date."));
  g_option_context_add_main_entries (option_context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (option_context, &argc, &argv, &error))
    {
      g_printerr ("presence-agent: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("presence-agent %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (verbose)
    g_log_set_debug_enabled (TRUE);

  /* The session bus first, before any settings: the dconf backend connects
   * to it from a thread of its own, and that thread registering GIO's socket
   * types while this one initialises libsoup's classes deadlocks inside
   * GObject (2 in 1,100 starts under load). Connected here,
   * the thread finds the bus ready and registers nothing. */
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  if (bus == NULL)
    {
      g_printerr ("presence-agent: cannot connect to the session bus: %s\n", error->message);
      return EXIT_FAILURE;
    }

  agent = pres_agent_new (&options, &error);
  if (agent == NULL)
    {
      g_printerr ("presence-agent: %s\n", error->message);
      return EXIT_FAILURE;
    }

  loop = g_main_loop_new (NULL, FALSE);
  ctx.loop = loop;
  ctx.agent = agent;
  g_signal_connect (agent, "session-ended", G_CALLBACK (on_session_ended), &ctx);
  g_unix_signal_add (SIGTERM, on_quit_signal, &ctx);
  g_unix_signal_add (SIGINT, on_quit_signal, &ctx);
  g_unix_signal_add (SIGHUP, on_quit_signal, &ctx);
  g_signal_connect (agent, "quit-requested", G_CALLBACK (on_quit_requested), &ctx);

  if (!pres_agent_export (agent, bus, &error))
    {
      g_printerr ("presence-agent: cannot export %s: %s\n", PRES_AGENT_OBJECT_PATH,
                  error->message);
      return EXIT_FAILURE;
    }
  owner_id = g_bus_own_name_on_connection (bus, PRES_AGENT_BUS_NAME,
                                           G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT |
                                             (replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
                                           on_name_acquired, on_name_lost, &ctx, NULL);
  g_main_loop_run (loop);
  g_bus_unown_name (owner_id);

  g_free (options.server);
  g_free (options.token_file);
  g_free (options.transport);
  return ctx.exit_status;
}
