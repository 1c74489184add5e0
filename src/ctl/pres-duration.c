/* Human durations for presencectl: "45s", "30m", "2h", "1h30m" (or "1h30"),
 * "1d", "until 17:00", "until tomorrow 09:00".
 *
 * Pure: no I/O, the current time comes in as an argument, so the tests can
 * pin it.
 */
#define G_LOG_DOMAIN "pres-ctl"

#include "config.h"

#include <glib/gi18n.h>

#include "pres-error.h"
#include "pres-duration.h"

#define FORMS_HINT                                                                                 \
  N_("Use a duration like 45s, 30m, 2h, 1h30 or 1d, or a time like “until 17:00”.")
#define SPAN_HINT N_("Use seconds (300) or a duration like 45s, 10m, 1h30 or 1d.")

typedef struct
{
  char unit;
  guint32 seconds;
} Unit;

/* Largest first: components must come in this order, each at most once. */
static const Unit units[] = {
  { 'd', 86400 },
  { 'h', 3600 },
  { 'm', 60 },
  { 's', 1 },
};

/* HINT lists the forms the caller accepts. */
static gboolean
set_error_with (GError **error, const char *hint, const char *text, const char *why)
{
  /* TRANSLATORS: what was typed, what is wrong with it, then the valid forms */
  g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS, _("“%s”: %s %s"), text, why, _(hint));
  return FALSE;
}

static gboolean
set_error (GError **error, const char *text, const char *why)
{
  return set_error_with (error, FORMS_HINT, text, why);
}

static gboolean
check_range (const char *text, guint64 seconds, guint32 *out_seconds, GError **error)
{
  if (seconds == 0)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   _("“%s”: the duration must be at least one second. "
                      "To keep the state until you switch back, leave out the duration."),
                   text);
      return FALSE;
    }
  if (seconds > PRES_DURATION_MAX_SECONDS)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   _("“%s” is longer than a year (%u seconds), the most the agent accepts."), text,
                   PRES_DURATION_MAX_SECONDS);
      return FALSE;
    }
  *out_seconds = (guint32)seconds;
  return TRUE;
}

static gboolean
parse_relative (const char *hint,
                const char *orig,
                const char *p,
                guint32 *out_seconds,
                GError **error)
{
  guint64 total = 0;
  guint next_unit = 0;

  if (*p == '-')
    return set_error_with (error, hint, orig, _("a duration cannot be negative."));

  while (*p != '\0')
    {
      guint64 value = 0;
      guint i;

      if (!g_ascii_isdigit (*p))
        return set_error_with (error, hint, orig, _("this is not a duration."));

      /* Saturate: anything past the maximum is out of range anyway, and
       * this keeps the sum below from overflowing. */
      for (; g_ascii_isdigit (*p); p++)
        value = MIN (value * 10 + (guint64)(*p - '0'), PRES_DURATION_MAX_SECONDS + 1);

      /* A trailing number takes the unit after the last one, as people
       * write it: 1h30 is 1h30m, 2m30 is 2m30s. */
      if (*p == '\0' && next_unit > 0 && next_unit < G_N_ELEMENTS (units))
        {
          total += value * units[next_unit].seconds;
          break;
        }
      if (*p == '\0')
        return set_error_with (error, hint, orig, _("the number has no unit (s, m, h or d)."));

      for (i = 0; i < G_N_ELEMENTS (units); i++)
        if (units[i].unit == *p)
          break;
      if (i == G_N_ELEMENTS (units))
        return set_error_with (error, hint, orig, _("this is not a duration."));
      if (i < next_unit)
        return set_error_with (error, hint, orig,
                               _("put the larger units first, each unit once (like 1h30m)."));

      next_unit = i + 1;
      total += value * units[i].seconds;
      p++;
      while (*p == ' ')
        p++;
    }

  return check_range (orig, total, out_seconds, error);
}

