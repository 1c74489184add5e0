#define G_LOG_DOMAIN "pres-explain"

#include "pres-explain.h"

/*
 * The account behind Explain(): every input of the state rules in the order
 * they are applied, so a surprised user can see which one decided.
 */

static char *
format_local (gint64 unix_seconds)
{
  g_autoptr (GDateTime) time = g_date_time_new_from_unix_local (unix_seconds);

  return time ? g_date_time_format (time, "%Y-%m-%d %H:%M:%S %Z") : g_strdup ("?");
}

static void
explain_auto (GString        *out,
              PresModel      *model,
              PresIdleSource *idle_source)
{
  const char *source = pres_idle_source_get_name (idle_source);

  g_string_append_printf (out, "Automatic state: %s\n",
                          pres_state_to_string (pres_model_get_auto_state (model)));

  if (pres_model_get_asleep (model))
    g_string_append (out, "  the computer is going to sleep\n");
  if (!pres_model_get_session_active (model))
    g_string_append (out, "  this session is not the active one (another user is on the seat)\n");
  if (pres_model_get_locked (model))
    g_string_append_printf (out, "  the screen is locked%s\n",
                            pres_model_get_away_on_lock (model) ? " (counts as idle)"
                                                                : " (away-on-lock is off)");

  if (g_str_equal (source, "none"))
    g_string_append (out, "  idle source: none — this desktop offers no way to see input "
                          "idleness, so the state never becomes idle by itself\n");
  else if (g_str_equal (source, "logind"))
    /* The desktop raises IdleHint after its own delay; ours cannot
     * shorten it. */
    g_string_append_printf (out, "  idle source: logind; input %s (coarse: idle when the desktop "
                                 "says so, after its own idle delay)\n",
                            pres_model_get_idle (model) ? "idle" : "active");
  else
    g_string_append_printf (out, "  idle source: %s; input %s (idle after %u s without input)\n",
                            source, pres_model_get_idle (model) ? "idle" : "active",
                            pres_idle_source_get_timeout (idle_source));
}

static void
explain_manual (GString   *out,
                PresModel *model)
{
  PresManual manual = pres_model_get_manual (model);
  gint64 until = pres_model_get_manual_until (model);

  if (manual == PRES_MANUAL_NONE)
    {
      g_string_append (out, "Manual state: none (automatic)\n");
      return;
    }
  if (until == 0)
    g_string_append_printf (out, "Manual state: %s until switched back to automatic\n",
                            pres_manual_to_string (manual));
  else
    {
      g_autofree char *when = format_local (until);
      g_string_append_printf (out, "Manual state: %s until %s\n", pres_manual_to_string (manual),
                              when);
    }
}

static void
explain_destination (GString    *out,
                     const char *name,
                     const char *kind,
                     PresLink   *link,
                     gint64      now_us)
{
  const char *error = pres_link_get_last_error (link);
  const char *reply = pres_link_get_last_reply (link);
  const char *shown = pres_link_get_public_state (link);
  gint64 last = pres_link_get_last_heartbeat (link);

  g_string_append_printf (out, "Destination %s", name);
  if (kind != NULL)
    g_string_append_printf (out, " (%s)", kind);
  g_string_append_printf (out, ": %s (%s)\n",
                          *pres_link_get_server (link) ? pres_link_get_server (link) : "no URL",
                          pres_connection_to_string (pres_link_get_connection (link)));
  if (last > 0)
    g_string_append_printf (out, "  last delivery acknowledged %" G_GINT64_FORMAT " s ago\n",
                            MAX (0, (now_us / 1000 - last) / 1000));
  if (*shown != '\0')
    g_string_append_printf (out, "  others there see: %s\n", shown);
  if (*reply != '\0')
    g_string_append_printf (out, "  last reply: %s\n", reply);
  if (*error != '\0')
    g_string_append_printf (out, "  last error: %s\n", error);
}

char *
pres_explain (PresModel        *model,
              PresIdleSource   *idle_source,
              PresLink         *link,
              PresDestinations *destinations,
              const char       *tray_hint,
              gint64            now_us)
{
  GString *out = g_string_new (NULL);
  PresState state = pres_model_get_state (model);

  g_string_append_printf (out, "State: %s", pres_state_to_string (state));
  if (state == PRES_STATE_OFFLINE)
    g_string_append (out, " (the session is sleeping, ending or not started)");
  else if (pres_model_get_manual (model) != PRES_MANUAL_NONE)
    g_string_append (out, " (chosen by hand)");
  else
    g_string_append (out, " (detected)");
  g_string_append_c (out, '\n');

  explain_manual (out, model);
  explain_auto (out, model, idle_source);
  if (destinations == NULL)
    explain_destination (out, PRES_DEFAULT_DESTINATION, NULL, link, now_us);
  for (guint i = 0; destinations != NULL && i < pres_destinations_get_n (destinations); i++)
    explain_destination (out, pres_destinations_get_name (destinations, i),
                         pres_destinations_get_kind (destinations, i),
                         pres_destinations_get_link (destinations, i), now_us);
  if (tray_hint != NULL && *tray_hint != '\0')
    g_string_append_printf (out, "Tray: %s\n", tray_hint);

  /* No trailing newline: callers print it with their own. */
  if (out->len > 0 && out->str[out->len - 1] == '\n')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}
