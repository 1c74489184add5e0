#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The agent refuses anything longer (SetBusy, SetAppearOffline). */
#define PRES_DURATION_MAX_SECONDS 31536000u

gboolean
pres_duration_parse (const char *text, GDateTime *now, guint32 *out_seconds, GError **error);

gboolean pres_duration_parse_span (const char *text, guint32 *out_seconds, GError **error);

char *pres_duration_format (guint64 seconds);

G_END_DECLS
