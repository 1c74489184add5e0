#define G_LOG_DOMAIN "pres-menu"

#include "config.h"

#include <langinfo.h>
#include <glib/gi18n.h>

#include "pres-menu-labels.h"

#include <string.h>

/*
 * The words the tray says about the state, in the user's language and time
 * zone, and the icon that goes with them.
 */

#define ICON_PREFIX "org.presence.Agent-"

static gboolean
same_day (GDateTime *a,
          GDateTime *b)
{
  return g_date_time_get_year (a) == g_date_time_get_year (b) &&
         g_date_time_get_day_of_year (a) == g_date_time_get_day_of_year (b);
}

char *
pres_menu_label_manual (PresState state,
                        gint64    until_s,
                        gint64    now_us,
                        gboolean *changes_at_midnight)
{
  gboolean busy = state == PRES_STATE_BUSY;
  g_autoptr (GDateTime) now = g_date_time_new_from_unix_local (now_us / G_USEC_PER_SEC);
  g_autoptr (GDateTime) tomorrow = g_date_time_add_days (now, 1);
  g_autoptr (GDateTime) until = NULL;
  g_autofree char *when = NULL;

  if (until_s <= 0)
    return g_strdup (busy ? _("Busy") : _("Appearing offline"));

  *changes_at_midnight = TRUE;
  until = g_date_time_new_from_unix_local (until_s);
  if (same_day (until, now))
    {
      when = g_date_time_format (until, "%H:%M");
      /* TRANSLATORS: %s is a time of day, "17:00" */
      return g_strdup_printf (busy ? _("Busy until %s") : _("Appearing offline until %s"), when);
    }
  if (same_day (until, tomorrow))
    {
      when = g_date_time_format (until, "%H:%M");
      return g_strdup_printf (busy ? _("Busy until tomorrow %s")
                                   : _("Appearing offline until tomorrow %s"),
                              when);
    }
  /* TRANSLATORS: a date and time for g_date_time_format(), "Wed 7 Jan, 09:00" */
  /* xgettext:no-c-format */
  when = g_date_time_format (until, _("%a %-d %b, %H:%M"));
  return g_strdup_printf (busy ? _("Busy until %s") : _("Appearing offline until %s"), when);
}

/* The locale's time of day without seconds, for g_date_time_format():
 * "%H:%M" in most locales, "%I:%M %p" where the clock is 12-hour. */
static char *
locale_clock_format (void)
{
  g_autofree char *format = g_strdup (nl_langinfo (T_FMT));
  GString *out;

  /* Spell out the shorthands, then drop the seconds. */
  if (strstr (format, "%r") != NULL)
    {
      g_autofree char *ampm = g_strdup (nl_langinfo (T_FMT_AMPM));
      GString *expanded = g_string_new (format);

      g_string_replace (expanded, "%r", *ampm != '\0' ? ampm : "%I:%M:%S %p", 0);
      g_free (format);
      format = g_string_free (expanded, FALSE);
    }
  out = g_string_new (format);
  g_string_replace (out, "%T", "%H:%M:%S", 0);
  g_string_replace (out, "%X", "%H:%M:%S", 0);
  g_string_replace (out, ":%S", "", 0);
  g_string_replace (out, ".%S", "", 0);
  if (strstr (out->str, "%M") == NULL)
    g_string_assign (out, "%H:%M");
  return g_string_free (out, FALSE);
}

char *
pres_menu_label_online (gint64    since_us,
                        gint64    now_us,
                        gboolean *changes_at_midnight)
{
  g_autoptr (GDateTime) now = g_date_time_new_from_unix_local (now_us / G_USEC_PER_SEC);
  g_autoptr (GDateTime) since = g_date_time_new_from_unix_local (since_us / G_USEC_PER_SEC);
  g_autofree char *clock_format = locale_clock_format ();
  g_autofree char *clock = NULL;

  if (since_us <= 0 || since == NULL || now == NULL)
    return g_strdup (_("Online"));
  clock = g_date_time_format (since, clock_format);
  *changes_at_midnight = TRUE;
  if (same_day (since, now))
    /* TRANSLATORS: %s is a time of day in the locale's format, "14:02" */
    return g_strdup_printf (_("Online since %s"), clock);
  {
    /* TRANSLATORS: a date for g_date_time_format(), "Wed 7 Jan" */
    /* xgettext:no-c-format */
    g_autofree char *day = g_date_time_format (since, _("%a %-d %b"));

    /* TRANSLATORS: a date, then a time of day: "Online since Wed 7 Jan, 14:02" */
    return g_strdup_printf (_("Online since %s, %s"), day, clock);
  }
}

