#pragma once

#include <hiredis/hiredis.h>

#include "pres-member-event.h"

G_BEGIN_DECLS

/* One entry of a bucket's event stream (redis/presence.lua says what each
 * kind holds), parsed for the reader (pres-redis-events.c) and for replays
 * (pres-redis-replay.c) alike.  It comes from the network: every field is
 * checked, and an entry that is none of the three kinds is refused. */

typedef enum
{
  PRES_REDIS_ENTRY_STATE,
  PRES_REDIS_ENTRY_MEMBER,
  PRES_REDIS_ENTRY_GRANT,
} PresRedisEntryKind;

typedef struct
{
  PresRedisEntryKind kind;
  const char *participant_id; /* a grant's viewer; borrowed from the reply */
  PresState old_state;        /* a state change */
  PresState new_state;
  PresMemberEvent *member;    /* a member event, its order its id; owned */
  const char *granted_id;     /* a grant: who the viewer now sees, until when */
  gint64 until_ms;
} PresRedisEntry;

/* entry: one element of an XRANGE or XREAD reply, [id, [field, value, …]]. */
gboolean pres_redis_entry_parse (const redisReply *entry,
                                 PresRedisEntry   *out);
void     pres_redis_entry_clear (PresRedisEntry *entry);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PresRedisEntry, pres_redis_entry_clear)

/* A stream entry id, "<ms>-<seq>". */
typedef struct
{
  guint64 ms;
  guint64 seq;
} PresRedisStreamId;

gboolean pres_redis_stream_id_parse (const char        *text,
                                     PresRedisStreamId *out);
int      pres_redis_stream_id_compare (const PresRedisStreamId *a,
                                       const PresRedisStreamId *b);

G_END_DECLS
