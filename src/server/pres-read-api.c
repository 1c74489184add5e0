#define G_LOG_DOMAIN "pres-server"

#include "pres-http-api-private.h"
#include "pres-member-page.h"

/* The reads: GET /v1/presence and GET /v1/members, as the caller may see
 * them.  appear_offline hides a participant from everyone but itself and
 * those it talked with inside the conversation window; those grants are
 * asked of the store only for the participants a read would hide, so a
 * read of nobody in appear_offline costs no second call. */

/* Without the store, a state is "unknown" rather than an invented offline.
 * until_ms: the grants per id, or NULL for none. */
static void
states_reply (Pending *pending, const PresState *states, const gint64 *until_ms)
{
  GString *out = g_string_new ("{");

  for (guint i = 0; i < pending->ids->len; i++)
    {
      const char *id = pending->ids->pdata[i];

      if (i > 0)
        g_string_append_c (out, ',');
      pres_wire_append_json_string (out, id);
      g_string_append_c (out, ':');
      pres_wire_append_json_string (
        out, states == NULL
               ? "unknown"
               : pres_state_to_string (pres_store_state_for_viewer_granted (
                 states[i], id, pending->participant_id, until_ms != NULL && until_ms[i] > 0)));
    }
  g_string_append_c (out, '}');
  pending->self->metrics->reads++;
  pres_api_reply_json (pending->req, 200, g_string_free (out, FALSE));
}

/* hidden holds ids borrowed from pending->ids, in their order. */
static void
state_grants_cb (const gint64 *until_ms, const GError *error, gpointer user_data)
{
  g_autoptr (Pending) pending = user_data;
  g_autofree gint64 *by_id = NULL;
  guint h = 0;

  if (error != NULL)
    {
      pres_api_reply_unavailable (pending->self, pending->req, error);
      return;
    }
  by_id = g_new0 (gint64, pending->ids->len);
  for (guint i = 0; i < pending->ids->len && h < pending->hidden->len; i++)
    if (pending->ids->pdata[i] == pending->hidden->pdata[h])
      by_id[i] = until_ms[h++];
  states_reply (pending, pending->states, by_id);
}

static void
states_cb (const PresState *states, const GError *error, gpointer user_data)
{
  g_autoptr (Pending) pending = user_data;
  Pending *asking;

  pres_api_pending_answered (pending, PRES_METRICS_STORE_READ);
  if (states == NULL)
    {
      states_reply (pending, NULL, NULL);
      return;
    }
  pending->hidden = g_ptr_array_new ();
  for (guint i = 0; i < pending->ids->len; i++)
    if (pres_store_state_for_viewer (states[i], pending->ids->pdata[i], pending->participant_id)
        != states[i])
      g_ptr_array_add (pending->hidden, pending->ids->pdata[i]);
  if (pending->hidden->len == 0)
    {
      states_reply (pending, states, NULL);
      return;
    }
  pending->states = g_memdup2 (states, pending->ids->len * sizeof (PresState));
  /* The answer may come before the call returns: nothing is read after. */
  asking = g_steal_pointer (&pending);
  pres_store_get_grants (asking->self->store, asking->participant_id,
                         (const char *const *)asking->hidden->pdata, asking->hidden->len,
                         state_grants_cb, asking);
}

/* The ids of a read: a comma-separated list, at most 500, each valid;
 * unique in the order given (a repeated id would be a repeated JSON key).
 * NULL after an error reply. */
static GPtrArray *
parse_read_ids (PresHttpApi *self, PresHttpRequest *req, GHashTable *query)
{
  const char *ids_param = query != NULL ? g_hash_table_lookup (query, "ids") : NULL;
  g_auto (GStrv) ids = NULL;
  g_autoptr (GHashTable) seen = NULL;
  GPtrArray *unique;

  if (ids_param == NULL || *ids_param == '\0')
    {
      pres_api_reply_error (self, req, 400, "invalid_field",
                            "ids: a comma-separated list of participant ids is required");
      return NULL;
    }
  ids = g_strsplit (ids_param, ",", PRES_HTTP_MAX_READ_IDS + 1);
  if (g_strv_length (ids) > PRES_HTTP_MAX_READ_IDS)
    {
      pres_api_reply_error (self, req, 400, "invalid_field", "ids: at most 500 ids are allowed");
      return NULL;
    }
  for (guint i = 0; ids[i] != NULL; i++)
    {
      if (!pres_participant_id_is_valid (ids[i]))
        {
          pres_api_reply_error (self, req, 400, "invalid_id",
                                "ids: each must match [A-Za-z0-9._:@-]{1,128}");
          return NULL;
        }
    }
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  unique = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; ids[i] != NULL; i++)
    {
      if (g_hash_table_add (seen, ids[i]))
        g_ptr_array_add (unique, g_strdup (ids[i]));
    }
  return unique;
}

