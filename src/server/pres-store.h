#pragma once

#include <glib-object.h>

#include "pres-member-event.h"
#include "pres-wire.h"

G_BEGIN_DECLS

/* Where presence lives.  The memory store is the default; a Redis store for
 * several server nodes implements the same interface.
 *
 * A store works on raw states: a participant's "raw" state is the union of
 * its live instances, where appear_offline is kept as such.  What a viewer
 * sees (appear_offline reads offline to everyone but the participant and
 * those it talked with recently, see pres_store_get_grants()) is applied by
 * pres_store_state_for_viewer_granted(), so every reader agrees.
 *
 * Union rules (protocol.md): no live instance → offline; any live instance in
 * appear_offline → appear_offline; else any busy → busy; else any online →
 * online; else idle.  An always-online participant reads online where the
 * union says offline or idle; busy and appear_offline still show. */

#define PRES_TYPE_STORE (pres_store_get_type ())
G_DECLARE_INTERFACE (PresStore, pres_store, PRES, STORE, GObject)

#define PRES_STORE_ERROR (pres_store_error_quark ())

typedef enum
{
  PRES_STORE_ERROR_TOO_MANY_INSTANCES, /* the participant's per-participant cap */
  PRES_STORE_ERROR_FULL,               /* the server-wide cap */
  PRES_STORE_ERROR_UNAVAILABLE,        /* the store cannot answer now (Redis down) */
} PresStoreError;

GQuark pres_store_error_quark (void);

#define PRES_STORE_MAX_INSTANCES_PER_PARTICIPANT 16

/* One instance as GET /v1/instances shows it. */
typedef struct
{
  char *participant_id;
  char *instance_id;
  PresHeartbeat *heartbeat;
  gint64 last_seen_ms;  /* wall clock, ms since the epoch */
  gint64 expires_at_ms; /* the member's deadline, on the same clock */
} PresInstanceInfo;

void pres_instance_info_free (PresInstanceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresInstanceInfo, pres_instance_info_free)

/* The outcome of a heartbeat: a stale one (older seq, or a session that was
 * replaced) changes nothing and is reported so, not as an error. */
typedef enum
{
  PRES_UPSERT_APPLIED,
  PRES_UPSERT_STALE,
} PresUpsertResult;

typedef struct
{
  guint instances;
  guint participants;
} PresStoreCounts;

/* Every call is answered exactly once, through its callback: with the result,
 * or with a GError (result arguments then unset).  The answer may come before
 * the call returns (the memory store always answers at once) or later from
 * the main loop (Redis); user_data must stay valid until then.  A store that
 * is disposed answers its pending calls with PRES_STORE_ERROR_UNAVAILABLE.
 * Arguments are copied before the call returns; errors and results are only
 * borrowed by the callback. */

/* state: the participant's raw state after the heartbeat. */
typedef void (*PresStoreUpsertFunc) (PresUpsertResult result,
                                     PresState        state,
                                     const GError    *error,
                                     gpointer         user_data);
typedef void (*PresStoreLeaveFunc) (gboolean      removed,
                                    const GError *error,
                                    gpointer      user_data);
/* states: one raw state per id asked, in order. */
typedef void (*PresStoreStatesFunc) (const PresState *states,
                                     const GError    *error,
                                     gpointer         user_data);
/* instances: of PresInstanceInfo, owned by the store; steal what you keep. */
typedef void (*PresStoreInstancesFunc) (GPtrArray    *instances,
                                        const GError *error,
                                        gpointer      user_data);
typedef void (*PresStoreCountsFunc) (const PresStoreCounts *counts,
                                     const GError          *error,
                                     gpointer               user_data);
/* at_ms, expires_at_ms: the conversation the pair now holds, which is the
 * one asked or a newer one recorded before it. */
typedef void (*PresStoreConversationFunc) (gint64        at_ms,
                                           gint64        expires_at_ms,
                                           const GError *error,
                                           gpointer      user_data);
/* What happened to the ids asked after a cursor (pres_store_replay()).
 * resumed FALSE: the cursor is not one the store can resume from (another
 * server run or Redis, malformed, or older than what the store keeps); the
 * arrays are then empty.  changed_ids: of the ids asked, each whose raw
 * state changed since, once; events: their member events since, oldest
 * first.  Both owned by the store. */
