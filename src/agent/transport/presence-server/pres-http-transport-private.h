#pragma once

#include "pres-connection-watch.h"
#include "pres-http-transport.h"
#include "pres-transport-core.h"

G_BEGIN_DECLS

/*
 * One exchange at a time, in order: a heartbeat that overtook a leave on a
 * second connection would bring back an instance that just left. Whatever
 * is wanted while an exchange is under way waits in queued_reason; since
 * every heartbeat carries the full state, waiting requests merge into one.
 * A single timer holds the next send (change, periodic beat or retry).
 */

struct _PresHttpTransport
{
  GObject parent_instance;

  PresTransportCore core;
  PresConnectionWatch *watch;

  char *base_url; /* NULL while server_url is refused */

  guint interval_ms;

  guint timer_id;
  gint64 timer_due;
  const char *timer_reason;

  gboolean busy; /* an exchange (or the idle-time query before it) is under way */
  gboolean leaving;
  const char *queued_reason;
  gint64 last_change_sent;

  gboolean failing;  /* the last exchange failed: changes wait for the retry */
  gboolean sent_any; /* the server may hold this instance */
  gboolean left;

  guint quit_deadline_id;
};

/* Shared by pres-http-transport.c (sending) and pres-http-transport-control.c
 * (what the rest of the agent asks of it). */
void pres_http_transport_dispatch (PresHttpTransport *self, const char *reason);
void pres_http_transport_schedule_now (PresHttpTransport *self, const char *reason);
void pres_http_transport_schedule_change (PresHttpTransport *self, const char *reason);
void pres_http_transport_check_server_url (PresHttpTransport *self);
void pres_http_transport_finish_quit (PresHttpTransport *self);
void pres_http_transport_settings_changed (GSettings *settings,
                                           const char *key,
                                           PresHttpTransport *self);
void pres_http_transport_iface_init (PresTransportInterface *iface);

G_END_DECLS
