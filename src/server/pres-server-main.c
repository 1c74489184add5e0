#define G_LOG_DOMAIN "pres-server"

#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>

#include "pres-server.h"

static gboolean
quit_cb (gpointer user_data)
{
  g_message ("shutting down");
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
write_port_file (const char *path,
                 const char *uri,
                 GError    **error)
{
  g_autoptr (GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_NONE, error);
  g_autofree char *text = NULL;

  if (parsed == NULL)
    return FALSE;
  text = g_strdup_printf ("%d\n", g_uri_get_port (parsed));
  return g_file_set_contents (path, text, -1, error);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (PresServer) server = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *tokens_file = NULL;
  g_autofree char *port_file = NULL;
  g_autofree char *store = NULL;
  g_autofree char *uri = NULL;
  gboolean dev = FALSE, verbose = FALSE, version = FALSE;
  double ttl_s = 75, interval_s = 30, rate_limit = 20, conversation_window_s = 86400;
  int max_instances = 100000, rate_burst = 40;
  PresServerOptions options;
  guint sigterm_id, sigint_id;
  const GOptionEntry entries[] = {
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen,
      "Address to listen on (default 127.0.0.1:8787; port 0 picks one)", "HOST:PORT" },
    { "tokens", 't', 0, G_OPTION_ARG_FILENAME, &tokens_file,
      "Tokens file: \"<token> <participant_id> [always-online] [admin]\" per line", "FILE" },
    { "dev", 0, 0, G_OPTION_ARG_NONE, &dev,
      "INSECURE: accept any token as the participant id (loopback only)", NULL },
    { "ttl", 0, 0, G_OPTION_ARG_DOUBLE, &ttl_s,
      "Seconds an instance stays live after a heartbeat (default 75)", "SECONDS" },
    { "interval", 0, 0, G_OPTION_ARG_DOUBLE, &interval_s,
      "Heartbeat interval given to clients (default 30)", "SECONDS" },
    { "max-instances", 0, 0, G_OPTION_ARG_INT, &max_instances,
      "Total cap on live instances (default 100000)", "N" },
    { "rate-limit", 0, 0, G_OPTION_ARG_DOUBLE, &rate_limit,
      "Requests per second per token (default 20)", "RATE" },
    { "rate-burst", 0, 0, G_OPTION_ARG_INT, &rate_burst,
      "Burst allowed per token (default 40)", "N" },
    { "conversation-window", 0, 0, G_OPTION_ARG_DOUBLE, &conversation_window_s,
      "Seconds after a conversation (POST /v1/conversations) that its two participants see "
      "through each other's appear_offline (default 86400)", "SECONDS" },
    { "store", 0, 0, G_OPTION_ARG_STRING, &store,
      "Where presence lives: memory (default), redis://HOST[:PORT][/DB] or unix:/PATH "
      "(several servers share one Redis)", "STORE" },
    { "port-file", 0, 0, G_OPTION_ARG_FILENAME, &port_file,
      "Write the port listened on to FILE", "FILE" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log every state change (debug)", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  /* stdout carries only the "listening on" line that scripts read. */
  g_log_writer_default_set_use_stderr (TRUE);
  context = g_option_context_new ("— the reference presence server");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("presence-server: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("presence-server %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (dev == (tokens_file != NULL))
    {
      g_printerr ("presence-server: give exactly one of --tokens FILE or --dev\n");
      return 2;
    }
  if (ttl_s < 0.1 || ttl_s > 86400 || interval_s < 0.1 || interval_s >= ttl_s ||
      max_instances < 1 || rate_limit <= 0 || rate_burst < 1)
    {
      g_printerr ("presence-server: need 0.1 ≤ --interval < --ttl ≤ 86400 "
                  "and positive limits\n");
      return 2;
    }
  if (!(conversation_window_s >= 0.001 && conversation_window_s <= 30 * 86400))
    {
      g_printerr ("presence-server: need 0.001 ≤ --conversation-window ≤ 2592000 (30 days)\n");
      return 2;
    }
  if (verbose)
    {
      /* Our domains only: g_log_set_debug_enabled() would also turn on
       * GLib's and GIO's own debug output. */
      if (g_getenv ("G_MESSAGES_DEBUG") == NULL)
        g_setenv ("G_MESSAGES_DEBUG", "pres-server pres-wire pres-redis", TRUE);
    }

  options = (PresServerOptions) {
    .tokens_file = tokens_file,
    .dev = dev,
    .ttl_ms = (guint) (ttl_s * 1000),
    .interval_ms = (guint) (interval_s * 1000),
    .conversation_window_ms = (guint) (conversation_window_s * 1000),
    .max_instances = (guint) max_instances,
    .rate_limit = rate_limit,
    .rate_burst = (guint) rate_burst,
    .store = store,
  };
  /* Before the port is announced: a test may signal as soon as it reads it. */
  loop = g_main_loop_new (NULL, FALSE);
  sigterm_id = g_unix_signal_add (SIGTERM, quit_cb, loop);
  sigint_id = g_unix_signal_add (SIGINT, quit_cb, loop);

  server = pres_server_new (&options, &error);
  if (server != NULL)
    uri = pres_server_listen (server, listen != NULL ? listen : "127.0.0.1:8787", &error);
  if (uri == NULL || (port_file != NULL && !write_port_file (port_file, uri, &error)))
    {
      g_printerr ("presence-server: %s\n", error->message);
      return 1;
    }

  if (dev)
    g_printerr ("presence-server: *** DEV MODE, INSECURE: any bearer token is accepted as its "
                "own participant id. Loopback only; never use this for real people. ***\n");
  /* Tests and scripts read the port from this line. */
  setvbuf (stdout, NULL, _IOLBF, 0);
  g_print ("listening on %s\n", uri);

  g_main_loop_run (loop);
  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);
  /* Closing connections completes in idle callbacks: let them run. */
  g_clear_object (&server);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return 0;
}
