#pragma once

#include "pres-store.h"

G_BEGIN_DECLS

#define PRES_TYPE_MEMORY_STORE (pres_memory_store_get_type ())
G_DECLARE_FINAL_TYPE (PresMemoryStore, pres_memory_store, PRES, MEMORY_STORE, GObject)

/* ttl_ms: how long an instance stays live after its last heartbeat;
 * max_instances: the server-wide cap on live instances. */
PresStore *pres_memory_store_new (guint ttl_ms,
                                  guint max_instances);

G_END_DECLS
