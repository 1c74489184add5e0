#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* presencectl's words for people: state names as a person says them and
 * lengths of time as a person reads them. Scripts read --json instead. */

const char *pres_ctl_state_words (const char *state);

char *pres_ctl_format_span (guint64 seconds);

char *pres_ctl_format_manual (const char *state, gint64 until_unix, GDateTime *now);

G_END_DECLS
