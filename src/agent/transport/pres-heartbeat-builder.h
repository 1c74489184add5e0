#pragma once

#include <gio/gio.h>

#include "pres-host-info.h"
#include "pres-model.h"
#include "pres-wire.h"
#include "sensors/pres-idle-source.h"

G_BEGIN_DECLS

/*
 * What a heartbeat says: the model's state and status text, the input idle
 * time when the idle source can tell, host details as the settings allow,
 * and this run's session with a sequence number that grows per message.
 */
typedef struct _PresHeartbeatBuilder PresHeartbeatBuilder;

PresHeartbeatBuilder *pres_heartbeat_builder_new (PresModel *model,
                                                  PresIdleSource *idle_source,
                                                  GSettings *settings,
                                                  PresHostInfo *host_info);
void pres_heartbeat_builder_free (PresHeartbeatBuilder *self);

const char *pres_heartbeat_builder_get_session (PresHeartbeatBuilder *self);

/* Finishes with NULL and no error when the state became offline meanwhile:
 * then a leave is due, not a heartbeat. */
void pres_heartbeat_builder_build_async (PresHeartbeatBuilder *self,
                                         const char *reason,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
PresHeartbeat *pres_heartbeat_builder_build_finish (GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresHeartbeatBuilder, pres_heartbeat_builder_free)

G_END_DECLS
