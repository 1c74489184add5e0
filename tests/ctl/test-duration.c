/* Unit tests of presencectl's duration parser: every form, every bad input,
 * "until" against a pinned clock. */
#include <glib.h>

#include "pres-error.h"
#include "pres-duration.h"

static GDateTime *
utc_at (int year,
        int month,
        int day,
        int hour,
        int minute,
        double seconds)
{
  return g_date_time_new_utc (year, month, day, hour, minute, seconds);
}

static void
assert_parses (const char *text,
               GDateTime  *now,
               guint32     expected)
{
  g_autoptr (GError) error = NULL;
  guint32 seconds = 12345;

  g_autofree char *shown = g_strescape (text, NULL);

  g_test_message ("parsing \"%s\"", shown);
  g_assert_true (pres_duration_parse (text, now, &seconds, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (seconds, ==, expected);
}

static void
assert_refused (const char *text,
                GDateTime  *now)
{
  g_autoptr (GError) error = NULL;
  guint32 seconds = 12345;

  g_autofree char *shown = g_strescape (text, NULL);

  g_test_message ("refusing \"%s\"", shown);
  g_assert_false (pres_duration_parse (text, now, &seconds, &error));
  g_assert_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS);
  /* Untouched on failure, and the message is not empty. */
  g_assert_cmpuint (seconds, ==, 12345);
  g_assert_cmpstr (error->message, !=, "");
}

static void
test_relative (void)
{
  assert_parses ("45s", NULL, 45);
  assert_parses ("1s", NULL, 1);
  assert_parses ("30m", NULL, 1800);
  assert_parses ("2h", NULL, 7200);
  assert_parses ("1h30m", NULL, 5400);
  assert_parses ("1d", NULL, 86400);
  assert_parses ("1d2h3m4s", NULL, 93784);
  assert_parses ("90m", NULL, 5400);
  assert_parses ("1h 30m", NULL, 5400);
  assert_parses ("  2h\t", NULL, 7200);
  assert_parses ("007m", NULL, 420);
  assert_parses ("365d", NULL, PRES_DURATION_MAX_SECONDS);
  assert_parses ("31536000s", NULL, PRES_DURATION_MAX_SECONDS);
  assert_parses ("364d23h59m60s", NULL, PRES_DURATION_MAX_SECONDS);
  /* A trailing number takes the next smaller unit, as people write it. */
  assert_parses ("1h30", NULL, 5400);
  assert_parses ("1h 30", NULL, 5400);
  assert_parses ("2m30", NULL, 150);
  assert_parses ("1d12", NULL, 129600);
}

static void
test_relative_bad (void)
{
  const char *bad[] = {
    "", "   ", "garbage", "5", "5x", "m", "h1", "1.5h", "1,5h", "1H", "1 h", "+5m", "5m-",
    "30m1h", "1h1h", "1s1m", "1s30", "1h30mm", "1h30m15m", "1w", "0x10s", "½h", "five minutes",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_refused (bad[i], NULL);
}

static void
test_relative_range (void)
{
  g_autoptr (GError) error = NULL;
  guint32 seconds = 0;

  /* Negative, zero, over a year, and numbers that would overflow. */
  assert_refused ("-5m", NULL);
  assert_refused ("-1s", NULL);
  assert_refused ("0s", NULL);
  assert_refused ("0h0m0s", NULL);
  assert_refused ("366d", NULL);
  assert_refused ("31536001s", NULL);
  assert_refused ("365d1s", NULL);
  assert_refused ("99999999999999999999999999s", NULL);
  assert_refused ("18446744073709551616s", NULL);
  assert_refused ("4294967296s", NULL);
  assert_refused ("9999999999d9999999999h9999999999m9999999999s", NULL);

  g_assert_false (pres_duration_parse ("366d", NULL, &seconds, &error));
  g_assert_nonnull (strstr (error->message, "366d"));
  g_assert_nonnull (strstr (error->message, "31536000"));
}

static void
test_span (void)
{
  const char *bad[] = { "", "abc", "5x", "0", "0s", "until 17:00", "until", "-5m", "366d" };
  guint32 seconds = 0;

  g_assert_true (pres_duration_parse_span ("300", &seconds, NULL));
  g_assert_cmpuint (seconds, ==, 300);
  g_assert_true (pres_duration_parse_span ("10m", &seconds, NULL));
  g_assert_cmpuint (seconds, ==, 600);
  g_assert_true (pres_duration_parse_span (" 1h30 ", &seconds, NULL));
  g_assert_cmpuint (seconds, ==, 5400);

  /* The hint names what a span takes, never a time of day. */
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (pres_duration_parse_span (bad[i], &seconds, &error));
      g_assert_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS);
      g_assert_null (strstr (error->message, "17:00”."));
      if (strstr (bad[i], "until") == NULL && strstr (error->message, "year") == NULL
          && strstr (error->message, "one second") == NULL)
        g_assert_nonnull (strstr (error->message, "seconds (300)"));
    }
}

