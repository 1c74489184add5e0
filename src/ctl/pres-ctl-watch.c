/* presencectl watch: one line per state change, until SIGINT or SIGTERM.
 *
 * Follows the bus name, not one process: when the agent quits or restarts,
 * watch says so and goes on with the new one. */
#define G_LOG_DOMAIN "pres-ctl"

#include "config.h"

#include <stdio.h>
#include <glib/gi18n.h>
#include <glib-unix.h>

#include "pres-ctl.h"
#include "pres-ctl-format.h"

typedef struct
{
  GMainLoop *loop;
  GCancellable *cancellable;
  gboolean json;
  int exit_signal;
  gboolean owner_known; /* the name watch has said who owns the name, or that nobody does */
  guint pending_calls;
  GQueue held;      /* of Held: what came before the agent's first state was read */
  char *last_state; /* the state the last line said, to say each fact once */
} Watch;

typedef struct
{
  char *line;
  char *state; /* the state this line reports; NULL: not a state line */
} Held;

static void
write_line (Watch *watch, char *line)
{
  if (watch->json)
    {
      pres_ctl_print_raw (line);
      pres_ctl_print_raw ("\n");
    }
  else
    {
      g_print ("%s\n", line);
      /* Readers are often pipes (scripts, tests): one line, one write. */
      fflush (stdout);
    }
  g_free (line);
}

/* Takes @line. A line for STATE that the last line already said (the
 * agent's startup change, read once as its state and then again as its
 * signal) is left out: one line per fact. */
static void
write_state_line (Watch *watch, char *line, const char *state)
{
  if (state != NULL && g_strcmp0 (state, watch->last_state) == 0)
    {
      g_free (line);
      return;
    }
  if (state != NULL)
    {
      g_free (watch->last_state);
      watch->last_state = g_strdup (state);
    }
  write_line (watch, line);
}

/* Takes @line. Until the name's owner is known and while the state of an
 * agent that just appeared is being read, its changes wait, so "running"
 * comes before what it did. */
static void
print_line (Watch *watch, char *line, const char *state)
{
  if (!watch->owner_known || watch->pending_calls > 0)
    {
      Held *held = g_new0 (Held, 1);

      held->line = line;
      held->state = g_strdup (state);
      g_queue_push_tail (&watch->held, held);
    }
  else
    write_state_line (watch, line, state);
}

static void
flush_held (Watch *watch)
{
  Held *held;

  while ((held = g_queue_pop_head (&watch->held)) != NULL)
    {
      write_state_line (watch, held->line, held->state);
      g_free (held->state);
      g_free (held);
    }
}

static void
on_state_changed (PresDBusAgent *agent,
                  const char *state,
                  const char *previous,
                  const char *reason,
                  Watch *watch)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();

  print_line (watch, pres_ctl_format_state_change (now, state, previous, reason, watch->json),
              state);
}

static void
got_state (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Watch *watch = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) value = NULL;
  g_autoptr (GDateTime) now = NULL;
  const char *state = NULL;

  watch->pending_calls--;
  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (watch->pending_calls == 0)
        flush_held (watch);
      return;
    }
  if (reply != NULL)
    {
      g_variant_get (reply, "(v)", &value);
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        state = g_variant_get_string (value, NULL);
    }
  else
    {
      g_debug ("reading State: %s", error->message);
    }

  now = g_date_time_new_now_local ();
  g_clear_pointer (&watch->last_state, g_free);
  write_state_line (watch, pres_ctl_format_agent_event (now, TRUE, state, watch->json), state);
  if (watch->pending_calls == 0)
    flush_held (watch);
}

