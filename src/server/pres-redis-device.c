#define G_LOG_DOMAIN "pres-redis"

#include "pres-redis-device.h"

#define VALUE_PARTS (6 + 9)

static void
append_optional (GString    *out,
                 const char *field)
{
  if (field != NULL)
    {
      g_string_append_c (out, '+');
      g_string_append (out, field);
    }
}

/* The status text and the data first: what an update compares
 * (presence.lua), found there with two plain finds. */
char *
pres_redis_details_pack (const PresHeartbeat *hb)
{
  const char *device[] = { hb->host, hb->version, hb->device_family, hb->model_identifier,
                           hb->mode, hb->reason };
  GString *out = g_string_new (NULL);

  append_optional (out, hb->status_text);
  g_string_append_c (out, PRES_REDIS_SEP);
  append_optional (out, hb->data);
  g_string_append_c (out, PRES_REDIS_SEP);
  if (hb->last_input_seconds >= 0)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, hb->last_input_seconds);
  for (guint i = 0; i < G_N_ELEMENTS (device); i++)
    {
      g_string_append_c (out, PRES_REDIS_SEP);
      append_optional (out, device[i]);
    }
  return g_string_free (out, FALSE);
}

PresInstanceInfo *
pres_redis_device_unpack (const char *participant_id,
                          const char *instance_id,
                          const char *value)
{
  g_auto (GStrv) parts = g_strsplit (value, (char[]){ PRES_REDIS_SEP, '\0' }, -1);
  char **targets[9];
  gint64 ttl_ms;
  g_autoptr (PresInstanceInfo) info = g_new0 (PresInstanceInfo, 1);
  PresHeartbeat *hb;

  if (g_strv_length (parts) != VALUE_PARTS)
    return NULL;
  hb = info->heartbeat = pres_heartbeat_new ();
  if (!pres_redis_state_from_char (parts[0][0], &hb->state)
      || !g_ascii_string_to_signed (parts[1], 10, 0, G_MAXINT64, &info->last_seen_ms, NULL)
      || !g_ascii_string_to_signed (parts[2], 10, 1, G_MAXINT32, &ttl_ms, NULL)
      || !g_ascii_string_to_unsigned (parts[3], 10, 0, G_MAXUINT64, &hb->seq, NULL))
    return NULL;
  hb->ttl_ms = ttl_ms;
  info->expires_at_ms = info->last_seen_ms + ttl_ms;
  hb->session = g_strdup (parts[5]);
  if (parts[8][0] != '\0'
      && !g_ascii_string_to_signed (parts[8], 10, 0, G_MAXINT32, &hb->last_input_seconds, NULL))
    return NULL;
  targets[0] = &hb->status_text;
  targets[1] = &hb->data;
  targets[2] = NULL; /* last input, above */
  targets[3] = &hb->host;
  targets[4] = &hb->version;
  targets[5] = &hb->device_family;
  targets[6] = &hb->model_identifier;
  targets[7] = &hb->mode;
  targets[8] = &hb->reason;
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    if (targets[i] != NULL && parts[6 + i][0] == '+')
      *targets[i] = g_strdup (parts[6 + i] + 1);
  info->participant_id = g_strdup (participant_id);
  info->instance_id = g_strdup (instance_id);
  return g_steal_pointer (&info);
}
