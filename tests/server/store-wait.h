#pragma once

#include "pres-store.h"

G_BEGIN_DECLS

/* A store's calls, waited for: each iterates the default main context until
 * the store answers, and fails the test if it does not within 10 s.  The
 * same test reads the same whether the store answers at once or later.
 * Writes also wait until the store has emitted the changes they made
 * ("state-changed" of the Redis store comes from its event streams). */

void      store_wait_events (PresStore *store);

gboolean  store_wait_upsert (PresStore        *store,
                             const char       *participant_id,
                             const char       *instance_id,
                             PresHeartbeat    *heartbeat,
                             PresUpsertResult *result,
                             GError          **error);
gboolean  store_wait_leave (PresStore  *store,
                            const char *participant_id,
                            const char *instance_id,
                            const char *session);
/* A leave whose event says client_reason and data (either may be NULL). */
gboolean  store_wait_leave_saying (PresStore  *store,
                                   const char *participant_id,
                                   const char *instance_id,
                                   const char *session,
                                   const char *client_reason,
                                   const char *data);
/* pres_store_replay(): *changed_ids (of char *) and *events (of
 * PresMemberEvent *) are the caller's. */
gboolean  store_wait_replay (PresStore         *store,
                             const char        *cursor,
                             const char *const *participant_ids,
                             guint              n_ids,
                             GPtrArray        **changed_ids,
                             GPtrArray        **events);
PresState store_wait_state (PresStore  *store,
                            const char *participant_id);
GPtrArray *store_wait_list (PresStore  *store,
                            const char *participant_id);
GPtrArray *store_wait_members (PresStore         *store,
                               const char *const *participant_ids,
                               guint              n_ids);
PresStoreCounts store_wait_counts (PresStore *store);
/* *held_at_ms, *held_expires_at_ms: the conversation the pair holds after. */
void      store_wait_record_conversation (PresStore  *store,
                                          const char *a,
                                          const char *b,
                                          gint64      at_ms,
                                          gint64      expires_at_ms,
                                          gint64     *held_at_ms,
                                          gint64     *held_expires_at_ms);
/* The grant's deadline per id, 0 for none; g_free() it. */
gint64   *store_wait_grants (PresStore         *store,
                             const char        *viewer_id,
                             const char *const *participant_ids,
                             guint              n_ids);

G_END_DECLS
