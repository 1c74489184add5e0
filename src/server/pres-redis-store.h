#pragma once

#include "pres-store.h"

G_BEGIN_DECLS

/* The Redis store: presence shared by several server nodes (see
 * src/server/README.md, "Redis store", for the keys and functions).
 *
 * It connects at once and keeps reconnecting; until it is connected (and
 * while Redis is unreachable) every call fails with
 * PRES_STORE_ERROR_UNAVAILABLE.  "member-event" and "state-changed" come
 * from the event streams in Redis, so every node emits each exactly once,
 * the node that wrote it included; a cursor of one node resumes on any
 * other of the same Redis. */

#define PRES_TYPE_REDIS_STORE (pres_redis_store_get_type ())
G_DECLARE_FINAL_TYPE (PresRedisStore, pres_redis_store, PRES, REDIS_STORE, GObject)

/* address: "redis://HOST[:PORT][/DB]" or "unix:/PATH". */
PresStore *
pres_redis_store_new (const char *address, guint ttl_ms, guint max_instances, GError **error);
/* Connected, functions loaded and the event streams being read: what a test
 * waits for before it starts. */
gboolean pres_redis_store_is_ready (PresRedisStore *self);

/* Calls func once every change written before this call (by any node) has
 * been emitted here; or with the store unavailable or disposed. */
void
pres_redis_store_sync (PresRedisStore *self, void (*func) (gpointer user_data), gpointer user_data);

G_END_DECLS
