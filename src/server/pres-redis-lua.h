#pragma once

#include "pres-redis-connection.h"

G_BEGIN_DECLS

/* The functions of src/server/redis/presence.lua (Redis ≥ 7.0): loaded as a
 * library at every connect, then called by FCALL.  A call keeps its
 * arguments until answered: Redis forgets its functions on a restart or
 * FUNCTION FLUSH, and the call is then sent again behind the library. */

typedef enum
{
  PRES_REDIS_LUA_HEARTBEAT,
  PRES_REDIS_LUA_LEAVE,
  PRES_REDIS_LUA_SETTLE,
  PRES_REDIS_LUA_CONVERSATION,
  PRES_REDIS_LUA_N_FUNCTIONS
} PresRedisLuaFunction;

typedef struct _PresRedisLua PresRedisLua;

/* As PresRedisReplyFunc, with the owner given to pres_redis_lua_new().  An
 * error reply has been logged. */
typedef void (*PresRedisLuaDone) (gpointer owner,
                                  redisReply *reply,
                                  const GError *error,
                                  gpointer data);

/* conn and owner are borrowed; both outlive every call. */
PresRedisLua *pres_redis_lua_new (PresRedisConnection *conn, gpointer owner);
void pres_redis_lua_free (PresRedisLua *self);

/* From the connection's "connected": ahead of any call on the pipeline. */
void pres_redis_lua_load (PresRedisLua *self);
/* keys and args: NULL-terminated. */
void pres_redis_lua_call (PresRedisLua *self,
                          PresRedisLuaFunction function,
                          const char *const *keys,
                          const char *const *args,
                          PresRedisLuaDone done,
                          gpointer data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresRedisLua, pres_redis_lua_free)

G_END_DECLS
