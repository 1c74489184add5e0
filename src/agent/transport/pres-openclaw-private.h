#pragma once

#include "pres-host-info.h"
#include "pres-openclaw-identity.h"
#include "pres-openclaw-transport.h"
#include "pres-transport-core.h"

G_BEGIN_DECLS

/* Shared by pres-openclaw-transport.c (life, retries, entry points) and
 * pres-openclaw-session.c (the connection); nobody else includes it. */

#define BEACON_INTERVAL_MS 30000
#define HANDSHAKE_TIMEOUT_S 30
#define LEAVE_DEADLINE_MS 1800
#define WATCHDOG_PERIOD_S 15
#define RECONNECT_MAX_MS 5000

typedef enum
{
  PHASE_IDLE,      /* no socket: waiting for a retry, a token, or off line */
  PHASE_OPENING,   /* the WebSocket upgrade is under way */
  PHASE_CHALLENGE, /* waiting for connect.challenge */
  PHASE_HELLO,     /* our connect is out, waiting for hello-ok */
  PHASE_READY,     /* beacons flow */
  PHASE_CLOSING,   /* a leave: our close frame is out */
} Phase;

struct _PresOpenclawTransport
{
  GObject parent_instance;

  PresTransportCore core;
  char *state_dir;

  GCancellable *attempt_cancellable; /* one connection attempt */
  SoupWebsocketConnection *ws;
  PresOpenclawIdentity *identity;
  PresHostInfo *host_info;

  char *open_url; /* NULL while server_url is refused */
  char *device_token;
  gboolean use_device_token;

  Phase phase;
  guint64 next_request;
  char *connect_id;
  guint tick_ms;
  gint64 last_frame; /* monotonic µs of the last frame from the gateway */

  guint retry_id;
  guint beat_id;
  guint handshake_id;
  guint watchdog_id;
  guint leave_deadline_id;

  gboolean building;
  const char *pending_reason; /* a beacon wanted while one is being built */
};

/* pres-openclaw-transport.c */
void pres_openclaw_transport_fail (PresOpenclawTransport *self,
                                   PresConnection connection,
                                   const char *message,
                                   guint retry_ms);
void pres_openclaw_transport_retry_in (PresOpenclawTransport *self, guint delay_ms);
void pres_openclaw_transport_left (PresOpenclawTransport *self);
gboolean pres_openclaw_transport_is_offline (PresOpenclawTransport *self);

/* pres-openclaw-session.c */
void pres_openclaw_session_open (PresOpenclawTransport *self);
void pres_openclaw_session_drop (PresOpenclawTransport *self);
void pres_openclaw_session_leave (PresOpenclawTransport *self);
void pres_openclaw_session_beacon (PresOpenclawTransport *self, const char *reason);

G_END_DECLS
