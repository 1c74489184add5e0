#pragma once

#include "pres-idle-source.h"

G_BEGIN_DECLS

#define PRES_TYPE_IDLE_LOGIND (pres_idle_logind_get_type ())
G_DECLARE_FINAL_TYPE (PresIdleLogind, pres_idle_logind, PRES, IDLE_LOGIND, PresIdleSource)

/*
 * The last resort: our logind session's IdleHint, which the desktop sets
 * (gnome-session, swayidle's idlehint) after its own idle delay. Coarse: the
 * agent's timeout cannot make it any sooner, and while the hint is off the
 * idle time reads 0. Fails when there is no logind or no session of ours.
 */
void            pres_idle_logind_new_async  (GDBusConnection     *system_bus,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
PresIdleSource *pres_idle_logind_new_finish (GAsyncResult *result,
                                             GError      **error);

G_END_DECLS
