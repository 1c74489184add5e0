/* The words presencectl uses for people, shared by the confirmations of
 * the commands that change something and by `status`, so that one thing
 * is said one way. Pure functions of their arguments. */
#define G_LOG_DOMAIN "pres-ctl"

#include "config.h"

#include <glib/gi18n.h>

#include "pres-ctl-words.h"

static const struct
{
  const char *wire;
  const char *words;
} state_words[] = {
  { "online", N_ ("online") },   { "idle", N_ ("idle") },
  { "busy", N_ ("busy") },       { "appear_offline", N_ ("appear offline") },
  { "offline", N_ ("offline") },
};

/**
 * pres_ctl_state_words:
 * @state: a state as the D-Bus API names it ("appear_offline")
 *
 * Returns: the state as a person says it ("appear offline"); an unknown
 *   name (a newer agent) as it is
 */
const char *
pres_ctl_state_words (const char *state)
{
  for (guint i = 0; i < G_N_ELEMENTS (state_words); i++)
    if (g_strcmp0 (state, state_words[i].wire) == 0)
      return _ (state_words[i].words);
  return state;
}

/**
 * pres_ctl_format_span:
 * @seconds: a length of time
 *
 * Returns: (transfer full): its two largest units, rounded down, as read
 *   aloud: "2 h 50 min", "1 min 30 s", "3 d 4 h", "45 s"
 */
char *
pres_ctl_format_span (guint64 seconds)
{
  static const struct
  {
    guint64 seconds;
    const char *unit;
  } units[] = {
    /* TRANSLATORS: unit symbols for days, hours, minutes and seconds */
    { 86400, N_ ("d") },
    { 3600, N_ ("h") },
    { 60, N_ ("min") },
    { 1, N_ ("s") },
  };

  /* The largest unit that is not zero, and the next one unless it is zero:
   * "2 h", not "2 h 0 min". */
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    {
      guint64 n = seconds / units[i].seconds;
      guint64 next;

      if (n == 0)
        continue;
      if (i + 1 == G_N_ELEMENTS (units))
        return g_strdup_printf ("%" G_GUINT64_FORMAT " %s", n, _ (units[i].unit));
      next = seconds % units[i].seconds / units[i + 1].seconds;
      if (next == 0)
        return g_strdup_printf ("%" G_GUINT64_FORMAT " %s", n, _ (units[i].unit));
      return g_strdup_printf ("%" G_GUINT64_FORMAT " %s %" G_GUINT64_FORMAT " %s", n,
                              _ (units[i].unit), next, _ (units[i + 1].unit));
    }
  return g_strdup_printf ("0 %s", _ ("s"));
}

/* "17:00" today, "tomorrow 09:00", else the date as well. */
static char *
format_clock (gint64 unix_seconds, GDateTime *now)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (unix_seconds);
  g_autoptr (GDateTime) when = NULL;
  g_autoptr (GDateTime) tomorrow = NULL;
  g_autofree char *clock = NULL;

  if (utc == NULL)
    return g_strdup_printf ("%" G_GINT64_FORMAT, unix_seconds);
  when = g_date_time_to_timezone (utc, g_date_time_get_timezone (now));
  tomorrow = g_date_time_add_days (now, 1);
  /* TRANSLATORS: a time of day for g_date_time_format(), "17:00" */
  clock = g_date_time_format (when, _ ("%H:%M"));
  if (g_date_time_get_year (when) == g_date_time_get_year (now)
      && g_date_time_get_day_of_year (when) == g_date_time_get_day_of_year (now))
    return g_steal_pointer (&clock);
  if (g_date_time_get_year (when) == g_date_time_get_year (tomorrow)
      && g_date_time_get_day_of_year (when) == g_date_time_get_day_of_year (tomorrow))
    /* TRANSLATORS: %s is a time of day, "09:00" */
    return g_strdup_printf (_ ("tomorrow %s"), clock);
  /* TRANSLATORS: a date and time for g_date_time_format(), "2026-11-25 09:00" */
  return g_date_time_format (when, _ ("%Y-%m-%d %H:%M"));
}

/**
 * pres_ctl_format_manual:
 * @state: the manual state as the D-Bus API names it
 * @until_unix: when it ends, 0 for "until auto"
 * @now: the current time, in the time zone to show
 *
 * Returns: (transfer full): "busy until 17:00 (in 2 h 50 min)", or "appear
 *   offline until you run “presencectl auto”"
 */
char *
pres_ctl_format_manual (const char *state, gint64 until_unix, GDateTime *now)
{
  g_autofree char *clock = NULL;
  g_autofree char *span = NULL;
  gint64 left;

  if (until_unix == 0)
    /* TRANSLATORS: %s is a state, "busy" or "appear offline" */
    return g_strdup_printf (_ ("%s until you run “presencectl auto”"),
                            pres_ctl_state_words (state));

  clock = format_clock (until_unix, now);
  left = until_unix - g_date_time_to_unix (now);
  span = pres_ctl_format_span ((guint64)ABS (left));
  if (left <= 0)
    /* TRANSLATORS: a state, the time it ended, how long ago:
     * "busy until 12:59 (ended 1 min ago)" */
    return g_strdup_printf (_ ("%s until %s (ended %s ago)"), pres_ctl_state_words (state), clock,
                            span);
  /* TRANSLATORS: a state, the time it ends, how long until then:
   * "busy until 17:00 (in 2 h 50 min)" */
  return g_strdup_printf (_ ("%s until %s (in %s)"), pres_ctl_state_words (state), clock, span);
}
