#include <glib/gstdio.h>
#include <string.h>

#include "pres-auth.h"
#include "pres-error.h"
#include "pres-event-log.h"
#include "pres-rate-limit.h"

static void
test_rate_limit (void)
{
  g_autoptr (PresRateLimit) limit = pres_rate_limit_new (2.0, 3, 100);
  gint64 now = 1000000;
  guint retry_after = 0;

  for (int i = 0; i < 3; i++)
    g_assert_true (pres_rate_limit_take (limit, "tok", now, &retry_after));
  g_assert_false (pres_rate_limit_take (limit, "tok", now, &retry_after));
  g_assert_cmpuint (retry_after, ==, 1);
  /* Another caller has its own bucket. */
  g_assert_true (pres_rate_limit_take (limit, "other", now, &retry_after));
  /* Two tokens per second: half a second buys one request. */
  g_assert_true (pres_rate_limit_take (limit, "tok", now + G_USEC_PER_SEC / 2, &retry_after));
  g_assert_false (pres_rate_limit_take (limit, "tok", now + G_USEC_PER_SEC / 2, &retry_after));
  g_assert_cmpuint (pres_rate_limit_get_n_keys (limit), ==, 2);
}

static void
test_rate_limit_bounded_keys (void)
{
  g_autoptr (PresRateLimit) limit = pres_rate_limit_new (1.0, 1, 10);
  guint retry_after;

  for (int i = 0; i < 100; i++)
    {
      g_autofree char *key = g_strdup_printf ("k%d", i);

      /* Each caller's bucket is full again a second later. */
      g_assert_true (pres_rate_limit_take (limit, key, (gint64) i * G_USEC_PER_SEC, &retry_after));
    }
  g_assert_cmpuint (pres_rate_limit_get_n_keys (limit), <=, 10);
}

static void
test_rate_limit_forgets_full_buckets (void)
{
  /* Two per second with bursts of four: full again 2 s after emptying. */
  g_autoptr (PresRateLimit) limit = pres_rate_limit_new (2.0, 4, 1000);
  gint64 start = 5 * G_USEC_PER_SEC;
  guint retry_after;

  for (int i = 0; i < 4; i++)
    g_assert_true (pres_rate_limit_take (limit, "busy", start, &retry_after));
  g_assert_false (pres_rate_limit_take (limit, "busy", start, &retry_after));
  /* Not full yet: kept, and still limiting. */
  g_assert_false (
    pres_rate_limit_take (limit, "busy", start + G_USEC_PER_SEC / 4, &retry_after));
  g_assert_true (pres_rate_limit_take (limit, "quiet", start + G_USEC_PER_SEC, &retry_after));
  g_assert_cmpuint (pres_rate_limit_get_n_keys (limit), ==, 2);
  /* "busy" untouched for a whole refill is forgotten; "quiet" not yet. */
  g_assert_true (
    pres_rate_limit_take (limit, "new", start + 5 * G_USEC_PER_SEC / 2, &retry_after));
  g_assert_cmpuint (pres_rate_limit_get_n_keys (limit), ==, 2);
  /* A forgotten caller starts over with a full burst. */
  for (int i = 0; i < 4; i++)
    g_assert_true (
      pres_rate_limit_take (limit, "busy", start + 5 * G_USEC_PER_SEC / 2, &retry_after));
  g_assert_false (
    pres_rate_limit_take (limit, "busy", start + 5 * G_USEC_PER_SEC / 2, &retry_after));
}

static void
test_rate_limit_all_busy (void)
{
  g_autoptr (PresRateLimit) limit = pres_rate_limit_new (1.0, 2, 10);
  guint retry_after;

  /* Eleven callers within one refill: the table is dropped, not grown. */
  g_test_expect_message ("pres-server", G_LOG_LEVEL_WARNING, "*10 callers are all busy*");
  for (int i = 0; i < 11; i++)
    {
      g_autofree char *key = g_strdup_printf ("k%d", i);

      g_assert_true (pres_rate_limit_take (limit, key, G_USEC_PER_SEC, &retry_after));
    }
  g_test_assert_expected_messages ();
  g_assert_cmpuint (pres_rate_limit_get_n_keys (limit), ==, 1);
}

static void
test_auth_tokens (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PresAuth) auth = pres_auth_new_from_data ("# people\n"
                                                       "tok-lena lena\n"
                                                       "\n"
                                                       "  tok-bot   claude-bot  always-online\n"
                                                       "tok-ops ops admin\n",
                                                       &error);
  PresIdentity id;
  GPtrArray *always;

  g_assert_no_error (error);
  g_assert_false (pres_auth_is_dev (auth));
  g_assert_true (pres_auth_check (auth, "Bearer tok-lena", &id));
  g_assert_cmpstr (id.participant_id, ==, "lena");
  g_assert_false (id.always_online);
  g_assert_false (id.admin);
  g_assert_true (pres_auth_check (auth, "bearer tok-bot", &id));
  g_assert_cmpstr (id.participant_id, ==, "claude-bot");
  g_assert_true (id.always_online);
  g_assert_true (pres_auth_check (auth, "Bearer tok-ops", &id));
  g_assert_true (id.admin);

  g_assert_false (pres_auth_check (auth, NULL, &id));
  g_assert_false (pres_auth_check (auth, "Bearer", &id));
  g_assert_false (pres_auth_check (auth, "Bearer lena", &id));
  g_assert_false (pres_auth_check (auth, "Basic dG9rLWxlbmE=", &id));
  g_assert_false (pres_auth_check (auth, "Bearer tok-lena2", &id));

  always = pres_auth_get_always_online (auth);
  g_assert_cmpuint (always->len, ==, 1);
  g_assert_cmpstr (always->pdata[0], ==, "claude-bot");
}

