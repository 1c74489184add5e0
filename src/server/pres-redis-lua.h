#pragma once

#include "pres-redis-connection.h"

G_BEGIN_DECLS

/* The Lua scripts of src/server/redis/, each run with common.lua before
 * it: loaded at every connect, then called by EVALSHA.  A call keeps its
 * arguments until answered: Redis forgets its script cache on a restart or
 * SCRIPT FLUSH, and the call is then sent again with the script itself. */

typedef enum
{
  PRES_REDIS_LUA_HEARTBEAT,
  PRES_REDIS_LUA_LEAVE,
  PRES_REDIS_LUA_SETTLE,
  PRES_REDIS_LUA_N_SCRIPTS
} PresRedisLuaScript;

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
                          PresRedisLuaScript script,
                          const char *const *keys,
                          const char *const *args,
                          PresRedisLuaDone done,
                          gpointer data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresRedisLua, pres_redis_lua_free)

G_END_DECLS
