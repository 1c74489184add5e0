#define G_LOG_DOMAIN "pres-server"

#include "config.h"

#include <string.h>
#include <sys/resource.h>

#include "pres-auth.h"
#include "pres-error.h"
#include "pres-http-api.h"
#include "pres-http-server.h"
#include "pres-memory-store.h"
#include "pres-metrics.h"
#if HAVE_REDIS
#include "pres-redis-store.h"
#endif
#include "pres-rate-limit.h"
#include "pres-roster-page.h"
#include "pres-server.h"
#include "pres-stream.h"

/* Dev mode accepts anyone, so its rate-limit table is bounded by this. */
#define RATE_LIMIT_MAX_KEYS 200000
/* GSocket's default backlog of 10 overflows when many agents connect at
 * once (after a network blip or a server restart), and every dropped SYN
 * costs its client a 1 s retransmit. */
#define LISTEN_BACKLOG 4096
/* Keep-alive connections of agents that beat every interval stay open;
 * one silent for longer than the TTL belongs to an agent that is gone. */
#define IDLE_SLACK_MS 5000

struct _PresServer
{
  GObject parent_instance;

  gboolean dev;
  PresHttpServer *http;
  PresStore *store;
  PresAuth *auth;
  PresRateLimit *rate_limit;
  PresMetrics *metrics;
  PresHttpApi *api;
  PresStream *stream;
};

G_DEFINE_TYPE (PresServer, pres_server, G_TYPE_OBJECT)

static PresStore *
store_new (const PresServerOptions *options,
           GError                 **error)
{
  if (options->store == NULL || g_str_equal (options->store, "memory"))
    return pres_memory_store_new (options->ttl_ms, options->max_instances);
#if HAVE_REDIS
  return pres_redis_store_new (options->store, options->ttl_ms, options->max_instances, error);
#else
  g_set_error (error, PRES_ERROR, PRES_ERROR_NOT_SUPPORTED,
               "--store %s: this presence-server was built without Redis (meson -Dredis)",
               options->store);
  return NULL;
#endif
}

static guint
count_subscribers (gpointer user_data)
{
  return pres_stream_get_n_subscribers (user_data);
}

PresServer *
pres_server_new (const PresServerOptions *options,
                 GError                 **error)
{
  g_autoptr (PresServer) self = g_object_new (PRES_TYPE_SERVER, NULL);
  GPtrArray *always_online;

  self->dev = options->dev;
  if (options->dev)
    self->auth = pres_auth_new_dev ();
  else
    {
      self->auth = pres_auth_new_from_file (options->tokens_file, error);
      if (self->auth == NULL)
        return NULL;
    }

  self->store = store_new (options, error);
  if (self->store == NULL)
    return NULL;
  always_online = pres_auth_get_always_online (self->auth);
  for (guint i = 0; i < always_online->len; i++)
    pres_store_set_always_online (self->store, always_online->pdata[i]);

  self->metrics = pres_metrics_new ();
  self->rate_limit =
    pres_rate_limit_new (options->rate_limit, options->rate_burst, RATE_LIMIT_MAX_KEYS);
  self->http = pres_http_server_new ("presence-server/" PACKAGE_VERSION);
  pres_http_server_set_idle_timeout (self->http, options->ttl_ms + IDLE_SLACK_MS);
  self->api = pres_http_api_new (self->http, self->store, self->auth, self->rate_limit,
                                 self->metrics, options->ttl_ms, options->interval_ms);
  if (options->conversation_window_ms > 0)
    pres_http_api_set_conversation_window (self->api, options->conversation_window_ms);
  self->stream =
    pres_stream_new (self->http, self->store, self->auth, self->rate_limit, self->metrics);
  pres_http_api_set_subscriber_count_func (self->api, count_subscribers, self->stream);
  pres_roster_page_add_routes (self->http, self->metrics);
  return g_steal_pointer (&self);
}

static GInetSocketAddress *
parse_listen (const char *listen,
              GError    **error)
{
  g_autofree char *host = NULL;
  g_autoptr (GInetAddress) address = NULL;
  const char *colon = strrchr (listen, ':');
  guint64 port;

  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL))
    goto invalid;
  host = g_strndup (listen, colon - listen);
  if (host[0] == '[' && host[strlen (host) - 1] == ']')
    {
      memmove (host, host + 1, strlen (host) - 2);
      host[strlen (host) - 2] = '\0';
    }
  if (g_str_equal (host, "localhost"))
    address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  else
    address = g_inet_address_new_from_string (host);
  if (address == NULL)
    goto invalid;
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (address, port));

invalid:
  g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
               "--listen: expected HOST:PORT with an IP address, e.g. 127.0.0.1:8787, got \"%s\"",
               listen);
  return NULL;
}

char *
pres_server_listen (PresServer *self,
                    const char *listen,
                    GError    **error)
{
  g_autoptr (GInetSocketAddress) address = parse_listen (listen, error);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree char *host = NULL;
  GInetSocketAddress *inet;
  struct rlimit limit;

  if (address == NULL)
    return NULL;
  if (self->dev && !g_inet_address_get_is_loopback (g_inet_socket_address_get_address (address)))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "--dev accepts any token, so it listens on loopback only (127.0.0.1 or ::1), "
                   "not on \"%s\"",
                   listen);
      return NULL;
    }
  /* A descriptor per connection: thousands of agents need more than the
   * usual soft limit of 1024. */
  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
  bound = pres_http_server_listen (self->http, G_SOCKET_ADDRESS (address), LISTEN_BACKLOG, error);
  if (bound == NULL)
    return NULL;
  inet = G_INET_SOCKET_ADDRESS (bound);
  host = g_inet_address_to_string (g_inet_socket_address_get_address (inet));
  return g_strdup_printf (strchr (host, ':') != NULL ? "http://[%s]:%u/" : "http://%s:%u/", host,
                          g_inet_socket_address_get_port (inet));
}

static void
pres_server_dispose (GObject *object)
{
  PresServer *self = PRES_SERVER (object);

  /* Connections first: their handlers point at the objects below. */
  if (self->http != NULL)
    pres_http_server_disconnect (self->http);
  g_clear_object (&self->http);
  g_clear_object (&self->stream);
  g_clear_object (&self->api);
  g_clear_object (&self->store);
  g_clear_object (&self->auth);
  g_clear_pointer (&self->rate_limit, pres_rate_limit_free);
  g_clear_pointer (&self->metrics, pres_metrics_free);

  G_OBJECT_CLASS (pres_server_parent_class)->dispose (object);
}

static void
pres_server_class_init (PresServerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pres_server_dispose;
}

static void
pres_server_init (PresServer *self)
{
}
