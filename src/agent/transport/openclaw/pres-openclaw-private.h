#pragma once

#include <libsoup/soup.h>

#include "pres-host-info.h"
#include "pres-openclaw-activity.h"
#include "pres-openclaw-frames.h"
#include "pres-openclaw-identity.h"
#include "pres-openclaw-transport.h"
#include "pres-transport-core.h"

G_BEGIN_DECLS

typedef struct _PresOpenclawUp PresOpenclawUp;

/* Shared by the transport's files (life and retries, the two connections,
 * the session over both, the activity reports); nobody else includes it. */

#define BEACON_INTERVAL_MS 30000
#define HANDSHAKE_TIMEOUT_S 30
#define LEAVE_DEADLINE_MS 1800
#define WATCHDOG_PERIOD_S 15
#define RECONNECT_MAX_MS 5000
/* While a node pairing waits, how often the session asks again, in case
 * the approval's event was missed. */
#define PAIRING_RECHECK_MS 20000
/* How long the first node connection waits for the idle source's choice. */

typedef enum
{
  PHASE_IDLE,      /* no socket: waiting for a retry, a token, or off line */
  PHASE_OPENING,   /* the WebSocket upgrade is under way */
  PHASE_CHALLENGE, /* waiting for connect.challenge */
  PHASE_HELLO,     /* our connect is out, waiting for hello-ok */
  PHASE_READY,     /* requests flow */
  PHASE_CLOSING,   /* a leave: our close frame is out */
} Phase;

typedef struct
{
  PresOpenclawTransport *transport; /* the owner */
  PresOpenclawRole role;

  GCancellable *attempt_cancellable; /* one connection attempt */
  SoupWebsocketConnection *ws;
  Phase phase;
  char *connect_id;
  guint tick_ms;
  gint64 last_frame; /* monotonic µs of the last frame from the gateway */
  guint handshake_id;
  guint watchdog_id;

  char *device_token; /* the gateway gives one per role */
  gboolean use_device_token;
  gboolean declared_activity; /* what the last connect declared */
  gboolean too_big;           /* libsoup refused a frame above our bound */
} PresOpenclawChannel;

typedef enum
{
  PAIRING_UNCHECKED, /* not asked yet on this connection */
  PAIRING_PENDING,   /* the user must approve the node */
  PAIRING_APPROVED,
} PairingState;

struct _PresOpenclawTransport
{
  GObject parent_instance;

  PresTransportCore core;
  const PresOpenclawUp *up; /* set once, by the transport */
  char *state_dir;
  PresIdleSource *idle_source;

  PresOpenclawChannel op; /* the operator connection */
  PresOpenclawChannel node;
  PresOpenclawIdentity *identity;
  PresHostInfo *host_info;
  PresOpenclawActivity *activity;

  char *open_url; /* NULL while server_url is refused */
  guint64 next_request;

  PairingState pairing;
  gboolean pairing_listing;
  gboolean pairing_stale;  /* the gateway refused the node's activity */
  gint64 node_reopened_at; /* monotonic µs, for the pairing's sake */

  gboolean waiting_for_idle_source;

  guint retry_id;
  guint beat_id;
  guint pairing_id;
  guint leave_deadline_id;

  gboolean building;
  const char *pending_reason; /* a beacon wanted while one is being built */
};

/* How the lower files speak to the ones above them. The files make a line,
 * transport → session → channel: the transport fills this table in with its
 * own functions and the session's, and the session and the channels call up
 * only through it, never by name. */
struct _PresOpenclawUp
{
  /* From the transport: its life, retries and settings. */
  void (*fail) (PresOpenclawTransport *self,
                PresConnection connection,
                const char *message,
                guint retry_ms);
  void (*retry_in) (PresOpenclawTransport *self, guint delay_ms);
  void (*left) (PresOpenclawTransport *self);
  gboolean (*is_offline) (PresOpenclawTransport *self);
  /* The node connection is wanted (the active-computer setting), and then
   * whether it reports activity (an idle source that can tell). */
  gboolean (*wants_node) (PresOpenclawTransport *self);
  gboolean (*reports_activity) (PresOpenclawTransport *self);
  char *(*next_request_id) (PresOpenclawTransport *self, const char *method);

  /* From the session: what a channel saw. */
  void (*channel_ready) (PresOpenclawTransport *self, PresOpenclawChannel *channel);
  void (*channel_closed) (PresOpenclawTransport *self, PresOpenclawChannel *channel);
  /* Both connections are to be forgotten (a channel's was refused). */
  void (*channel_lost) (PresOpenclawTransport *self);
  void (*channel_event) (PresOpenclawTransport *self,
                         PresOpenclawChannel *channel,
                         PresOpenclawFrame *frame);
  void (*channel_response) (PresOpenclawTransport *self,
                            PresOpenclawChannel *channel,
                            PresOpenclawFrame *frame,
                            const char *data,
                            gsize length);
};

#define PRES_OPENCLAW_UP(transport) ((transport)->up)

/* pres-openclaw-channel.c: one WebSocket connection in one role. */
void pres_openclaw_channel_init (PresOpenclawChannel *channel,
                                 PresOpenclawTransport *transport,
                                 PresOpenclawRole role);
void pres_openclaw_channel_clear (PresOpenclawChannel *channel);
void pres_openclaw_channel_open (PresOpenclawChannel *channel);
/* Forgets the socket without a word to the gateway. */
void pres_openclaw_channel_drop (PresOpenclawChannel *channel);
/* Sends a close frame; FALSE when there was nothing open to close. */
gboolean pres_openclaw_channel_close (PresOpenclawChannel *channel);
void pres_openclaw_channel_send (PresOpenclawChannel *channel, const char *frame);
gboolean pres_openclaw_channel_is_ready (PresOpenclawChannel *channel);
void pres_openclaw_channel_load_token (PresOpenclawChannel *channel);

/* pres-openclaw-session.c: both connections as the desktop's presence. */
void pres_openclaw_session_open (PresOpenclawTransport *self);
void pres_openclaw_session_drop (PresOpenclawTransport *self);
void pres_openclaw_session_leave (PresOpenclawTransport *self);
void pres_openclaw_session_beacon (PresOpenclawTransport *self, const char *reason);
/* The idle source chose (or the wait for it ended): a first connection
 * held back for it goes ahead. */
void pres_openclaw_session_idle_source_settled (PresOpenclawTransport *self);
/* Reconnects the node alone (its permissions changed, or its pairing). */
void pres_openclaw_session_reopen_node (PresOpenclawTransport *self);
/* What a channel saw (through PresOpenclawUp). */
void pres_openclaw_session_ready (PresOpenclawTransport *self, PresOpenclawChannel *channel);
void pres_openclaw_session_closed (PresOpenclawTransport *self, PresOpenclawChannel *channel);
void pres_openclaw_session_event (PresOpenclawTransport *self,
                                  PresOpenclawChannel *channel,
                                  PresOpenclawFrame *frame);
void pres_openclaw_session_response (PresOpenclawTransport *self,
                                     PresOpenclawChannel *channel,
                                     PresOpenclawFrame *frame,
                                     const char *data,
                                     gsize length);

G_END_DECLS
