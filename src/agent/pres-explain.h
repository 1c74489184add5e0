#pragma once

#include "pres-destinations.h"
#include "pres-model.h"
#include "sensors/pres-idle-source.h"

G_BEGIN_DECLS

/* Why the state is what it is, and what each of DESTINATIONS (while NULL,
 * the one LINK) was told and answered, in words for `presencectl explain`. */
char *pres_explain (PresModel        *model,
                    PresIdleSource   *idle_source,
                    PresLink         *link,
                    PresDestinations *destinations,
                    const char       *tray_hint,
                    gint64            now_us);

G_END_DECLS
