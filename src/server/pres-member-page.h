#pragma once

#include "pres-store.h"

G_BEGIN_DECLS

/* GET /v1/members: who is here.  A page of the live members of the
 * participants asked, as one viewer may see them: the members of a
 * participant in appear_offline are hidden from everyone but that
 * participant (the visibility of state reads).  Members come participant
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
  const char *after; /* a previous page's "next", or NULL */
  guint limit;
} PresMemberPageQuery;

/* FALSE when after is not "<participant>/<instance>" of a participant asked. */
gboolean pres_member_page_after_is_valid (const PresMemberPageQuery *query);

/* infos: the store's answer to pres_store_list_members() for query->ids. */
char *pres_member_page_render (const PresMemberPageQuery *query, GPtrArray *infos);

G_END_DECLS
