#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PRES_TYPE_IDLE_SOURCE (pres_idle_source_get_type ())
G_DECLARE_DERIVABLE_TYPE (PresIdleSource, pres_idle_source, PRES, IDLE_SOURCE, GObject)

/*
 * An idle backend: reports the "idle" fact once input has been idle for
 * "timeout" seconds, and back when input is seen. The base class is the
 * "none" source of desktops where input idleness cannot be seen: it is never
 * idle and cannot tell the idle time.
 */
struct _PresIdleSourceClass
{
  GObjectClass parent_class;

  const char *name;

  void  (*timeout_changed)     (PresIdleSource      *self);
  void  (*get_idle_time_async) (PresIdleSource      *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);
  guint (*get_idle_time_finish) (PresIdleSource *self,
                                 GAsyncResult   *result,
                                 GError        **error);
  /* Only for sources whose name changes (the chooser); NULL = name. */
  const char *(*get_name) (PresIdleSource *self);
  /* FALSE while a source is still being chosen; "name" is notified when
   * that ends. NULL: always settled. */
  gboolean    (*is_settled) (PresIdleSource *self);
};

PresIdleSource *pres_idle_source_new_none (void);

const char *pres_idle_source_get_name    (PresIdleSource *self);
gboolean    pres_idle_source_get_idle    (PresIdleSource *self);
gboolean    pres_idle_source_is_settled  (PresIdleSource *self);
guint       pres_idle_source_get_timeout (PresIdleSource *self);
void        pres_idle_source_set_timeout (PresIdleSource *self,
                                          guint           seconds);

void  pres_idle_source_get_idle_time_async  (PresIdleSource      *self,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
guint pres_idle_source_get_idle_time_finish (PresIdleSource *self,
                                             GAsyncResult   *result,
                                             GError        **error);

/* For implementations. */
void pres_idle_source_set_idle (PresIdleSource *self,
                                gboolean        idle);

G_END_DECLS