static void
test_invalid_utf8 (void)
{
  assert_refused ("\xff\xfe" "5m", NULL);
  assert_refused ("5m\xc3", NULL);
}

static void
test_until (void)
{
  g_autoptr (GDateTime) afternoon = utc_at (2026, 11, 23, 16, 30, 0);
  g_autoptr (GDateTime) at_five = utc_at (2026, 11, 23, 17, 0, 0);
  g_autoptr (GDateTime) evening = utc_at (2026, 11, 23, 17, 30, 0);
  g_autoptr (GDateTime) almost = utc_at (2026, 11, 23, 16, 59, 59.25);
  g_autoptr (GDateTime) new_year = utc_at (2026, 12, 31, 23, 0, 0);

  /* Still ahead today. */
  assert_parses ("until 17:00", afternoon, 1800);
  assert_parses ("until 16:31", afternoon, 60);
  assert_parses ("until 23:59:59", afternoon, 7 * 3600 + 29 * 60 + 59);
  assert_parses ("until today 17:00", afternoon, 1800);
  assert_parses ("  until   17:00 ", afternoon, 1800);
  /* Passed or now: the same time tomorrow. */
  assert_parses ("until 17:00", at_five, 86400);
  assert_parses ("until 17:00", evening, 23 * 3600 + 1800);
  assert_parses ("until 9:00", afternoon, 16 * 3600 + 1800);
  assert_parses ("until 09:00", afternoon, 16 * 3600 + 1800);
  assert_parses ("until 0:00", afternoon, 7 * 3600 + 1800);
  /* Rounded up: never ends before the time asked for. */
  assert_parses ("until 17:00", almost, 1);
  /* Across the end of a month and a year. */
  assert_parses ("until 01:00", new_year, 7200);
  /* "tomorrow" even when today's would still be ahead. */
  assert_parses ("until tomorrow 09:00", afternoon, 16 * 3600 + 1800);
  assert_parses ("until tomorrow 17:00", afternoon, 24 * 3600 + 1800);
  assert_parses ("until tomorrow 16:30", afternoon, 86400);
}

static void
test_until_local_zone (void)
{
  g_autoptr (GTimeZone) berlin = g_time_zone_new_identifier ("Europe/Berlin");
  g_autoptr (GTimeZone) plus5 = g_time_zone_new_identifier ("+05:00");
  g_autoptr (GDateTime) before_dst = NULL;
  g_autoptr (GDateTime) noon5 = NULL;

  /* The time is the local clock's, not UTC's. */
  noon5 = g_date_time_new (plus5, 2026, 6, 1, 12, 0, 0);
  assert_parses ("until 13:00", noon5, 3600);
  assert_parses ("until 11:00", noon5, 23 * 3600);

  if (berlin == NULL)
    {
      g_test_skip ("no tzdata for Europe/Berlin");
      return;
    }
  /* Clocks go forward on 2026-03-29 at 02:00: that day has 23 hours. */
  before_dst = g_date_time_new (berlin, 2026, 3, 28, 12, 0, 0);
  assert_parses ("until tomorrow 12:00", before_dst, 23 * 3600);
  assert_parses ("until 11:00", before_dst, 22 * 3600);
}

