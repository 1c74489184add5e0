#include <string.h>

#include "fuzz.h"
#include "pres-auth.h"

/* presence-server's tokens file on any text: it loads or is refused with a
 * message naming the line, and a loaded file's tokens authenticate as
 * their participants. */

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (PresAuth) auth = NULL;
  g_auto (GStrv) lines = NULL;

  /* The file reader refuses a NUL; the text reader sees what precedes it. */
  auth = pres_auth_new_from_data (text, &error);
  if (auth == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (g_str_has_prefix (error->message, "tokens file line "));
      return 0;
    }
  g_assert_nonnull (pres_auth_get_always_online (auth));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) words = g_strsplit_set (g_strstrip (lines[i]), " \t", 2);
      g_autofree char *authorization = NULL;
      PresIdentity id;

      if (words[0] == NULL || words[0][0] == '\0' || words[0][0] == '#')
        continue;
      authorization = g_strconcat ("Bearer ", words[0], NULL);
      g_assert_true (pres_auth_check (auth, authorization, &id));
      g_assert_true (pres_participant_id_is_valid (id.participant_id));
    }
  return 0;
}
