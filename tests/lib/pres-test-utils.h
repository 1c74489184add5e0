#pragma once

#include <glib.h>

G_BEGIN_DECLS

static inline gboolean
pres_test_set_flag (gpointer flag)
{
  *(gboolean *) flag = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the main loop until cond holds; fails the test after 5 s. */
#define PRES_WAIT_UNTIL(cond) \
  G_STMT_START \
  { \
    gboolean pres_timed_out_ = FALSE; \
    guint pres_timeout_id_ = g_timeout_add_seconds (5, pres_test_set_flag, &pres_timed_out_); \
    while (!(cond) && !pres_timed_out_) \
      g_main_context_iteration (NULL, TRUE); \
    if (!(cond)) \
      g_error ("Timed out waiting for: %s", #cond); \
    if (!pres_timed_out_) \
      g_source_remove (pres_timeout_id_); \
  } \
  G_STMT_END

G_END_DECLS