char *
pres_menu_label_idle (gint64 since_us,
                      gint64 now_us,
                      guint *next_ms)
{
  gint64 elapsed_ms = MAX (0, now_us - since_us) / 1000;
  guint minutes = elapsed_ms / 60000;

  *next_ms = 60000 - elapsed_ms % 60000;
  if (minutes == 0)
    return g_strdup (_("Idle"));
  if (minutes < 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Idle for %u min", "Idle for %u min",
                                         minutes),
                            minutes);
  /* TRANSLATORS: hours and minutes, "Idle for 2 h 5 min" */
  return g_strdup_printf (_("Idle for %u h %u min"), minutes / 60, minutes % 60);
}

static char *
server_host (PresLink *link)
{
  const char *server = pres_link_get_server (link);
  g_autoptr (GUri) uri = g_uri_parse (server, G_URI_FLAGS_NONE, NULL);

  if (uri != NULL && g_uri_get_host (uri) != NULL && *g_uri_get_host (uri) != '\0')
    return g_strdup (g_uri_get_host (uri));
  return g_strdup (server);
}

char *
pres_menu_label_connection (PresLink *link)
{
  g_autofree char *host = server_host (link);

  if (*host == '\0')
    return g_strdup (_("No presence server set"));
  switch (pres_link_get_connection (link))
    {
      case PRES_CONNECTION_CONNECTED:
        return g_strdup_printf (_("Connected to %s"), host);
      case PRES_CONNECTION_CONNECTING:
        return g_strdup_printf (_("Connecting to %s…"), host);
      case PRES_CONNECTION_ERROR:
        /* The transport retries on its own with backoff. */
        return g_strdup_printf (_("Reconnecting to %s…"), host);
      case PRES_CONNECTION_UNAUTHORIZED:
        return g_strdup (_("Not signed in — run presencectl login"));
      case PRES_CONNECTION_DISCONNECTED:
      default:
        return g_strdup (_("Not connected"));
    }
}

const char *
pres_menu_icon_name (PresState      state,
                     PresConnection connection)
{
  /* Whatever the user chose, others do not see it while the link is down. */
  if (connection == PRES_CONNECTION_ERROR || connection == PRES_CONNECTION_UNAUTHORIZED)
    return ICON_PREFIX "disconnected";
  switch (state)
    {
      case PRES_STATE_ONLINE:
        return ICON_PREFIX "online";
      case PRES_STATE_IDLE:
        return ICON_PREFIX "idle";
      case PRES_STATE_BUSY:
        return ICON_PREFIX "busy";
      case PRES_STATE_APPEAR_OFFLINE:
        return ICON_PREFIX "appear-offline";
      case PRES_STATE_OFFLINE:
      default:
        return ICON_PREFIX "offline";
    }
}

/* Others never see appear_offline: to them it is offline. */
static PresState
as_others_see (PresState state)
{
  return state == PRES_STATE_APPEAR_OFFLINE ? PRES_STATE_OFFLINE : state;
}

char *
pres_menu_label_others (PresState   own,
                        const char *public_state)
{
  PresState seen;

  if (!pres_state_from_string (public_state, &seen) || own == PRES_STATE_OFFLINE ||
      as_others_see (seen) == as_others_see (own))
    return NULL;

  switch (as_others_see (seen))
    {
      case PRES_STATE_ONLINE:
        return g_strdup (_("Others see you as online (another device)"));
      case PRES_STATE_IDLE:
        return g_strdup (_("Others see you as idle (another device)"));
      case PRES_STATE_BUSY:
        return g_strdup (_("Others see you as busy (another device)"));
      case PRES_STATE_OFFLINE:
      default:
        return g_strdup (_("Others see you as offline (another device)"));
    }
}
