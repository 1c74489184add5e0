#pragma once

/* Shared by the X11 idle sources; needs HAVE_X11. */

#include <X11/Xlib.h>

#include "pres-idle-x11.h"

G_BEGIN_DECLS

struct _PresIdleX11Class
{
  PresIdleSourceClass parent_class;

  /* Each event read from the connection. */
  void (*handle_event) (PresIdleX11 *self,
                        XEvent      *event);
};

/* NULL once the server is gone. */
Display *pres_idle_x11_get_display    (PresIdleX11 *self);

/* Takes @display: watches its fd, reports its loss as "lost". */
void     pres_idle_x11_attach         (PresIdleX11 *self,
                                       Display     *display);

/* After any Xlib call: handles events a reply left queued in Xlib. */
void     pres_idle_x11_process_events (PresIdleX11 *self);

gint64   pres_idle_x11_timeout_ms     (PresIdleSource *source);

/* Completes a get_idle_time_async; @idle_ms < 0 means the server is gone. */
void     pres_idle_x11_report_idle_ms (PresIdleSource      *self,
                                       gint64               idle_ms,
                                       gpointer             source_tag,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);

/* "x11-screensaver"; takes @display on success only. */
PresIdleSource *pres_idle_x11_saver_new (Display *display,
                                         GError **error);

G_END_DECLS
