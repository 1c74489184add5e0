#pragma once

#include "pres-store.h"

G_BEGIN_DECLS

/* GET /v1/members: who is here.  A page of the live members of the
 * participants asked, as one viewer may see them: the members of a
 * participant in appear_offline are hidden from everyone but that
 * participant and those granted to see through it by a recent conversation
 * (the visibility of state reads).  Members come participant
 * by participant in the order asked, each participant's by instance id;
 * a page ends with "next" ("<participant>/<instance>", the last one given)
 * when more follow. */

#define PRES_MEMBER_PAGE_DEFAULT_LIMIT 100
#define PRES_MEMBER_PAGE_MAX_LIMIT 500

typedef struct
{
  const char *const *ids; /* unique */
  guint n_ids;
  const char *viewer_id;
  GHashTable *granted; /* participant ids the viewer sees through, or NULL */
  const char *after; /* a previous page's "next", or NULL */
  guint limit;
} PresMemberPageQuery;

/* FALSE when after is not "<participant>/<instance>" of a participant asked. */
gboolean pres_member_page_after_is_valid (const PresMemberPageQuery *query);

/* The participants of infos (each once) whose members viewer_id may not
 * see without a grant: any live member in appear_offline hides them all
 * (the union's rule), unless the viewer is the participant.  The ids are
 * borrowed from infos. */
GPtrArray *pres_member_page_hidden (const char *viewer_id, GPtrArray *infos);

/* One member as reads and the stream show it: participant_id, instance_id,
 * state, data, ttl_ms, expires_at_ms and ts. */
void pres_member_page_append_member (GString *out, const PresInstanceInfo *info);

/* infos: the store's answer to pres_store_list_members() for query->ids. */
char *pres_member_page_render (const PresMemberPageQuery *query, GPtrArray *infos);

G_END_DECLS