/* Authenticated GET of an exact path; FALSE after an error reply. */
static gboolean
accept_read (PresHttpApi *self, PresHttpRequest *req, const char *path, PresIdentity *identity)
{
  if (!g_str_equal (pres_http_request_get_path (req), path))
    {
      pres_api_reply_error (self, req, 404, "not_found", "no such endpoint");
      return FALSE;
    }
  if (!pres_api_authorize (self, req, identity))
    return FALSE;
  if (!g_str_equal (pres_http_request_get_method (req), "GET"))
    {
      pres_api_reply_method_not_allowed (self, req, path, "GET");
      return FALSE;
    }
  return TRUE;
}

void
pres_read_api_presence_cb (PresHttpServer *server, PresHttpRequest *req, gpointer user_data)
{
  PresHttpApi *self = user_data;
  GPtrArray *ids;
  PresIdentity identity;
  Pending *pending;

  if (!accept_read (self, req, "/v1/presence", &identity)
      || (ids = parse_read_ids (self, req, pres_http_request_get_query (req))) == NULL)
    return;
  pending = pres_api_pending_new (self, req, identity.participant_id);
  pending->ids = ids;
  pres_store_get_states (self->store, (const char *const *)pending->ids->pdata, pending->ids->len,
                         states_cb, pending);
}

static void
members_reply (Pending *pending, GHashTable *granted)
{
  PresMemberPageQuery query = {
    .ids = (const char *const *)pending->ids->pdata,
    .n_ids = pending->ids->len,
    .viewer_id = pending->participant_id,
    .granted = granted,
    .after = pending->after,
    .limit = pending->limit,
  };

  pending->self->metrics->reads++;
  pres_api_reply_json (pending->req, 200, pres_member_page_render (&query, pending->infos));
}

static void
member_grants_cb (const gint64 *until_ms, const GError *error, gpointer user_data)
{
  g_autoptr (Pending) pending = user_data;
  g_autoptr (GHashTable) granted_ids = g_hash_table_new (g_str_hash, g_str_equal);

  if (error != NULL)
    {
      pres_api_reply_unavailable (pending->self, pending->req, error);
      return;
    }
  for (guint i = 0; i < pending->hidden->len; i++)
    if (until_ms[i] > 0)
      g_hash_table_add (granted_ids, pending->hidden->pdata[i]);
  members_reply (pending, granted_ids);
}

static void
members_list_cb (GPtrArray *infos, const GError *error, gpointer user_data)
{
  g_autoptr (Pending) pending = user_data;
  Pending *asking;

  pres_api_pending_answered (pending, PRES_METRICS_STORE_READ);
  if (error != NULL)
    {
      pres_api_reply_unavailable (pending->self, pending->req, error);
      return;
    }
  pending->infos = g_ptr_array_ref (infos);
  pending->hidden = pres_member_page_hidden (pending->participant_id, infos);
  if (pending->hidden->len == 0)
    {
      members_reply (pending, NULL);
      return;
    }
  /* The answer may come before the call returns: nothing is read after. */
  asking = g_steal_pointer (&pending);
  pres_store_get_grants (asking->self->store, asking->participant_id,
                         (const char *const *)asking->hidden->pdata, asking->hidden->len,
                         member_grants_cb, asking);
}

/* GET /v1/members?ids=…[&limit=N][&after=NEXT]: who is here. */
void
pres_read_api_members_cb (PresHttpServer *server, PresHttpRequest *req, gpointer user_data)
{
  PresHttpApi *self = user_data;
  GHashTable *query = pres_http_request_get_query (req);
  const char *limit_param = query != NULL ? g_hash_table_lookup (query, "limit") : NULL;
  const char *after = query != NULL ? g_hash_table_lookup (query, "after") : NULL;
  g_autoptr (GPtrArray) ids = NULL;
  guint64 limit = PRES_MEMBER_PAGE_DEFAULT_LIMIT;
  PresIdentity identity;
  PresMemberPageQuery page;
  Pending *pending;

  if (!accept_read (self, req, "/v1/members", &identity)
      || (ids = parse_read_ids (self, req, query)) == NULL)
    return;
  if (limit_param != NULL
      && !g_ascii_string_to_unsigned (limit_param, 10, 1, PRES_MEMBER_PAGE_MAX_LIMIT, &limit, NULL))
    {
      pres_api_reply_error (
        self, req, 400, "invalid_field",
        "limit: must be an integer between 1 and " G_STRINGIFY (PRES_MEMBER_PAGE_MAX_LIMIT));
      return;
    }
  page = (PresMemberPageQuery){ .ids = (const char *const *)ids->pdata,
                                .n_ids = ids->len,
                                .after = after };
  if (!pres_member_page_after_is_valid (&page))
    {
      pres_api_reply_error (self, req, 400, "invalid_field",
                            "after: must be the \"next\" of a previous page for the same ids");
      return;
    }
  pending = pres_api_pending_new (self, req, identity.participant_id);
  pending->ids = g_steal_pointer (&ids);
  pending->after = g_strdup (after);
  pending->limit = limit;
  pres_store_list_members (self->store, (const char *const *)pending->ids->pdata, pending->ids->len,
                           members_list_cb, pending);
}
