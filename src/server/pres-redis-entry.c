#define G_LOG_DOMAIN "pres-redis"

#include "pres-redis-device.h"
#include "pres-redis-entry.h"

/* An entry's values by their names, which are one letter each. */
typedef struct
{
  const char *by_letter[26];
} Fields;

static void
fields_read (const redisReply *fields,
             Fields           *out)
{
  for (size_t k = 0; k + 1 < fields->elements; k += 2)
    {
      const char *name = fields->element[k]->str, *value = fields->element[k + 1]->str;

      if (name != NULL && value != NULL && name[0] >= 'a' && name[0] <= 'z' && name[1] == '\0')
        out->by_letter[name[0] - 'a'] = value;
    }
}

static const char *
field (const Fields *fields,
       char          name)
{
  return fields->by_letter[name - 'a'];
}

static gboolean
state_from_value (const char *value,
                  PresState  *state)
{
  return value != NULL && value[0] != '\0' && value[1] == '\0'
         && pres_redis_state_from_char (value[0], state);
}

static gboolean
action_from_value (const char       *value,
                   PresMemberAction *action)
{
  static const char letters[] = { [PRES_MEMBER_ENTER] = 'e', [PRES_MEMBER_UPDATE] = 'u',
                                  [PRES_MEMBER_LEAVE] = 'l' };

  if (value == NULL || value[0] == '\0' || value[1] != '\0')
    return FALSE;
  for (guint k = 0; k < G_N_ELEMENTS (letters); k++)
    if (letters[k] == value[0])
      {
        *action = k;
        return TRUE;
      }
  return FALSE;
}

/* A leave's reason is required; other actions have none. */
static gboolean
reason_from_value (const char       *value,
                   PresMemberAction  action,
                   PresMemberReason *reason)
{
  static const char letters[] = { [PRES_MEMBER_LEFT] = 'l', [PRES_MEMBER_EXPIRED] = 'e',
                                  [PRES_MEMBER_REPLACED] = 'r' };

  *reason = 0;
  if (action != PRES_MEMBER_LEAVE)
    return value == NULL;
  if (value == NULL || value[0] == '\0' || value[1] != '\0')
    return FALSE;
  for (guint k = PRES_MEMBER_LEFT; k < G_N_ELEMENTS (letters); k++)
    if (letters[k] == value[0])
      {
        *reason = k;
        return TRUE;
      }
  return FALSE;
}

/* The member's state and data come from its device value, which the same
 * code unpacks as for reads; a leave's own data replaces the value's. */
static PresMemberEvent *
member_parse (const Fields *f)
{
  const char *pid = field (f, 'p'), *instance = field (f, 'i'), *value = field (f, 'v');
  const char *at = field (f, 't'), *data = field (f, 'd');
  g_autoptr (PresInstanceInfo) device = NULL;
  PresMemberAction action;
  PresMemberReason reason;
  PresState participant_state;
  gint64 at_ms;

  if (instance == NULL || value == NULL || at == NULL
      || !action_from_value (field (f, 'm'), &action)
      || !reason_from_value (field (f, 'r'), action, &reason)
      || !state_from_value (field (f, 'a'), &participant_state)
      || !g_ascii_string_to_signed (at, 10, 0, G_MAXINT64, &at_ms, NULL)
      || (device = pres_redis_device_unpack (pid, instance, value)) == NULL)
    return NULL;
  return pres_member_event_new (action, reason, pid, instance, device->heartbeat->state,
                                participant_state, data != NULL ? data : device->heartbeat->data,
                                field (f, 'c'), at_ms);
}

gboolean
pres_redis_entry_parse (const redisReply *entry,
                        PresRedisEntry   *out)
{
  Fields f = { 0 };
  const char *until;

  *out = (PresRedisEntry) { 0 };
  if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
      || entry->element[1]->type != REDIS_REPLY_ARRAY)
    return FALSE;
  fields_read (entry->element[1], &f);
  out->participant_id = field (&f, 'p');
  if (out->participant_id == NULL)
    return FALSE;
  if (field (&f, 'm') != NULL)
    {
      PresRedisStreamId id;

      out->kind = PRES_REDIS_ENTRY_MEMBER;
      if (entry->element[0]->str == NULL || !pres_redis_stream_id_parse (entry->element[0]->str, &id))
        return FALSE;
      out->member = member_parse (&f);
      if (out->member == NULL)
        return FALSE;
      out->member->order[0] = id.ms;
      out->member->order[1] = id.seq;
      return TRUE;
    }
  if (field (&f, 'g') != NULL)
    {
      out->kind = PRES_REDIS_ENTRY_GRANT;
      out->granted_id = field (&f, 'g');
      until = field (&f, 'u');
      return until != NULL && g_ascii_string_to_signed (until, 10, 1, G_MAXINT64, &out->until_ms,
                                                        NULL);
    }
  out->kind = PRES_REDIS_ENTRY_STATE;
  return state_from_value (field (&f, 'o'), &out->old_state)
         && state_from_value (field (&f, 's'), &out->new_state);
}

void
pres_redis_entry_clear (PresRedisEntry *entry)
{
  g_clear_pointer (&entry->member, pres_member_event_unref);
}

gboolean
pres_redis_stream_id_parse (const char        *text,
                            PresRedisStreamId *out)
{
  g_auto (GStrv) parts = NULL;

  if (text == NULL)
    return FALSE;
  parts = g_strsplit (text, "-", 3);
  return g_strv_length (parts) == 2
         && g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXUINT64, &out->ms, NULL)
         && g_ascii_string_to_unsigned (parts[1], 10, 0, G_MAXUINT64, &out->seq, NULL);
}

int
pres_redis_stream_id_compare (const PresRedisStreamId *a,
                              const PresRedisStreamId *b)
{
  if (a->ms != b->ms)
    return a->ms < b->ms ? -1 : 1;
  if (a->seq != b->seq)
    return a->seq < b->seq ? -1 : 1;
  return 0;
}
