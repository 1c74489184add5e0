#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What one stream subscriber may see through: the participants whose
 * appear_offline it sees through by a recent conversation, each until its
 * grant's deadline (wall clock, ms since the epoch, as the store gives it).
 * A grant holds only before its deadline; at it, one timer calls `ended`
 * for it, so the subscriber's view can change then without any event. */

typedef struct _PresStreamGrants PresStreamGrants;

typedef void (*PresStreamGrantEndedFunc) (const char *participant_id, gpointer user_data);

PresStreamGrants *pres_stream_grants_new (PresStreamGrantEndedFunc ended, gpointer user_data);
void pres_stream_grants_free (PresStreamGrants *self);

/* Replaces every grant: until_ms[i] for ids[i], 0 for none. */
void pres_stream_grants_set (PresStreamGrants *self,
                             const char *const *ids,
                             const gint64 *until_ms,
                             guint n_ids);
/* A new grant, or a later deadline for one held. */
void pres_stream_grants_add (PresStreamGrants *self, const char *participant_id, gint64 until_ms);
void pres_stream_grants_clear (PresStreamGrants *self);
gboolean pres_stream_grants_hold (PresStreamGrants *self, const char *participant_id);

G_END_DECLS