static void
on_name_appeared (GDBusConnection *bus, const char *name, const char *owner, gpointer user_data)
{
  Watch *watch = user_data;

  g_debug ("%s appeared as %s", name, owner);
  watch->owner_known = TRUE;
  watch->pending_calls++;
  /* Ask the owner itself, so the answer is from the process that just
   * appeared even if it is replaced meanwhile. */
  g_dbus_connection_call (bus, owner, PRES_AGENT_OBJECT_PATH, "org.freedesktop.DBus.Properties",
                          "Get", g_variant_new ("(ss)", PRES_AGENT_INTERFACE, "State"),
                          G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, -1,
                          watch->cancellable, got_state, watch);
}

static void
on_name_vanished (GDBusConnection *bus, const char *name, gpointer user_data)
{
  Watch *watch = user_data;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();

  if (bus == NULL)
    {
      /* The bus itself went away: nothing more will come. */
      watch->exit_signal = -1;
      g_main_loop_quit (watch->loop);
      return;
    }
  if (!watch->owner_known)
    {
      /* What the agent said before it went comes first. */
      watch->owner_known = TRUE;
      if (watch->pending_calls == 0)
        flush_held (watch);
    }
  print_line (watch, pres_ctl_format_agent_event (now, FALSE, NULL, watch->json), NULL);
  g_clear_pointer (&watch->last_state, g_free);
}

static gboolean
on_quit_signal (gpointer user_data)
{
  Watch *watch = user_data;

  watch->exit_signal = 1;
  g_main_loop_quit (watch->loop);
  return G_SOURCE_CONTINUE;
}

gboolean
pres_ctl_cmd_watch (PresCtl *ctl, int argc, char **argv, GError **error)
{
  gboolean json = FALSE;
  const GOptionEntry entries[]
    = { { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object per line"), NULL },
        { NULL } };
  Watch watch = { 0 };
  PresDBusAgent *agent;
  GDBusConnection *bus;
  guint watch_id, sigint_id, sigterm_id;
  gulong handler;

  if (!pres_ctl_parse_options (ctl, entries, NULL,
                               _("Print each change of the state until interrupted (Ctrl+C). "
                                  "Also says when presence-agent stops or starts."),
                               &argc, &argv, error)
      || !pres_ctl_check_args (ctl, argc, 0, 0, error))
    return FALSE;

  ctl->connect_signals = TRUE;
  agent = pres_ctl_get_agent_proxy (ctl, ctl->auto_start, error);
  if (agent == NULL)
    return FALSE;
  bus = g_dbus_proxy_get_connection (G_DBUS_PROXY (agent));
  /* A lost bus is reported by the watch below, not by exiting the process. */
  g_dbus_connection_set_exit_on_close (bus, FALSE);

  watch.json = json;
  g_queue_init (&watch.held);
  watch.loop = g_main_loop_new (NULL, FALSE);
  watch.cancellable = g_cancellable_new ();

  handler = g_signal_connect (agent, "state-changed", G_CALLBACK (on_state_changed), &watch);
  watch_id
    = g_bus_watch_name_on_connection (bus, PRES_AGENT_BUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                      on_name_appeared, on_name_vanished, &watch, NULL);
  sigint_id = g_unix_signal_add (SIGINT, on_quit_signal, &watch);
  sigterm_id = g_unix_signal_add (SIGTERM, on_quit_signal, &watch);

  g_main_loop_run (watch.loop);

  g_cancellable_cancel (watch.cancellable);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_bus_unwatch_name (watch_id);
  g_signal_handler_disconnect (agent, handler);
  /* Let the cancelled call report back before its Watch goes away. */
  while (watch.pending_calls > 0)
    g_main_context_iteration (NULL, TRUE);
  flush_held (&watch);
  g_clear_object (&watch.cancellable);
  g_clear_pointer (&watch.loop, g_main_loop_unref);
  g_free (watch.last_state);

  if (watch.exit_signal < 0)
    {
      g_set_error_literal (error, PRES_CTL_ERROR, PRES_CTL_ERROR_FAILED,
                           _("The session bus closed."));
      return FALSE;
    }
  return TRUE;
}