/* "H:MM" or "HH:MM" or "HH:MM:SS", nothing else. */
static gboolean
parse_clock (const char *p, int *hour, int *minute, int *second)
{
  int fields[3] = { 0, 0, 0 };
  int n = 0;

  while (n < 3)
    {
      int len = 0;
      int v = 0;

      while (g_ascii_isdigit (p[len]) && len < 3)
        {
          v = v * 10 + (p[len] - '0');
          len++;
        }
      /* Hours may have one digit, minutes and seconds need two. */
      if (len == 0 || len > 2 || (n > 0 && len != 2))
        return FALSE;
      fields[n++] = v;
      p += len;
      if (*p == '\0')
        break;
      if (*p != ':')
        return FALSE;
      p++;
    }

  if (*p != '\0' || n < 2)
    return FALSE;
  if (fields[0] > 23 || fields[1] > 59 || fields[2] > 59)
    return FALSE;

  *hour = fields[0];
  *minute = fields[1];
  *second = fields[2];
  return TRUE;
}

/* A wall-clock time shown twice, in the hour repeated when summer time
 * ends: GLib takes the second one, the user means the first, an hour
 * sooner. (A time the clock skips, GLib moves to the end of the gap: the
 * first moment the clock passes it.) */
static GDateTime *
first_showing (GDateTime *target)
{
  g_autoptr (GDateTime) day_before = g_date_time_add_days (target, -1);
  GTimeSpan drop = g_date_time_get_utc_offset (day_before) - g_date_time_get_utc_offset (target);
  g_autoptr (GDateTime) earlier = NULL;

  if (drop <= 0)
    return g_date_time_ref (target);
  earlier = g_date_time_add (target, -drop);
  if (g_date_time_get_hour (earlier) == g_date_time_get_hour (target)
      && g_date_time_get_minute (earlier) == g_date_time_get_minute (target)
      && g_date_time_get_day_of_month (earlier) == g_date_time_get_day_of_month (target))
    return g_steal_pointer (&earlier);
  return g_date_time_ref (target);
}