typedef void (*PresStoreReplayFunc) (gboolean      resumed,
                                     GPtrArray    *changed_ids,
                                     GPtrArray    *events,
                                     const GError *error,
                                     gpointer      user_data);
/* until_ms: one per id asked, in order: the deadline of the viewer's grant
 * (wall clock, ms since the epoch), 0 without one. */
typedef void (*PresStoreGrantsFunc) (const gint64 *until_ms,
                                     const GError *error,
                                     gpointer      user_data);

struct _PresStoreInterface
{
  GTypeInterface parent_iface;

  void (*upsert) (PresStore          *store,
                  const char         *participant_id,
                  const char         *instance_id,
                  PresHeartbeat      *heartbeat,
                  PresStoreUpsertFunc callback,
                  gpointer            user_data);
  void (*leave) (PresStore         *store,
                 const char        *participant_id,
                 const char        *instance_id,
                 const char        *session,
                 const char        *client_reason,
                 const char        *data,
                 PresStoreLeaveFunc callback,
                 gpointer           user_data);
  void (*get_states) (PresStore          *store,
                      const char *const  *participant_ids,
                      guint               n_ids,
                      PresStoreStatesFunc callback,
                      gpointer            user_data);
  void (*list_instances) (PresStore             *store,
                          const char            *participant_id,
                          PresStoreInstancesFunc callback,
                          gpointer               user_data);
  void (*list_members) (PresStore             *store,
                        const char *const     *participant_ids,
                        guint                  n_ids,
                        PresStoreInstancesFunc callback,
                        gpointer               user_data);
  void (*get_counts) (PresStore          *store,
                      PresStoreCountsFunc callback,
                      gpointer            user_data);
  void (*set_always_online) (PresStore  *store,
                             const char *participant_id);
  void (*record_conversation) (PresStore                *store,
                               const char               *a,
                               const char               *b,
                               gint64                    at_ms,
                               gint64                    expires_at_ms,
                               PresStoreConversationFunc callback,
                               gpointer                  user_data);
  void (*get_grants) (PresStore          *store,
                      const char         *viewer_id,
                      const char *const  *participant_ids,
                      guint               n_ids,
                      PresStoreGrantsFunc callback,
                      gpointer            user_data);
  char *(*get_cursor) (PresStore *store);
  gboolean (*cursor_covers) (PresStore             *store,
                             const char            *cursor,
                             const PresMemberEvent *event);
  void (*replay) (PresStore          *store,
                  const char         *cursor,
                  const char *const  *participant_ids,
                  guint               n_ids,
                  PresStoreReplayFunc callback,
                  gpointer            user_data);
};

/* Takes ownership of heartbeat.  instance_id must be normalized already.
 * heartbeat->ttl_ms, unless PRES_HEARTBEAT_TTL_ABSENT (the store's TTL), is
 * this member's own: it lives until its last heartbeat plus that. */
void pres_store_upsert (PresStore          *store,
                        const char         *participant_id,
                        const char         *instance_id,
                        PresHeartbeat      *heartbeat,
                        PresStoreUpsertFunc callback,
                        gpointer            user_data);
/* removed: TRUE when the instance was removed; a leave for another session
 * than the live one (a late leave) or for an unknown instance changes
 * nothing and says nothing.  The member's leave event says "left" with
 * client_reason and data (compact JSON, instead of the member's last data)
 * when given. */
void pres_store_leave (PresStore         *store,
                       const char        *participant_id,
                       const char        *instance_id,
                       const char        *session,
                       const char        *client_reason,
                       const char        *data,
                       PresStoreLeaveFunc callback,
                       gpointer           user_data);
void pres_store_get_states (PresStore          *store,
                            const char *const  *participant_ids,
                            guint               n_ids,
                            PresStoreStatesFunc callback,
                            gpointer            user_data);
/* All participants' instances when participant_id is NULL. */
void pres_store_list_instances (PresStore             *store,
                                const char            *participant_id,
                                PresStoreInstancesFunc callback,
                                gpointer               user_data);
