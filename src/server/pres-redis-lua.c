#define G_LOG_DOMAIN "pres-redis"

#include <gio/gio.h>
#include <string.h>

#include "pres-redis-lua.h"
#include "pres-redis-scripts.h"

static const char *const function_names[PRES_REDIS_LUA_N_FUNCTIONS]
  = { "heartbeat", "leave", "settle", "conversation" };

struct _PresRedisLua
{
  PresRedisConnection *conn;
  gpointer owner;
  char *library; /* the header naming it, then presence.lua */
  char *names[PRES_REDIS_LUA_N_FUNCTIONS];
  gboolean refusing; /* an error reply was said; quiet until a call succeeds */
};

typedef struct
{
  PresRedisLua *lua;
  PresRedisLuaFunction function;
  GStrv argv; /* "FCALL", name, numkeys, keys, args */
  PresRedisLuaDone done;
  gpointer data;
  gboolean resent;
} FunctionCall;

static void function_send (FunctionCall *call);

static void
function_cb (PresRedisConnection *conn,
             redisReply          *reply,
             const GError        *error,
             gpointer             user_data)
{
  FunctionCall *call = user_data;
  PresRedisLua *lua = call->lua;

  if (reply != NULL && reply->type == REDIS_REPLY_ERROR && !call->resent
      && g_str_has_prefix (reply->str, "ERR Function not found"))
    {
      call->resent = TRUE;
      pres_redis_lua_load (lua);
      function_send (call);
      return;
    }
  /* A Redis refusing every call (too old, out of memory) says so once, not
   * once per heartbeat (its messages quote the arguments, so each differs). */
  if (reply != NULL && reply->type == REDIS_REPLY_ERROR && !lua->refusing)
    {
      g_warning ("function %s: %s (said once until a call succeeds)",
                 function_names[call->function], reply->str);
      lua->refusing = TRUE;
    }
  else if (reply != NULL && reply->type != REDIS_REPLY_ERROR)
    lua->refusing = FALSE;
  call->done (lua->owner, reply, error, call->data);
  g_strfreev (call->argv);
  g_free (call);
}

static void
function_send (FunctionCall *call)
{
  pres_redis_connection_command (call->lua->conn, 0, function_cb, call,
                                 g_strv_length (call->argv), (const char **)call->argv, NULL);
}

void
pres_redis_lua_call (PresRedisLua         *self,
                     PresRedisLuaFunction  function,
                     const char *const    *keys,
                     const char *const    *args,
                     PresRedisLuaDone      done,
                     gpointer              data)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *n_keys = g_strdup_printf ("%u", g_strv_length ((GStrv)keys));
  FunctionCall *call = g_new0 (FunctionCall, 1);

  g_strv_builder_add (builder, "FCALL");
  g_strv_builder_add (builder, self->names[function]);
  g_strv_builder_add (builder, n_keys);
  g_strv_builder_addv (builder, (const char **)keys);
  g_strv_builder_addv (builder, (const char **)args);
  call->lua = self;
  call->function = function;
  call->argv = g_strv_builder_end (builder);
  call->done = done;
  call->data = data;
  function_send (call);
}

static void
library_load_cb (PresRedisConnection *conn,
                 redisReply          *reply,
                 const GError        *error,
                 gpointer             user_data)
{
  /* Its name comes from its text: loaded already means this very text. */
  if (reply != NULL && reply->type == REDIS_REPLY_ERROR && strstr (reply->str, "already exists") == NULL)
    g_warning ("loading the functions (Redis ≥ 7.0 is needed): %s", reply->str);
}

void
pres_redis_lua_load (PresRedisLua *self)
{
  /* First on the pipeline: the FCALLs after it find the functions. */
  pres_redis_connection_command (self->conn, 0, library_load_cb, NULL, 3,
                                 (const char *[]) { "FUNCTION", "LOAD", self->library }, NULL);
}

PresRedisLua *
pres_redis_lua_new (PresRedisConnection *conn,
                    gpointer             owner)
{
  PresRedisLua *self = g_new0 (PresRedisLua, 1);
  /* Looked up in the resource itself: in a static library nothing else
   * would pull in its constructor. */
  g_autoptr (GBytes) bytes = g_resource_lookup_data (pres_redis_get_resource (),
                                                     "/org/presence/server/redis/presence.lua",
                                                     G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_autofree char *sha = NULL;
  g_autofree char *name = NULL;

  g_assert (bytes != NULL); /* compiled in */
  sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA1, bytes);
  name = g_strdup_printf ("pz_%.16s", sha);
  self->conn = conn;
  self->owner = owner;
  self->library = g_strdup_printf ("#!lua name=%s\nlocal LIB = '%s'\n%.*s", name, name,
                                   (int)g_bytes_get_size (bytes),
                                   (const char *)g_bytes_get_data (bytes, NULL));
  for (guint i = 0; i < PRES_REDIS_LUA_N_FUNCTIONS; i++)
    self->names[i] = g_strdup_printf ("%s_%s", name, function_names[i]);
  return self;
}

void
pres_redis_lua_free (PresRedisLua *self)
{
  g_free (self->library);
  for (guint i = 0; i < PRES_REDIS_LUA_N_FUNCTIONS; i++)
    g_free (self->names[i]);
  g_free (self);
}