static gboolean
parse_until (const char *orig, const char *p, GDateTime *now, guint32 *out_seconds, GError **error)
{
  g_autoptr (GDateTime) day = NULL;
  g_autoptr (GDateTime) target = NULL;
  GDateTime *first;
  gboolean tomorrow = FALSE;
  int hour, minute, second;
  GTimeSpan span;

  while (*p == ' ')
    p++;
  if (g_str_has_prefix (p, "tomorrow "))
    {
      tomorrow = TRUE;
      p += strlen ("tomorrow ");
    }
  else if (g_str_has_prefix (p, "today "))
    {
      p += strlen ("today ");
    }
  while (*p == ' ')
    p++;

  if (!parse_clock (p, &hour, &minute, &second))
    return set_error (error, orig, _("this is not a time of day (like 17:00 or 9:30)."));

  /* The next time the local clock shows that time: today if still ahead,
   * else tomorrow. Built from the calendar date so that a day with a DST
   * change still lands on the wall-clock time the user typed. */
  day = g_date_time_new (g_date_time_get_timezone (now), g_date_time_get_year (now),
                         g_date_time_get_month (now), g_date_time_get_day_of_month (now), 0, 0, 0);
  if (tomorrow)
    {
      GDateTime *next = g_date_time_add_days (day, 1);
      g_date_time_unref (day);
      day = next;
    }

  for (int attempt = 0; attempt < 2; attempt++)
    {
      g_clear_pointer (&target, g_date_time_unref);
      target = g_date_time_new (g_date_time_get_timezone (now), g_date_time_get_year (day),
                                g_date_time_get_month (day), g_date_time_get_day_of_month (day),
                                hour, minute, second);
      if (target == NULL)
        return set_error (error, orig, _("this is not a time of day (like 17:00 or 9:30)."));
      first = first_showing (target);
      if (g_date_time_compare (first, now) > 0)
        {
          g_date_time_unref (target);
          target = g_steal_pointer (&first);
        }
      g_clear_pointer (&first, g_date_time_unref);
      if (g_date_time_compare (target, now) > 0 || tomorrow)
        break;

      GDateTime *next = g_date_time_add_days (day, 1);
      g_date_time_unref (day);
      day = next;
    }

  span = g_date_time_difference (target, now);
  if (span <= 0)
    return set_error (error, orig, _("that time has already passed."));

  /* Round up so the state never ends before the time the user asked for. */
  return check_range (orig, (guint64)((span + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC), out_seconds,
                      error);
}

/**
 * pres_duration_parse:
 * @text: what the user typed
 * @now: (nullable): the current local time; %NULL for the real one
 * @out_seconds: (out): the duration, 1 s … %PRES_DURATION_MAX_SECONDS
 * @error: %PRES_ERROR_INVALID_ARGS with a message that shows the valid forms
 *
 * Returns: whether @text is a duration in range
 */
gboolean
pres_duration_parse (const char *text, GDateTime *now, guint32 *out_seconds, GError **error)
{
  g_autofree char *copy = NULL;
  g_autoptr (GDateTime) real_now = NULL;

  g_return_val_if_fail (out_seconds != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return set_error (error, "", _("this is not a duration."));

  copy = g_strstrip (g_strdup (text));
  if (*copy == '\0')
    return set_error (error, text, _("no duration given."));

  if (g_str_equal (copy, "until"))
    return set_error (error, copy, _("“until” needs a time of day (like “until 17:00”)."));

  if (g_str_has_prefix (copy, "until "))
    {
      if (now == NULL)
        now = real_now = g_date_time_new_now_local ();
      return parse_until (copy, copy + strlen ("until "), now, out_seconds, error);
    }

  return parse_relative (FORMS_HINT, copy, copy, out_seconds, error);
}

/**
 * pres_duration_parse_span:
 * @text: what the user typed
 * @out_seconds: (out): the duration, 1 s … %PRES_DURATION_MAX_SECONDS
 * @error: %PRES_ERROR_INVALID_ARGS with a message that shows the valid forms
 *
 * For settings that hold a length of time (the idle timeout): the same
 * relative forms as pres_duration_parse(), plus plain seconds, and no time
 * of day.
 *
 * Returns: whether @text is such a duration in range
 */
gboolean
pres_duration_parse_span (const char *text, guint32 *out_seconds, GError **error)
{
  g_autofree char *copy = NULL;
  guint64 value;

  g_return_val_if_fail (out_seconds != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return set_error_with (error, SPAN_HINT, "", _("this is not a duration."));
  copy = g_strstrip (g_strdup (text));
  if (*copy == '\0')
    return set_error_with (error, SPAN_HINT, text, _("no duration given."));
  if (g_ascii_string_to_unsigned (copy, 10, 0, G_MAXUINT64, &value, NULL))
    return check_range (copy, value, out_seconds, error);
  if (g_str_has_prefix (copy, "until"))
    return set_error_with (error, SPAN_HINT, copy,
                           _("this takes a length of time, not a time of day."));
  return parse_relative (SPAN_HINT, copy, copy, out_seconds, error);
}

/**
 * pres_duration_format:
 * @seconds: a duration
 *
 * Returns: (transfer full): @seconds in the same form the parser reads,
 *   largest units first: "1h30m", "45s", "2d3h", "0s"
 */
char *
pres_duration_format (guint64 seconds)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    {
      guint64 n = seconds / units[i].seconds;

      if (n == 0)
        continue;
      g_string_append_printf (out, "%" G_GUINT64_FORMAT "%c", n, units[i].unit);
      seconds -= n * units[i].seconds;
    }

  if (out->len == 0)
    g_string_append (out, "0s");
  return g_string_free (out, FALSE);
}
