#define G_LOG_DOMAIN "pres-redis"

#include <gio/gio.h>

#include "pres-redis-lua.h"
#include "pres-redis-scripts.h"

static const char *const script_names[PRES_REDIS_LUA_N_SCRIPTS]
  = { "heartbeat.lua", "leave.lua", "settle.lua" };

struct _PresRedisLua
{
  PresRedisConnection *conn;
  gpointer owner;
  char *scripts[PRES_REDIS_LUA_N_SCRIPTS];
  char *shas[PRES_REDIS_LUA_N_SCRIPTS];
};

typedef struct
{
  PresRedisLua *lua;
  PresRedisLuaScript script;
  GStrv argv; /* "EVALSHA", sha, numkeys, keys, args */
  PresRedisLuaDone done;
  gpointer data;
  gboolean resent;
} ScriptCall;

static void script_send (ScriptCall *call);

static void
script_cb (PresRedisConnection *conn,
           redisReply          *reply,
           const GError        *error,
           gpointer             user_data)
{
  ScriptCall *call = user_data;
  PresRedisLua *lua = call->lua;

  if (reply != NULL && reply->type == REDIS_REPLY_ERROR && !call->resent
      && g_str_has_prefix (reply->str, "NOSCRIPT"))
    {
      call->resent = TRUE;
      g_free (call->argv[0]);
      call->argv[0] = g_strdup ("EVAL");
      g_free (call->argv[1]);
      call->argv[1] = g_strdup (lua->scripts[call->script]);
      script_send (call);
      return;
    }
  if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
    g_warning ("script %s: %s", script_names[call->script], reply->str);
  call->done (lua->owner, reply, error, call->data);
  g_strfreev (call->argv);
  g_free (call);
}

static void
script_send (ScriptCall *call)
{
  pres_redis_connection_command (call->lua->conn, 0, script_cb, call, g_strv_length (call->argv),
                                 (const char **)call->argv, NULL);
}

void
pres_redis_lua_call (PresRedisLua       *self,
                     PresRedisLuaScript  script,
                     const char *const  *keys,
                     const char *const  *args,
                     PresRedisLuaDone    done,
                     gpointer            data)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *n_keys = g_strdup_printf ("%u", g_strv_length ((GStrv)keys));
  ScriptCall *call = g_new0 (ScriptCall, 1);

  g_strv_builder_add (builder, "EVALSHA");
  g_strv_builder_add (builder, self->shas[script]);
  g_strv_builder_add (builder, n_keys);
  g_strv_builder_addv (builder, (const char **)keys);
  g_strv_builder_addv (builder, (const char **)args);
  call->lua = self;
  call->script = script;
  call->argv = g_strv_builder_end (builder);
  call->done = done;
  call->data = data;
  script_send (call);
}

static void
script_load_cb (PresRedisConnection *conn,
                redisReply          *reply,
                const GError        *error,
                gpointer             user_data)
{
  if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
    g_warning ("loading the scripts: %s", reply->str);
}

void
pres_redis_lua_load (PresRedisLua *self)
{
  /* Loaded first on the pipeline: the EVALSHAs after them find them. */
  for (guint i = 0; i < PRES_REDIS_LUA_N_SCRIPTS; i++)
    pres_redis_connection_command (self->conn, 0, script_load_cb, NULL, 3,
                                   (const char *[]) { "SCRIPT", "LOAD", self->scripts[i] }, NULL);
}

static char *
load_script (const char *name)
{
  g_autofree char *path = g_strconcat ("/org/presence/server/redis/", name, NULL);
  /* Looked up in the resource itself: in a static library nothing else
   * would pull in its constructor. */
  g_autoptr (GBytes) bytes
    = g_resource_lookup_data (pres_redis_get_resource (), path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);

  g_assert (bytes != NULL); /* compiled in */
  return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

PresRedisLua *
pres_redis_lua_new (PresRedisConnection *conn,
                    gpointer             owner)
{
  PresRedisLua *self = g_new0 (PresRedisLua, 1);
  g_autofree char *common = load_script ("common.lua");

  self->conn = conn;
  self->owner = owner;
  for (guint i = 0; i < PRES_REDIS_LUA_N_SCRIPTS; i++)
    {
      g_autofree char *body = load_script (script_names[i]);

      self->scripts[i] = g_strconcat (common, body, NULL);
      self->shas[i] = g_compute_checksum_for_string (G_CHECKSUM_SHA1, self->scripts[i], -1);
    }
  return self;
}

void
pres_redis_lua_free (PresRedisLua *self)
{
  for (guint i = 0; i < PRES_REDIS_LUA_N_SCRIPTS; i++)
    {
      g_free (self->scripts[i]);
      g_free (self->shas[i]);
    }
  g_free (self);
}
