#pragma once

#include <json-glib/json-glib.h>

#include "pres-websocket.h"

G_BEGIN_DECLS

/* A client's message on GET /v1/stream: {"op": "sub", "ids": [...],
 * "cursor": "…"?, "events": ["enter", "update", "leave"]?}, at most
 * PRES_STREAM_MAX_IDS unique or repeated ids.  On success ids holds the ids
 * and *cursor the cursor (NULL if none), both borrowed from parser, and
 * *events the member events asked, a bit (1 << PresMemberAction) each.  On
 * failure error is in PRES_WIRE_ERROR, its code the one the client is
 * told. */
gboolean pres_stream_message_parse_sub (JsonParser *parser,
                                        PresWebSocketDataType type,
                                        const char *data,
                                        gsize length,
                                        GPtrArray *ids,
                                        const char **cursor,
                                        guint *events,
                                        GError **error);

G_END_DECLS
