#define G_LOG_DOMAIN "pres-websocket"

#include <string.h>

#include "pres-http-parser.h"
#include "pres-websocket.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum
{
  OP_CONTINUATION = 0x0,
  OP_TEXT = 0x1,
  OP_BINARY = 0x2,
  OP_CLOSE = 0x8,
  OP_PING = 0x9,
  OP_PONG = 0xa,
};

enum
{
  CLOSE_NORMAL = 1000,
  CLOSE_PROTOCOL_ERROR = 1002,
  CLOSE_NO_STATUS = 1005,
  CLOSE_BAD_DATA = 1007,
  CLOSE_POLICY_VIOLATION = 1008,
  CLOSE_TOO_BIG = 1009,
};

typedef enum
{
  STATE_OPEN,
  STATE_CLOSING, /* our close frame is queued */
  STATE_CLOSED,
} State;

struct _PresWebSocket
{
  gint ref_count;
  State state;
  const PresWebSocketTransport *transport;
  gpointer transport_data;
  GDestroyNotify transport_destroy;
  const PresWebSocketFuncs *funcs;
  gpointer user_data;
  gsize max_message;
  gsize max_queued;
  GByteArray *fragments; /* a fragmented message so far; NULL between messages */
  PresWebSocketDataType fragments_type;
};

char *
pres_websocket_accept_key (const char *key)
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_len = sizeof digest;

  g_checksum_update (sha1, (const guchar *) key, -1);
  g_checksum_update (sha1, (const guchar *) WS_GUID, -1);
  g_checksum_get_digest (sha1, digest, &digest_len);
  return g_base64_encode (digest, digest_len);
}

static void
send_frame (PresWebSocket *ws,
            guint8         opcode,
            const void    *payload,
            gsize          length)
{
  guint8 header[10];
  gsize header_len;

  /* Server frames are never masked and never fragmented. */
  header[0] = 0x80 | opcode;
  if (length < 126)
    {
      header[1] = length;
      header_len = 2;
    }
  else if (length <= G_MAXUINT16)
    {
      header[1] = 126;
      header[2] = length >> 8;
      header[3] = length & 0xff;
      header_len = 4;
    }
  else
    {
      header[1] = 127;
      for (int i = 0; i < 8; i++)
        header[2 + i] = ((guint64) length >> (56 - 8 * i)) & 0xff;
      header_len = 10;
    }
  ws->transport->write (ws->transport_data, header, header_len);
  if (length > 0)
    ws->transport->write (ws->transport_data, payload, length);
}

void
pres_websocket_close (PresWebSocket *ws,
                      gushort        code,
                      const char    *reason)
{
  guint8 payload[125];
  gsize reason_len = MIN (strlen (reason), sizeof payload - 2);

  if (ws->state != STATE_OPEN)
    return;
  g_debug ("closing with %u: %s", code, reason);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  memcpy (payload + 2, reason, reason_len);
  send_frame (ws, OP_CLOSE, payload, 2 + reason_len);
  ws->state = STATE_CLOSING;
  g_clear_pointer (&ws->fragments, g_byte_array_unref);
  ws->transport->close (ws->transport_data);
}

void
pres_websocket_send_text (PresWebSocket *ws,
                          const char    *text,
                          gsize          length)
{
  if (ws->state != STATE_OPEN)
    return;
  if (ws->transport->get_queued (ws->transport_data) + length > ws->max_queued)
    {
      pres_websocket_close (ws, CLOSE_POLICY_VIOLATION, "too slow: messages piled up unread");
      return;
    }
  send_frame (ws, OP_TEXT, text, length);
}

void
pres_websocket_ping (PresWebSocket *ws)
{
  if (ws->state == STATE_OPEN)
    send_frame (ws, OP_PING, NULL, 0);
}

/* UTF-8 as RFC 3629 has it: NUL is a character, not an end. */
static gboolean
utf8_is_valid (const char *data,
               gsize       length)
{
  const char *end;

  while (!g_utf8_validate_len (data, length, &end))
    {
      if (*end != '\0')
        return FALSE;
      length -= end + 1 - data;
      data = end + 1;
    }
  return TRUE;
}

