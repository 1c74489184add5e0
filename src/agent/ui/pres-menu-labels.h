#pragma once

#include "pres-link.h"
#include "pres-state.h"

G_BEGIN_DECLS

/* "Busy until 17:00", "… until tomorrow 09:00", "Appearing offline";
 * STATE is busy or appear_offline, UNTIL_S 0 for no expiry. Sets
 * *changes_at_midnight when the words depend on today's date. */
char *pres_menu_label_manual (PresState state,
                              gint64    until_s,
                              gint64    now_us,
                              gboolean *changes_at_midnight);

/* "Online since 14:02" in the locale's time format, with the date when it
 * was not today; sets *changes_at_midnight. */
char *pres_menu_label_online (gint64    since_us,
                              gint64    now_us,
                              gboolean *changes_at_midnight);

/* "Idle for 12 min"; *next_ms says when the count of minutes moves on. */
char *pres_menu_label_idle (gint64 since_us,
                            gint64 now_us,
                            guint *next_ms);

/* "Connected to host", "Reconnecting to host…", "Not signed in — …". */
char *pres_menu_label_connection (PresLink *link);

/* "Others see you as busy (another device)" when the server's public state,
 * as others read it, differs from what this device alone would show; NULL
 * when it agrees or is unknown. */
char *pres_menu_label_others (PresState   own,
                              const char *public_state);

/* org.presence.Agent-STATE, or -disconnected while others cannot see it. */
const char *pres_menu_icon_name (PresState      state,
                                 PresConnection connection);

G_END_DECLS
