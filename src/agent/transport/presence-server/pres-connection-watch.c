#define G_LOG_DOMAIN "pres-connection-watch"

#include "pres-connection-watch.h"

struct _PresConnectionWatch
{
  GSourceFunc callback;
  gpointer user_data;
  GSocket *socket;
  GSource *source;
};

PresConnectionWatch *
pres_connection_watch_new (GSourceFunc callback, gpointer user_data)
{
  PresConnectionWatch *self = g_new0 (PresConnectionWatch, 1);

  self->callback = callback;
  self->user_data = user_data;
  return self;
}

void
pres_connection_watch_free (PresConnectionWatch *self)
{
  if (self == NULL)
    return;
  pres_connection_watch_forget (self);
  g_free (self);
}

void
pres_connection_watch_disarm (PresConnectionWatch *self)
{
  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
}

void
pres_connection_watch_forget (PresConnectionWatch *self)
{
  pres_connection_watch_disarm (self);
  g_clear_object (&self->socket);
}

void
pres_connection_watch_set_stream (PresConnectionWatch *self, GIOStream *stream)
{
  g_autoptr (GIOStream) base = NULL;

  pres_connection_watch_forget (self);
  if (G_IS_TLS_CONNECTION (stream))
    g_object_get (stream, "base-io-stream", &base, NULL);
  else if (stream != NULL)
    base = g_object_ref (stream);
  if (G_IS_SOCKET_CONNECTION (base))
    self->socket = g_object_ref (g_socket_connection_get_socket (G_SOCKET_CONNECTION (base)));
}

static gboolean
on_socket_ready (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  PresConnectionWatch *self = user_data;

  g_debug ("The server closed the idle connection");
  /* Once readable it stays readable: fire once, then let go of it. */
  g_clear_pointer (&self->source, g_source_unref);
  g_clear_object (&self->socket);
  self->callback (self->user_data);
  return G_SOURCE_REMOVE;
}

void
pres_connection_watch_arm (PresConnectionWatch *self)
{
  pres_connection_watch_disarm (self);
  /* libsoup closes a connection after a "Connection: close" reply; a
   * closed socket's descriptor may already belong to someone else. */
  if (self->socket == NULL || g_socket_is_closed (self->socket)
      || !g_socket_is_connected (self->socket))
    {
      g_clear_object (&self->socket);
      return;
    }
  self->source = g_socket_create_source (self->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (self->source, G_SOURCE_FUNC (on_socket_ready), self, NULL);
  g_source_attach (self->source, NULL);
}
