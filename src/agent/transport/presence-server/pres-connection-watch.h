#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * Notices when the server closes the idle keep-alive connection, which is
 * how a stopped or restarted server shows itself between heartbeats. The
 * transport hands over each new connection libsoup makes, arms the watch
 * while no request is under way and disarms it before the next one, so
 * only a close (or unsolicited bytes) from the server can fire it.
 */
typedef struct _PresConnectionWatch PresConnectionWatch;

PresConnectionWatch *pres_connection_watch_new (GSourceFunc callback, gpointer user_data);
void pres_connection_watch_free (PresConnectionWatch *self);

/* The stream of libsoup's "network-event" G_SOCKET_CLIENT_COMPLETE. */
void pres_connection_watch_set_stream (PresConnectionWatch *self, GIOStream *stream);
void pres_connection_watch_forget (PresConnectionWatch *self);
void pres_connection_watch_arm (PresConnectionWatch *self);
void pres_connection_watch_disarm (PresConnectionWatch *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresConnectionWatch, pres_connection_watch_free)

G_END_DECLS
