#define G_LOG_DOMAIN "pres-redis"

#include "pres-redis-device.h"
#include "pres-redis-entry.h"

typedef struct
{
  const char *p, *o, *s, *g, *u, *m, *i, *r, *a, *t, *v, *c, *d;
} Fields;

static void
fields_read (const redisReply *fields,
             Fields           *out)
{
  for (size_t k = 0; k + 1 < fields->elements; k += 2)
    {
      const char *name = fields->element[k]->str, *value = fields->element[k + 1]->str;
      const char **slot = NULL;

      if (name == NULL || value == NULL || name[0] == '\0' || name[1] != '\0')
        continue;
      switch (name[0])
        {
          case 'p': slot = &out->p; break;
          case 'o': slot = &out->o; break;
          case 's': slot = &out->s; break;
          case 'g': slot = &out->g; break;
          case 'u': slot = &out->u; break;
          case 'm': slot = &out->m; break;
          case 'i': slot = &out->i; break;
          case 'r': slot = &out->r; break;
          case 'a': slot = &out->a; break;
          case 't': slot = &out->t; break;
          case 'v': slot = &out->v; break;
          case 'c': slot = &out->c; break;
          case 'd': slot = &out->d; break;
          default: break;
        }
      if (slot != NULL)
        *slot = value;
    }
}

static gboolean
state_from_field (const char *field,
                  PresState  *state)
{
  return field != NULL && field[0] != '\0' && field[1] == '\0'
         && pres_redis_state_from_char (field[0], state);
}

static gboolean
action_from_field (const char       *field,
                   PresMemberAction *action)
{
  static const char letters[] = { [PRES_MEMBER_ENTER] = 'e', [PRES_MEMBER_UPDATE] = 'u',
                                  [PRES_MEMBER_LEAVE] = 'l' };

  if (field == NULL || field[0] == '\0' || field[1] != '\0')
    return FALSE;
  for (guint k = 0; k < G_N_ELEMENTS (letters); k++)
    if (letters[k] == field[0])
      {
        *action = k;
        return TRUE;
      }
  return FALSE;
}

/* A leave's reason is required; other actions have none. */
static gboolean
reason_from_field (const char       *field,
                   PresMemberAction  action,
                   PresMemberReason *reason)
{
  static const char letters[] = { [PRES_MEMBER_LEFT] = 'l', [PRES_MEMBER_EXPIRED] = 'e',
                                  [PRES_MEMBER_REPLACED] = 'r' };

  *reason = 0;
  if (action != PRES_MEMBER_LEAVE)
    return field == NULL;
  if (field == NULL || field[0] == '\0' || field[1] != '\0')
    return FALSE;
  for (guint k = PRES_MEMBER_LEFT; k < G_N_ELEMENTS (letters); k++)
    if (letters[k] == field[0])
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
  g_autoptr (PresInstanceInfo) device = NULL;
  PresMemberAction action;
  PresMemberReason reason;
  PresState participant_state;
  gint64 at_ms;

  if (f->i == NULL || f->v == NULL || !action_from_field (f->m, &action)
      || !reason_from_field (f->r, action, &reason) || !state_from_field (f->a, &participant_state)
      || f->t == NULL || !g_ascii_string_to_signed (f->t, 10, 0, G_MAXINT64, &at_ms, NULL)
      || (device = pres_redis_device_unpack (f->p, f->i, f->v)) == NULL)
    return NULL;
  return pres_member_event_new (action, reason, f->p, f->i, device->heartbeat->state,
                                participant_state,
                                f->d != NULL ? f->d : device->heartbeat->data, f->c, at_ms);
}

gboolean
pres_redis_entry_parse (const redisReply *entry,
                        PresRedisEntry   *out)
{
  Fields f = { 0 };

  *out = (PresRedisEntry) { 0 };
  if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
      || entry->element[1]->type != REDIS_REPLY_ARRAY)
    return FALSE;
  fields_read (entry->element[1], &f);
  if (f.p == NULL)
    return FALSE;
  out->participant_id = f.p;
  if (f.m != NULL)
    {
      out->kind = PRES_REDIS_ENTRY_MEMBER;
      out->member = member_parse (&f);
      return out->member != NULL;
    }
  if (f.g != NULL)
    {
      out->kind = PRES_REDIS_ENTRY_GRANT;
      out->granted_id = f.g;
      return f.u != NULL && g_ascii_string_to_signed (f.u, 10, 1, G_MAXINT64, &out->until_ms, NULL);
    }
  out->kind = PRES_REDIS_ENTRY_STATE;
  return state_from_field (f.o, &out->old_state) && state_from_field (f.s, &out->new_state);
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