/* The live members of each participant asked, participant by participant
 * in the order asked. */
void pres_store_list_members (PresStore             *store,
                              const char *const     *participant_ids,
                              guint                  n_ids,
                              PresStoreInstancesFunc callback,
                              gpointer               user_data);
void pres_store_get_counts (PresStore          *store,
                            PresStoreCountsFunc callback,
                            gpointer            user_data);
/* Configuration from the tokens file, before serving. */
void pres_store_set_always_online (PresStore  *store,
                                   const char *participant_id);

/* The appear_offline exception: A and B talked at at_ms (wall clock, ms
 * since the epoch), so each sees the other's real state until expires_at_ms.
 * Symmetric; a pair keeps its newest conversation, so an older one recorded
 * later changes nothing.  The caller checks a != b and the times. */
void pres_store_record_conversation (PresStore                *store,
                                     const char               *a,
                                     const char               *b,
                                     gint64                    at_ms,
                                     gint64                    expires_at_ms,
                                     PresStoreConversationFunc callback,
                                     gpointer                  user_data);
/* until_ms[i] > 0: viewer_id and participant_ids[i] hold a conversation
 * whose deadline (until_ms[i]) has not passed, so the viewer sees through
 * its appear_offline until then. */
void pres_store_get_grants (PresStore          *store,
                            const char         *viewer_id,
                            const char *const  *participant_ids,
                            guint               n_ids,
                            PresStoreGrantsFunc callback,
                            gpointer            user_data);

/* The position after every event the store has emitted so far ("state-
 * changed" and "member-event"): opaque, for pres_store_replay(). */
char *pres_store_get_cursor (PresStore *store);
/* The state changes and member events of participant_ids after cursor, up
 * to the position pres_store_get_cursor() says when this is called: what
 * comes later arrives through the signals, so a caller that listens from
 * before this call loses and repeats nothing.  Works with a cursor from
 * another node of the same Redis. */
void  pres_store_replay (PresStore          *store,
                         const char         *cursor,
                         const char *const  *participant_ids,
                         guint               n_ids,
                         PresStoreReplayFunc callback,
                         gpointer            user_data);

/* Whether event, as this store emitted it, is at or before cursor: a
 * client holding that cursor has had it.  A node that reads Redis behind
 * the node a cursor came from emits such events after the replay; they
 * are not sent twice. */
gboolean pres_store_cursor_covers (PresStore             *store,
                                   const char            *cursor,
                                   const PresMemberEvent *event);

/* granted: the viewer holds a live conversation with the participant. */
PresState  pres_store_state_for_viewer_granted (PresState   raw,
                                                const char *participant_id,
                                                const char *viewer_id,
                                                gboolean    granted);
PresState  pres_store_state_for_viewer (PresState   raw,
                                        const char *participant_id,
                                        const char *viewer_id);
PresState  pres_store_union (const PresState *states,
                             guint            n_states,
                             gboolean         always_online);

/* For implementations: emits "state-changed" (participant_id, old, new raw
 * states) and logs the change at debug level. */
void       pres_store_emit_state_changed (PresStore  *store,
                                          const char *participant_id,
                                          PresState   old_state,
                                          PresState   new_state,
                                          const char *why);

/* For implementations: emits "member-event" (a PresMemberEvent *, borrowed:
 * ref it to keep it).  A store emits a member's event before the
 * participant's "state-changed" that it causes. */
void       pres_store_emit_member_event (PresStore       *store,
                                         PresMemberEvent *event);

/* For implementations: emits "granted" (viewer_id, participant_id, until_ms)
 * when a conversation recorded through any node gives viewer_id a grant on
 * participant_id, or a later one; once per side. */
void       pres_store_emit_granted (PresStore  *store,
                                    const char *viewer_id,
                                    const char *participant_id,
                                    gint64      until_ms);

/* For implementations: emits "reset".  A store that lost what it held (a
 * flushed or emptied Redis) emits it once every live instance has had a TTL
 * to beat again: no event will say that those who did not come back are
 * offline, so whoever shows states reads them again. */
void       pres_store_emit_reset (PresStore *store);

G_END_DECLS
