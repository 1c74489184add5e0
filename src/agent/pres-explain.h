#pragma once

#include "pres-link.h"
#include "pres-model.h"
#include "sensors/pres-idle-source.h"

G_BEGIN_DECLS

char *pres_explain (PresModel      *model,
                    PresIdleSource *idle_source,
                    PresLink       *link,
                    const char     *tray_hint,
                    gint64          now_us);

G_END_DECLS
