#pragma once

#include "pres-http-api.h"

G_BEGIN_DECLS

/* The HTTP API across its files: pres-http-api.c (the plumbing below,
 * instances, health and metrics), pres-read-api.c (state and member reads)
 * and pres-conversation-api.c (the appear_offline exception). */

/* The exception lasts this long after a conversation unless configured. */
#define PRES_HTTP_DEFAULT_CONVERSATION_WINDOW_MS (24 * 3600 * 1000)

struct _PresHttpApi
{
  GObject parent_instance;

  PresStore *store;
  PresAuth *auth;
  PresRateLimit *rate_limit; /* not owned */
  PresMetrics *metrics;      /* not owned */
  guint ttl_ms;
  guint interval_ms;
  gint64 conversation_window_ms;
  PresSubscriberCountFunc subscriber_count;
  gpointer subscriber_count_data;
};

/* A request waiting for the store, which answers exactly once: before its
 * call returns (memory) or later (Redis).  The answer frees this. */
typedef struct
{
  PresHttpApi *self;
  PresHttpRequest *req;
  char *participant_id;
  GPtrArray *ids; /* of a read, unique; of a conversation, its two ids */
  guint ttl_ms;   /* of a heartbeat: the member's grace */
  char *after;    /* of a member read: where the page starts */
  guint limit;
  PresState *states; /* of a state read, while its grants are asked */
  GPtrArray *infos;  /* of a member read, likewise */
  GPtrArray *hidden; /* the ids whose grants are asked, borrowed from ids or infos */
  gint64 asked_us;   /* monotonic */
} Pending;

Pending *pres_api_pending_new (PresHttpApi *self, PresHttpRequest *req, const char *participant_id);
void pres_api_pending_answered (Pending *pending, PresMetricsStoreOp op);
void pres_api_pending_free (Pending *pending);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pending, pres_api_pending_free)

/* body: freed. */
void pres_api_reply_json (PresHttpRequest *req, guint status, char *body);
void pres_api_reply_error (PresHttpApi *self,
                           PresHttpRequest *req,
                           guint status,
                           const char *code,
                           const char *message);
void pres_api_reply_method_not_allowed (PresHttpApi *self,
                                        PresHttpRequest *req,
                                        const char *resource,
                                        const char *allow);
void pres_api_reply_unavailable (PresHttpApi *self, PresHttpRequest *req, const GError *error);
/* Authentication and the caller's rate limit; FALSE after an error reply. */
gboolean pres_api_authorize (PresHttpApi *self, PresHttpRequest *req, PresIdentity *identity);

/* GET /v1/presence and GET /v1/members (pres-read-api.c). */
void pres_read_api_presence_cb (PresHttpServer *server, PresHttpRequest *req, gpointer user_data);
void pres_read_api_members_cb (PresHttpServer *server, PresHttpRequest *req, gpointer user_data);
/* POST /v1/conversations (pres-conversation-api.c). */
void pres_conversation_api_cb (PresHttpServer *server, PresHttpRequest *req, gpointer user_data);

G_END_DECLS