static void
test_until_dst_hours (void)
{
  g_autoptr (GTimeZone) berlin = g_time_zone_new_identifier ("Europe/Berlin");
  g_autoptr (GDateTime) before_gap = NULL;
  g_autoptr (GDateTime) before_repeat = NULL;
  g_autoptr (GDateTime) inside_repeat = NULL;

  if (berlin == NULL)
    {
      g_test_skip ("no tzdata for Europe/Berlin");
      return;
    }
  /* 2027-03-28: 02:00 becomes 03:00. A time never shown ends when the
   * clock passes it. */
  before_gap = g_date_time_new (berlin, 2027, 3, 28, 1, 30, 0);
  assert_parses ("until 02:30", before_gap, 30 * 60);
  assert_parses ("until 03:30", before_gap, 3600);
  /* 2027-10-31: 03:00 becomes 02:00 again. A time shown twice is the
   * first showing; once that has passed, the second. */
  before_repeat = g_date_time_new (berlin, 2027, 10, 31, 1, 30, 0);
  assert_parses ("until 02:30", before_repeat, 3600);
  assert_parses ("until 03:30", before_repeat, 3 * 3600);
  inside_repeat = g_date_time_add_minutes (before_repeat, 75); /* 02:45 summer time */
  assert_parses ("until 02:30", inside_repeat, 45 * 60);
}

static void
test_until_bad (void)
{
  g_autoptr (GDateTime) now = utc_at (2026, 11, 23, 16, 30, 0);
  const char *bad[] = {
    "until", "until ", "until 17", "until 24:00", "until 17:60", "until 7:5", "until 17:00:60",
    "until 17:0", "until 117:00", "until -1:00", "until 17:00pm", "until noon",
    "until yesterday 17:00", "until tomorrow", "until 17:00 tomorrow", "until 17:00:00:00",
    "until 1:2:3", "until :30", "until 17:", "untill 17:00", "Until 17:00",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    assert_refused (bad[i], now);
}

static void
test_until_real_clock (void)
{
  g_autoptr (GError) error = NULL;
  guint32 seconds = 0;

  /* Without an injected clock: some time within the next day. */
  g_assert_true (pres_duration_parse ("until 12:00", NULL, &seconds, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (seconds, >=, 1);
  g_assert_cmpuint (seconds, <=, 86400 + 3600);
}

static void
test_format (void)
{
  struct
  {
    guint64 seconds;
    const char *text;
  } cases[] = {
    { 0, "0s" },       { 1, "1s" },         { 45, "45s" },           { 60, "1m" },
    { 5400, "1h30m" }, { 7200, "2h" },      { 86400, "1d" },         { 90061, "1d1h1m1s" },
    { 3601, "1h1s" },  { 31536000, "365d" }, { 172800 + 59, "2d59s" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = pres_duration_format (cases[i].seconds);
      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_round_trip (void)
{
  /* What the formatter prints, the parser reads back to the same value. */
  for (guint64 n = 1; n <= PRES_DURATION_MAX_SECONDS; n = n * 3 + 7)
    {
      g_autofree char *text = pres_duration_format (n);
      assert_parses (text, NULL, (guint32) n);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ctl/duration/relative", test_relative);
  g_test_add_func ("/ctl/duration/relative-bad", test_relative_bad);
  g_test_add_func ("/ctl/duration/relative-range", test_relative_range);
  g_test_add_func ("/ctl/duration/span", test_span);
  g_test_add_func ("/ctl/duration/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/ctl/duration/until", test_until);
  g_test_add_func ("/ctl/duration/until-local-zone", test_until_local_zone);
  g_test_add_func ("/ctl/duration/until-dst-hours", test_until_dst_hours);
  g_test_add_func ("/ctl/duration/until-bad", test_until_bad);
  g_test_add_func ("/ctl/duration/until-real-clock", test_until_real_clock);
  g_test_add_func ("/ctl/duration/format", test_format);
  g_test_add_func ("/ctl/duration/round-trip", test_round_trip);

  return g_test_run ();
}
