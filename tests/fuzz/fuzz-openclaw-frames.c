#include <string.h>

#include "fuzz.h"
#include "pres-openclaw-errors.h"
#include "pres-openclaw-frames.h"

/* The OpenClaw gateway's frames on any bytes, as the session reads them:
 * the frame's shape, then a connect.challenge or hello-ok payload, or a
 * refusal's error object, whose words go to LastError. */

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  return 0;
}

static void
failure (JsonObject *error,
         gboolean    in_connect)
{
  g_autoptr (PresOpenclawFailure) failure = pres_openclaw_failure_new (error, in_connect);

  g_assert_nonnull (failure->code);
  g_assert_nonnull (failure->message);
  g_assert_true (g_utf8_validate (failure->message, -1, NULL));
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (PresOpenclawFrame) frame =
    pres_openclaw_frame_parse ((const char *) data, size, &error);
  g_autofree char *nonce = NULL;
  g_autofree char *device_token = NULL;
  gint64 ts = 0;
  guint tick_ms = 0;

  if (frame == NULL)
    {
      g_assert_nonnull (error);
      return 0;
    }
  if (frame->kind == PRES_OPENCLAW_FRAME_EVENT)
    {
      g_assert_nonnull (frame->event);
      if (frame->payload != NULL)
        {
          g_autoptr (GError) challenge_error = NULL;

          if (pres_openclaw_parse_challenge (frame->payload, &nonce, &ts, &challenge_error))
            g_assert_nonnull (nonce);
          else
            g_assert_nonnull (challenge_error);
        }
      return 0;
    }
  g_assert_nonnull (frame->id);
  if (frame->ok)
    {
      if (frame->payload != NULL)
        pres_openclaw_parse_hello (frame->payload, &device_token, &tick_ms);
      return 0;
    }
  g_assert_nonnull (frame->error);
  failure (frame->error, TRUE);
  failure (frame->error, FALSE);
  return 0;
}
