#include <string.h>

#include "fuzz.h"
#include "pres-websocket.h"

/* The server side of RFC 6455 on any bytes from a client, cut into the
 * pieces the first byte chooses: frames, masking, fragments, control
 * frames, close codes, UTF-8 of text messages.  Messages are echoed, as a
 * stream answers a sub. */

typedef struct
{
  GString *out;
  gboolean close_requested;
  gboolean closed;
} Sink;

static void
sink_write (gpointer    transport,
            const void *data,
            gsize       length)
{
  Sink *sink = transport;

  /* Bounded like a connection's output: the beginning is enough. */
  if (sink->out->len < 1024 * 1024)
    g_string_append_len (sink->out, data, length);
}

static gsize
sink_get_queued (gpointer transport)
{
  return 0;
}

static void
sink_close (gpointer transport)
{
  ((Sink *) transport)->close_requested = TRUE;
}

static const PresWebSocketTransport sink_transport = { sink_write, sink_get_queued, sink_close };

static void
message_cb (PresWebSocket        *ws,
            PresWebSocketDataType type,
            const char           *data,
            gsize                 length,
            gpointer              user_data)
{
  g_assert_nonnull (data);
  /* Text is UTF-8, in which NUL is a character like any other. */
  for (const char *p = data; type == PRES_WEBSOCKET_TEXT && p < data + length;
       p = g_utf8_next_char (p))
    {
      gunichar c = *p == '\0' ? 0 : g_utf8_get_char_validated (p, data + length - p);

      g_assert (c != (gunichar) -1 && c != (gunichar) -2);
    }
  pres_websocket_send_text (ws, "{\"op\":\"snapshot\"}", 17);
}

static void
closed_cb (PresWebSocket *ws,
           gpointer       user_data)
{
  ((Sink *) user_data)->closed = TRUE;
}

static const PresWebSocketFuncs funcs = { message_cb, closed_cb };

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  Sink sink = { .out = g_string_new (NULL) };
  g_autofree guint8 *copy = NULL;
  g_autoptr (GByteArray) pending = g_byte_array_new ();
  PresWebSocket *ws;
  gsize piece, offset = 1;

  if (size < 1)
    {
      g_string_free (sink.out, TRUE);
      return 0;
    }
  piece = data[0] == 0 ? size : data[0];
  copy = g_memdup2 (data, size);
  ws = pres_websocket_new (&sink_transport, &sink, NULL, &funcs, &sink);
  pres_websocket_set_max_message (ws, 4096);
  /* As a connection does: what was not used is offered again with what
   * follows. */
  while (offset < size && !sink.close_requested && !sink.closed)
    {
      gsize n = MIN (piece, size - offset), used;

      g_byte_array_append (pending, copy + offset, n);
      offset += n;
      used = pres_websocket_feed (ws, pending->data, pending->len);
      g_assert_cmpuint (used, <=, pending->len);
      g_byte_array_remove_range (pending, 0, used);
    }
  pres_websocket_transport_closed (ws);
  g_assert_true (sink.closed);
  pres_websocket_unref (ws);
  g_string_free (sink.out, TRUE);
  return 0;
}
