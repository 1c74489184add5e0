#pragma once

#include "pres-redis-keys.h"
#include "pres-store.h"

G_BEGIN_DECLS

/* A device value as the functions store it (redis/presence.lua):
 * "<state>SEP<last seen ms>SEP<ttl ms>SEP<seq>SEP<retired>SEP<session>SEP<details>",
 * SEP being PRES_REDIS_SEP.  The details are ours, opaque to the functions
 * (but for what an update compares: the first two): status text, data,
 * last_input_seconds, host, version, device family, model identifier,
 * mode and reason, each optional string as "+value", "" when absent.
 * Data is compact JSON, which escapes control characters: no separator in
 * it.  The event streams' member entries carry device values too. */

char             *pres_redis_details_pack  (const PresHeartbeat *hb);
/* NULL for a value that is not one. */
PresInstanceInfo *pres_redis_device_unpack (const char *participant_id,
                                            const char *instance_id,
                                            const char *value);

G_END_DECLS