static void
test_auth_bad_files (void)
{
  static const char *const bad[] = {
    "lonely-token\n",
    "tok lena sometimes-online\n",
    "tok bad/participant\n",
    "tok lena\ntok bob\n",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (PresAuth) auth = pres_auth_new_from_data (bad[i], &error);

      g_assert_null (auth);
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, "tokens file line "));
    }
}

/* A tokens file that others may read is refused, with the fix in the
 * message; the same file made private is read. */
static void
test_auth_file_modes (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pres-auth-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "tokens", NULL);
  const guint open_modes[] = { 0644, 0640, 0604, 0620, 0602, 0660 };
  g_autoptr (PresAuth) auth = NULL;
  PresIdentity id;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, "tok-lena lena\n", -1, &error));
  for (guint i = 0; i < G_N_ELEMENTS (open_modes); i++)
    {
      g_autoptr (GError) refused = NULL;

      g_assert_cmpint (g_chmod (path, open_modes[i]), ==, 0);
      g_assert_null (pres_auth_new_from_file (path, &refused));
      g_assert_error (refused, PRES_ERROR, PRES_ERROR_INVALID_ARGS);
      g_assert_nonnull (strstr (refused->message, "too open"));
      g_assert_nonnull (strstr (refused->message, "chmod 600"));
    }
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  auth = pres_auth_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (pres_auth_check (auth, "Bearer tok-lena", &id));
  g_assert_cmpstr (id.participant_id, ==, "lena");
  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_auth_dev (void)
{
  g_autoptr (PresAuth) auth = pres_auth_new_dev ();
  PresIdentity id;

  g_assert_true (pres_auth_is_dev (auth));
  g_assert_true (pres_auth_check (auth, "Bearer anyone", &id));
  g_assert_cmpstr (id.participant_id, ==, "anyone");
  g_assert_false (id.admin);
  g_assert_false (pres_auth_check (auth, "Bearer not/valid", &id));
  g_assert_false (pres_auth_check (auth, NULL, &id));
}

static void
replay_cb (const char      *participant_id,
           PresMemberEvent *event,
           gpointer         user_data)
{
  if (event != NULL)
    g_string_append_printf (user_data, "%s/%s %s;", participant_id, event->instance_id,
                            pres_member_action_to_string (event->action));
  else
    g_string_append_printf (user_data, "%s;", participant_id);
}

static void
test_event_log (void)
{
  g_autoptr (PresEventLog) log = pres_event_log_new (4);
  g_autoptr (GString) seen = g_string_new (NULL);
  g_autoptr (PresMemberEvent) enter =
    pres_member_event_new (PRES_MEMBER_ENTER, 0, "b", "phone", PRES_STATE_BUSY, PRES_STATE_BUSY,
                           "{\"n\":1}", NULL, 1);
  g_autofree char *c0 = pres_event_log_get_cursor (log);
  g_autofree char *c1 = NULL;
  g_autofree char *bad_epoch = NULL;

  pres_event_log_append_change (log, "a");
  c1 = pres_event_log_get_cursor (log);
  pres_event_log_append_member (log, enter);
  pres_event_log_append_change (log, "a");

  g_assert_true (pres_event_log_replay (log, c1, replay_cb, seen));
  g_assert_cmpstr (seen->str, ==, "b/phone enter;a;");
  g_string_truncate (seen, 0);
  g_assert_true (pres_event_log_replay (log, c0, replay_cb, seen));
  g_assert_cmpstr (seen->str, ==, "a;b/phone enter;a;");

  /* Two more push the first event out of the ring of 4: c0 is too old. */
  pres_event_log_append_change (log, "c");
  pres_event_log_append_change (log, "d");
  g_string_truncate (seen, 0);
  g_assert_false (pres_event_log_replay (log, c0, replay_cb, seen));
  g_assert_true (pres_event_log_replay (log, c1, replay_cb, seen));
  g_assert_cmpstr (seen->str, ==, "b/phone enter;a;c;d;");
  /* The ring keeps its own reference. */
  g_assert_cmpint (enter->refs, ==, 2);

  bad_epoch = g_strdup (c1);
  bad_epoch[0] = bad_epoch[0] == '0' ? '1' : '0';
  g_assert_false (pres_event_log_replay (log, bad_epoch, replay_cb, seen));
  g_assert_false (pres_event_log_replay (log, "garbage", replay_cb, seen));
  g_assert_false (pres_event_log_replay (log, "", replay_cb, seen));
  g_assert_false (pres_event_log_replay (log, NULL, replay_cb, seen));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/limits/rate-limit", test_rate_limit);
  g_test_add_func ("/limits/rate-limit-bounded-keys", test_rate_limit_bounded_keys);
  g_test_add_func ("/limits/rate-limit-forgets-full", test_rate_limit_forgets_full_buckets);
  g_test_add_func ("/limits/rate-limit-all-busy", test_rate_limit_all_busy);
  g_test_add_func ("/auth/tokens", test_auth_tokens);
  g_test_add_func ("/auth/bad-files", test_auth_bad_files);
  g_test_add_func ("/auth/file-modes", test_auth_file_modes);
  g_test_add_func ("/auth/dev", test_auth_dev);
  g_test_add_func ("/event-log/replay", test_event_log);

  return g_test_run ();
}
