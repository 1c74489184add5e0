#pragma once

#include <gio/gio.h>

#include "pres-link.h"
#include "pres-model.h"
#include "sensors/pres-idle-source.h"

G_BEGIN_DECLS

#define PRES_TYPE_TRANSPORT (pres_transport_get_type ())
G_DECLARE_INTERFACE (PresTransport, pres_transport, PRES, TRANSPORT, GObject)

/*
 * Keeps the model's effective state on a server. A transport observes the
 * model itself ("state-changed"): every change goes out at once, and it
 * beats on its own between changes. It owns its retries and its
 * connection, and reports how that goes as facts on its PresLink: the
 * server, the connection, the last error, heartbeat and reply, and what
 * others see. The connection turns disconnected once a leave is out (or
 * turned out not to be needed): only then may a sleep or shutdown go on.
 *
 * "left" is emitted at that same moment.
 */
typedef struct _PresTransportCore PresTransportCore;

struct _PresTransportInterface
{
  GTypeInterface parent_iface;

  /* The state every transport keeps (pres-transport-core.h). */
  PresTransportCore *(*get_core) (PresTransport *self);
  /* Called once, with the core marked started. */
  void (*start) (PresTransport *self);
  /* Called when started and not quitting, the token forgotten. */
  void (*reconnect) (PresTransport *self);
  void (*network_changed) (PresTransport *self);
  void (*resume) (PresTransport *self);
  /* Called once, with the core's quit begun: ends with
   * pres_transport_core_finish_quit(). */
  void (*leave) (PresTransport *self, const char *reason);
};

/* What a transport is built from. */
typedef struct
{
  PresModel *model;
  PresLink *link;
  PresIdleSource *idle_source;
  GSettings *settings;
  const char *instance_id;
  const char *state_dir;  /* where a transport keeps its keys and tokens */
  const char *server;     /* overrides the server-url setting when not NULL */
  const char *token_file; /* overrides the token lookup when not NULL */
} PresTransportSetup;

void pres_transport_start (PresTransport *self);
/* Drops the connection, looks the token up again and sends now. */
void pres_transport_reconnect (PresTransport *self);
/* The network or the machine came back: whatever the backoff says, try now. */
void pres_transport_network_changed (PresTransport *self);
void pres_transport_resume (PresTransport *self);

/* Leaves with REASON (quit, shutdown…) and stops; finishes within 2 s
 * whatever the server does. */
void pres_transport_leave_async (PresTransport *self,
                                 const char *reason,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
gboolean pres_transport_leave_finish (PresTransport *self, GAsyncResult *result, GError **error);

/* For implementations. */
void pres_transport_emit_left (PresTransport *self);

G_END_DECLS
