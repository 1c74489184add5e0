#define G_LOG_DOMAIN "pres-server"

#include <string.h>

#include "pres-member-page.h"

typedef struct
{
  guint position; /* of the participant in the query's ids */
  const PresInstanceInfo *info;
} Entry;

static gint
entry_compare (gconstpointer a, gconstpointer b)
{
  const Entry *x = a, *y = b;

  if (x->position != y->position)
    return x->position < y->position ? -1 : 1;
  return strcmp (x->info->instance_id, y->info->instance_id);
}

static gboolean
find_position (const PresMemberPageQuery *query,
               const char *participant_id,
               gsize length,
               guint *position)
{
  for (guint i = 0; i < query->n_ids; i++)
    if (strlen (query->ids[i]) == length && strncmp (query->ids[i], participant_id, length) == 0)
      {
        *position = i;
        return TRUE;
      }
  return FALSE;
}

/* A participant id never holds '/', nor does an instance id. */
gboolean
pres_member_page_after_is_valid (const PresMemberPageQuery *query)
{
  const char *slash = query->after != NULL ? strchr (query->after, '/') : NULL;
  guint position;

  if (query->after == NULL)
    return TRUE;
  return slash != NULL && find_position (query, query->after, slash - query->after, &position)
         && pres_instance_id_is_valid (slash + 1);
}

GPtrArray *
pres_member_page_hidden (const char *viewer_id, GPtrArray *infos)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *hidden = g_ptr_array_new ();

  for (guint i = 0; i < infos->len; i++)
    {
      const PresInstanceInfo *info = infos->pdata[i];

      if (info->heartbeat->state == PRES_STATE_APPEAR_OFFLINE
          && g_strcmp0 (info->participant_id, viewer_id) != 0
          && g_hash_table_add (seen, info->participant_id))
        g_ptr_array_add (hidden, info->participant_id);
    }
  return hidden;
}

static GHashTable *
hidden_participants (const PresMemberPageQuery *query, GPtrArray *infos)
{
  g_autoptr (GPtrArray) candidates = pres_member_page_hidden (query->viewer_id, infos);
  GHashTable *hidden = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < candidates->len; i++)
    if (query->granted == NULL || !g_hash_table_contains (query->granted, candidates->pdata[i]))
      g_hash_table_add (hidden, candidates->pdata[i]);
  return hidden;
}

void
pres_member_page_append_member (GString *out, const PresInstanceInfo *info)
{
  g_string_append (out, "{\"participant_id\":");
  pres_wire_append_json_string (out, info->participant_id);
  g_string_append (out, ",\"instance_id\":");
  pres_wire_append_json_string (out, info->instance_id);
  g_string_append (out, ",\"state\":");
  pres_wire_append_json_string (out, pres_state_to_string (info->heartbeat->state));
  if (info->heartbeat->data != NULL)
    g_string_append_printf (out, ",\"data\":%s", info->heartbeat->data);
  g_string_append_printf (out,
                          ",\"ttl_ms\":%" G_GINT64_FORMAT ",\"expires_at_ms\":%" G_GINT64_FORMAT
                          ",\"ts\":%" G_GINT64_FORMAT "}",
                          info->expires_at_ms - info->last_seen_ms, info->expires_at_ms,
                          info->last_seen_ms);
}

char *
pres_member_page_render (const PresMemberPageQuery *query, GPtrArray *infos)
{
  g_autoptr (GHashTable) hidden = hidden_participants (query, infos);
  g_autoptr (GArray) entries = g_array_new (FALSE, FALSE, sizeof (Entry));
  GString *out = g_string_new ("{\"members\":[");
  Entry after = { 0 };
  PresInstanceInfo after_info = { 0 };
  const Entry *last = NULL;
  guint given = 0;

  for (guint i = 0; i < infos->len; i++)
    {
      Entry entry = { .info = infos->pdata[i] };

      if (g_hash_table_contains (hidden, entry.info->participant_id)
          || !find_position (query, entry.info->participant_id, strlen (entry.info->participant_id),
                             &entry.position))
        continue;
      g_array_append_val (entries, entry);
    }
  g_array_sort (entries, entry_compare);

  if (query->after != NULL)
    {
      const char *slash = strchr (query->after, '/');

      g_return_val_if_fail (slash != NULL, g_string_free (out, FALSE));
      find_position (query, query->after, slash - query->after, &after.position);
      after_info.instance_id = (char *)slash + 1;
      after.info = &after_info;
    }
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *entry = &g_array_index (entries, Entry, i);

      /* After the previous page's last member, whether it is still here or not. */
      if (query->after != NULL && entry_compare (entry, &after) <= 0)
        continue;
      if (given == query->limit)
        {
          g_string_append (out, "],\"next\":\"");
          g_string_append_printf (out, "%s/%s\"}", last->info->participant_id,
                                  last->info->instance_id);
          return g_string_free (out, FALSE);
        }
      if (given > 0)
        g_string_append_c (out, ',');
      pres_member_page_append_member (out, entry->info);
      last = entry;
      given++;
    }
  g_string_append (out, "]}");
  return g_string_free (out, FALSE);
}