static void
deliver (PresWebSocket        *ws,
         PresWebSocketDataType type,
         const char           *data,
         gsize                 length)
{
  if (type == PRES_WEBSOCKET_TEXT && !utf8_is_valid (data, length))
    {
      pres_websocket_close (ws, CLOSE_BAD_DATA, "text message is not valid UTF-8");
      return;
    }
  /* An empty fragmented message has no buffer: its consumers get "". */
  ws->funcs->message (ws, type, data != NULL ? data : "", length, ws->user_data);
}

static gboolean
close_code_is_valid (guint code)
{
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

static void
handle_close (PresWebSocket *ws,
              const guint8  *payload,
              gsize          length)
{
  guint code = CLOSE_NO_STATUS;

  if (length == 1)
    {
      pres_websocket_close (ws, CLOSE_PROTOCOL_ERROR, "close frame with a 1-byte payload");
      return;
    }
  if (length >= 2)
    {
      code = payload[0] << 8 | payload[1];
      if (!close_code_is_valid (code))
        {
          pres_websocket_close (ws, CLOSE_PROTOCOL_ERROR, "invalid close code");
          return;
        }
      if (!utf8_is_valid ((const char *) payload + 2, length - 2))
        {
          pres_websocket_close (ws, CLOSE_BAD_DATA, "close reason is not valid UTF-8");
          return;
        }
    }
  /* Echo the code, as RFC 6455 §5.5.1 asks; 1005 is never sent. */
  pres_websocket_close (ws, code == CLOSE_NO_STATUS ? CLOSE_NORMAL : code, "");
}

static void
handle_frame (PresWebSocket *ws,
              guint8         opcode,
              gboolean       fin,
              guint8        *payload,
              gsize          length)
{
  switch (opcode)
    {
    case OP_TEXT:
    case OP_BINARY:
      if (ws->fragments != NULL)
        {
          pres_websocket_close (ws, CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one");
          return;
        }
      if (fin)
        {
          deliver (ws, opcode, (const char *) payload, length);
          return;
        }
      ws->fragments = g_byte_array_sized_new (length);
      ws->fragments_type = opcode;
      g_byte_array_append (ws->fragments, payload, length);
      return;
    case OP_CONTINUATION:
      if (ws->fragments == NULL)
        {
          pres_websocket_close (ws, CLOSE_PROTOCOL_ERROR, "continuation without a message");
          return;
        }
      g_byte_array_append (ws->fragments, payload, length);
      if (fin)
        {
          g_autoptr (GByteArray) message = g_steal_pointer (&ws->fragments);

          deliver (ws, ws->fragments_type, (const char *) message->data, message->len);
        }
      return;
    case OP_CLOSE:
      handle_close (ws, payload, length);
      return;
    case OP_PING:
      send_frame (ws, OP_PONG, payload, length);
      return;
    case OP_PONG:
      return;
    default:
      g_assert_not_reached ();
    }
}

static gssize
fail (PresWebSocket *ws,
      gushort        code,
      const char    *reason)
{
  pres_websocket_close (ws, code, reason);
  return -1;
}

/* One frame from data: its total length, 0 when incomplete, or -1 after
 * closing the connection for a protocol violation. */
static gssize
take_frame (PresWebSocket *ws,
            guint8        *data,
            gsize          length)
{
  guint8 opcode, *mask, *payload;
  gboolean fin;
  guint64 payload_len;
  gsize header_len = 2, so_far;

  if (length < 2)
    return 0;
  fin = (data[0] & 0x80) != 0;
  opcode = data[0] & 0x0f;
  if ((data[0] & 0x70) != 0)
    return fail (ws, CLOSE_PROTOCOL_ERROR, "reserved bits set");
  if (opcode > OP_BINARY && opcode != OP_CLOSE && opcode != OP_PING && opcode != OP_PONG)
    return fail (ws, CLOSE_PROTOCOL_ERROR, "unknown opcode");
  if ((data[1] & 0x80) == 0)
    return fail (ws, CLOSE_PROTOCOL_ERROR, "client frames must be masked");
  payload_len = data[1] & 0x7f;
  if ((opcode & 0x8) != 0 && (!fin || payload_len > 125))
    return fail (ws, CLOSE_PROTOCOL_ERROR, "invalid control frame");
  if (payload_len == 126)
    {
      if (length < 4)
        return 0;
      payload_len = data[2] << 8 | data[3];
      header_len = 4;
    }
  else if (payload_len == 127)
    {
      if (length < 10)
        return 0;
      payload_len = 0;
      for (int i = 0; i < 8; i++)
        payload_len = payload_len << 8 | data[2 + i];
      if (payload_len >> 63)
        return fail (ws, CLOSE_PROTOCOL_ERROR, "invalid frame length");
      header_len = 10;
    }
  /* Refused from the header, before the payload is buffered. */
  so_far = ws->fragments != NULL && opcode == OP_CONTINUATION ? ws->fragments->len : 0;
  if ((opcode & 0x8) == 0 && payload_len > ws->max_message - so_far)
    return fail (ws, CLOSE_TOO_BIG, "message too big");

  if (length < header_len + 4 + payload_len)
    return 0;
  mask = data + header_len;
  payload = mask + 4;
  for (gsize i = 0; i < payload_len; i++)
    payload[i] ^= mask[i & 3];
  handle_frame (ws, opcode, fin, payload, payload_len);
  return header_len + 4 + payload_len;
}

gsize
pres_websocket_feed (PresWebSocket *ws,
                     guint8        *data,
                     gsize          length)
{
  g_autoptr (PresWebSocket) hold = pres_websocket_ref (ws);
  gsize used = 0;

  while (ws->state == STATE_OPEN && used < length)
    {
      gssize n = take_frame (ws, data + used, length - used);

      if (n == 0)
        break;
      if (n < 0)
        return length;
      used += n;
    }
  /* After our close frame the rest is not read. */
  return ws->state == STATE_OPEN ? used : length;
}

void
pres_websocket_transport_closed (PresWebSocket *ws)
{
  g_autoptr (PresWebSocket) hold = pres_websocket_ref (ws);

  if (ws->state == STATE_CLOSED)
    return;
  ws->state = STATE_CLOSED;
  ws->funcs->closed (ws, ws->user_data);
}

PresWebSocket *
pres_websocket_new (const PresWebSocketTransport *transport,
                    gpointer                      transport_data,
                    GDestroyNotify                transport_destroy,
                    const PresWebSocketFuncs     *funcs,
                    gpointer                      user_data)
{
  PresWebSocket *ws = g_new0 (PresWebSocket, 1);

  ws->ref_count = 1;
  ws->transport = transport;
  ws->transport_data = transport_data;
  ws->transport_destroy = transport_destroy;
  ws->funcs = funcs;
  ws->user_data = user_data;
  ws->max_message = PRES_WEBSOCKET_MAX_MESSAGE;
  ws->max_queued = PRES_WEBSOCKET_MAX_QUEUED;
  return ws;
}

PresWebSocket *
pres_websocket_ref (PresWebSocket *ws)
{
  ws->ref_count++;
  return ws;
}

void
pres_websocket_unref (PresWebSocket *ws)
{
  if (--ws->ref_count > 0)
    return;
  g_clear_pointer (&ws->fragments, g_byte_array_unref);
  if (ws->transport_destroy != NULL)
    ws->transport_destroy (ws->transport_data);
  g_free (ws);
}

void
pres_websocket_set_max_message (PresWebSocket *ws,
                                gsize          max_message)
{
  ws->max_message = max_message;
}

void
pres_websocket_set_max_queued (PresWebSocket *ws,
                               gsize          max_queued)
{
  ws->max_queued = max_queued;
}

gboolean
pres_websocket_is_open (PresWebSocket *ws)
{
  return ws->state == STATE_OPEN;
}

/* --- on a PresHttpServer connection ------------------------------------------- */

static void
conn_write (gpointer    transport,
            const void *data,
            gsize       length)
{
  pres_http_connection_write (transport, data, length);
}

static gsize
conn_get_queued (gpointer transport)
{
  return pres_http_connection_get_queued (transport);
}

static void
conn_close (gpointer transport)
{
  pres_http_connection_close (transport);
}

static const PresWebSocketTransport conn_transport = {
  .write = conn_write,
  .get_queued = conn_get_queued,
  .close = conn_close,
};

static gsize
upgraded_input (guint8  *data,
                gsize    length,
                gpointer user_data)
{
  return pres_websocket_feed (user_data, data, length);
}

static void
upgraded_closed (gpointer user_data)
{
  pres_websocket_transport_closed (user_data);
}

static const PresHttpUpgradeFuncs upgrade_funcs = {
  .input = upgraded_input,
  .closed = upgraded_closed,
};

static gboolean
key_is_valid (const char *key)
{
  g_autofree guchar *raw = NULL;
  gsize raw_len = 0;

  /* 16 random bytes in base64: 22 characters and "==". */
  if (key == NULL || strlen (key) != 24 || !g_str_has_suffix (key, "==") ||
      strspn (key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != 22)
    return FALSE;
  raw = g_base64_decode (key, &raw_len);
  return raw_len == 16;
}

static const char *
check_handshake (PresHttpRequest *req)
{
  const char *upgrade = pres_http_request_get_header (req, "Upgrade");
  const char *connection = pres_http_request_get_header (req, "Connection");
  const char *version = pres_http_request_get_header (req, "Sec-WebSocket-Version");

  if (upgrade == NULL || !pres_http_header_has_token (upgrade, "websocket") ||
      connection == NULL || !pres_http_header_has_token (connection, "upgrade"))
    return "WebSocket handshake: needs Upgrade: websocket and Connection: Upgrade";
  if (version == NULL || !g_str_equal (version, "13"))
    return "WebSocket handshake: Sec-WebSocket-Version must be 13";
  if (!key_is_valid (pres_http_request_get_header (req, "Sec-WebSocket-Key")))
    return "WebSocket handshake: Sec-WebSocket-Key must be 16 bytes in base64";
  return NULL;
}

PresWebSocket *
pres_websocket_accept (PresHttpRequest          *req,
                       const PresWebSocketFuncs *funcs,
                       gpointer                  user_data)
{
  const char *problem = check_handshake (req);
  g_autofree char *accept = NULL;
  PresHttpConnection *conn;
  PresWebSocket *ws;

  /* Like every other route: another method is a 405 that says which. */
  if (!g_str_equal (pres_http_request_get_method (req), "GET"))
    {
      pres_http_request_add_response_header (req, "Allow", "GET");
      pres_http_request_respond_error (req, 405, "method_not_allowed",
                                       "WebSocket handshake: only GET allowed");
      return NULL;
    }
  if (problem != NULL)
    {
      g_debug ("%s", problem);
      pres_http_request_add_response_header (req, "Sec-WebSocket-Version", "13");
      pres_http_request_respond_error (req, 400, "bad_handshake", problem);
      return NULL;
    }
  accept = pres_websocket_accept_key (pres_http_request_get_header (req, "Sec-WebSocket-Key"));
  pres_http_request_add_response_header (req, "Upgrade", "websocket");
  pres_http_request_add_response_header (req, "Connection", "Upgrade");
  pres_http_request_add_response_header (req, "Sec-WebSocket-Accept", accept);
  ws = pres_websocket_new (&conn_transport, NULL, (GDestroyNotify) pres_http_connection_unref,
                           funcs, user_data);
  /* The connection holds the socket too, until it is closed. */
  conn = pres_http_request_upgrade (req, &upgrade_funcs, pres_websocket_ref (ws),
                                    (GDestroyNotify) pres_websocket_unref);
  if (conn == NULL)
    {
      ws->transport_destroy = NULL;
      ws->state = STATE_CLOSED;
      pres_websocket_unref (ws);
      return NULL;
    }
  ws->transport_data = conn;
  return ws;
}
