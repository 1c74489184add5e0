#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A private redis-server for a test: its own temp dir, a unix socket, no
 * persistence, its own process group; stopped by PID. */
typedef struct _RedisFixture RedisFixture;

/* NULL with *skip_reason set when redis-server is not installed; a server
 * that does not come up within 10 s fails the test. */
RedisFixture *redis_fixture_start (char **skip_reason);
void redis_fixture_stop (RedisFixture *self);
/* "unix:/…" for --store. */
const char *redis_fixture_get_address (RedisFixture *self);
/* FLUSHALL, FUNCTION FLUSH: a fresh store for the next case. */
void redis_fixture_flush (RedisFixture *self);
/* One command, words separated by spaces, that must not fail. */
void redis_fixture_command (RedisFixture *self, const char *text);

G_END_DECLS
