#pragma once

#include <gio/gio.h>
#include <hiredis/hiredis.h>

G_BEGIN_DECLS

/* One hiredis async connection on the GLib main loop, with what the
 * hiredis GLib adapter lacks: command timeouts and reconnection with
 * exponential back-off and jitter, both on the monotonic clock with one
 * timer per connection.  Commands are pipelined in the order given; under
 * load those issued within 2 ms of the last write go out together in the
 * next one (never when idle, nor from a reply callback).
 *
 * Addresses: "redis://HOST[:PORT][/DB]" (PORT 6379 by default, [::1] for
 * IPv6) or "unix:/PATH".
 *
 * Signals:
 *  - "connected": the socket is up; handlers may queue set-up commands,
 *    which go out before any command queued later;
 *  - "disconnected" (error message): the connection was lost or could not
 *    be made, pending commands have failed, a reconnect is scheduled;
 *  - "epoch" (epoch, changed), with an epoch key set: the store epoch read
 *    after each connect and each pres_redis_connection_check_epoch().
 *    changed is TRUE when it differs from the one seen before: the data was
 *    flushed or Redis restarted empty. */

#define PRES_TYPE_REDIS_CONNECTION (pres_redis_connection_get_type ())
G_DECLARE_FINAL_TYPE (PresRedisConnection, pres_redis_connection, PRES, REDIS_CONNECTION, GObject)

/* reply is NULL exactly when error is set: the command did not complete
 * (not connected, timed out, connection lost: G_IO_ERROR_NOT_CONNECTED or
 * G_IO_ERROR_TIMED_OUT).  An error reply of Redis is a reply of type
 * REDIS_REPLY_ERROR.  Both are only borrowed.  May be called before the
 * command function returns, when the connection is down. */
typedef void (*PresRedisReplyFunc) (PresRedisConnection *conn,
                                    redisReply *reply,
                                    const GError *error,
                                    gpointer user_data);

PresRedisConnection *
pres_redis_connection_new (const char *address, const char *name, GError **error);
gboolean pres_redis_address_is_valid (const char *address, GError **error);

void pres_redis_connection_set_timeout (PresRedisConnection *self, guint timeout_ms);
void pres_redis_connection_set_epoch_key (PresRedisConnection *self, const char *key);
/* Connects now and keeps reconnecting until disposed. */
void pres_redis_connection_start (PresRedisConnection *self);
gboolean pres_redis_connection_is_connected (PresRedisConnection *self);
const char *pres_redis_connection_get_address (PresRedisConnection *self);
const char *pres_redis_connection_get_epoch (PresRedisConnection *self);

/* extra_timeout_ms adds to the connection's timeout (for blocking commands).
 * argvlen may be NULL for NUL-terminated arguments. */
void pres_redis_connection_command (PresRedisConnection *self,
                                    guint extra_timeout_ms,
                                    PresRedisReplyFunc callback,
                                    gpointer user_data,
                                    int argc,
                                    const char **argv,
                                    const size_t *argvlen);
void pres_redis_connection_check_epoch (PresRedisConnection *self);
/* Drops the connection as if it had failed (tests, and a protocol error). */
void pres_redis_connection_reset (PresRedisConnection *self, const char *why);

G_END_DECLS
