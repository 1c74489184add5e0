#include <string.h>

#include "pres-websocket.h"

/* RFC 6455 framing over a buffer instead of a connection: what the server
 * writes is collected, client frames are fed in one piece and byte by byte. */

typedef struct
{
  GByteArray *written;
  gsize queued; /* what the transport claims is still unsent */
  gboolean close_requested;
  GPtrArray *messages; /* of GBytes, text prefixed with "T:" and binary with "B:" */
  gboolean closed;
} Fixture;

static void
fixture_write (gpointer    transport,
               const void *data,
               gsize       length)
{
  Fixture *f = transport;

  g_byte_array_append (f->written, data, length);
}

static gsize
fixture_get_queued (gpointer transport)
{
  return ((Fixture *) transport)->queued;
}

static void
fixture_close (gpointer transport)
{
  ((Fixture *) transport)->close_requested = TRUE;
}

static const PresWebSocketTransport transport = {
  .write = fixture_write,
  .get_queued = fixture_get_queued,
  .close = fixture_close,
};

static void
message_cb (PresWebSocket        *ws,
            PresWebSocketDataType type,
            const char           *data,
            gsize                 length,
            gpointer              user_data)
{
  Fixture *f = user_data;
  g_autoptr (GString) text = g_string_new (type == PRES_WEBSOCKET_TEXT ? "T:" : "B:");

  g_string_append_len (text, data, length);
  g_ptr_array_add (f->messages, g_string_free_to_bytes (g_steal_pointer (&text)));
}

static void
closed_cb (PresWebSocket *ws,
           gpointer       user_data)
{
  ((Fixture *) user_data)->closed = TRUE;
}

static const PresWebSocketFuncs funcs = { message_cb, closed_cb };

static PresWebSocket *
fixture_init (Fixture *f)
{
  f->written = g_byte_array_new ();
  f->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  f->queued = 0;
  f->close_requested = FALSE;
  f->closed = FALSE;
  return pres_websocket_new (&transport, f, NULL, &funcs, f);
}

static void
fixture_clear (Fixture *f)
{
  g_byte_array_unref (f->written);
  g_ptr_array_unref (f->messages);
}

/* A client frame: masked unless told otherwise. */
static void
append_frame (GByteArray *out,
              guint8      first_byte,
              const char *payload,
              gsize       length,
              gboolean    masked)
{
  const guint8 mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
  guint8 header[10];
  gsize header_len = 2;

  header[0] = first_byte;
  if (length < 126)
    header[1] = length;
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
  if (masked)
    header[1] |= 0x80;
  g_byte_array_append (out, header, header_len);
  if (masked)
    g_byte_array_append (out, mask, 4);
  for (gsize i = 0; i < length; i++)
    {
      guint8 byte = payload[i] ^ (masked ? mask[i & 3] : 0);

      g_byte_array_append (out, &byte, 1);
    }
}

/* Feeds frames as a connection would: new bytes appended to what is left. */
static void
feed (PresWebSocket *ws,
      GByteArray    *frames,
      gboolean       byte_by_byte)
{
  g_autoptr (GByteArray) pending = g_byte_array_new ();
  gsize step = byte_by_byte ? 1 : frames->len;

  for (gsize offset = 0; offset < frames->len; offset += step)
    {
      gsize used;

      g_byte_array_append (pending, frames->data + offset, MIN (step, frames->len - offset));
      used = pres_websocket_feed (ws, pending->data, pending->len);
      g_byte_array_remove_range (pending, 0, used);
    }
}

static void
assert_message (Fixture    *f,
                guint       index,
                const char *expected)
{
  GBytes *bytes;

  g_assert_cmpuint (f->messages->len, >, index);
  bytes = f->messages->pdata[index];
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), expected,
                   strlen (expected));
}

/* The server's close frame: its code. */
static guint
written_close_code (Fixture *f)
{
  const guint8 *w = f->written->data;
  gsize len = f->written->len;

  /* The close frame is the last one written; it is short. */
  for (gsize i = 0; i + 4 <= len; i++)
    {
      if (w[i] == 0x88 && w[i + 1] >= 2 && i + 2 + w[i + 1] == len)
        return w[i + 2] << 8 | w[i + 3];
    }
  return 0;
}

/* Feeds frames to a new WebSocket, one byte at a time: the close code it
 * answered with (0 for none), and no message may have got through. */
static guint
close_code_for (GByteArray *frames,
                gsize       max_message)
{
  Fixture f;
  g_autoptr (PresWebSocket) ws = fixture_init (&f);
  guint code;

  pres_websocket_set_max_message (ws, max_message);
  feed (ws, frames, TRUE);
  g_assert_cmpuint (f.messages->len, ==, 0);
  code = written_close_code (&f);
  g_assert_true (code == 0 || f.close_requested);
  fixture_clear (&f);
  return code;
}

static void
test_accept_key (void)
{
  g_autofree char *accept = pres_websocket_accept_key ("dGhlIHNhbXBsZSBub25jZQ==");

  /* The example of RFC 6455 §1.3. */
  g_assert_cmpstr (accept, ==, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void
test_masked (void)
{
  for (int by_byte = 0; by_byte < 2; by_byte++)
    {
      Fixture f;
      g_autoptr (PresWebSocket) ws = fixture_init (&f);
      g_autoptr (GByteArray) frames = g_byte_array_new ();
      g_autofree char *big = g_strnfill (300, 'x');
      g_autofree char *huge = g_strnfill (70000, 'y');

      pres_websocket_set_max_message (ws, 100000);
      append_frame (frames, 0x81, "{\"op\":\"sub\"}", 12, TRUE);
      append_frame (frames, 0x82, "\x01\x02", 2, TRUE);
      append_frame (frames, 0x81, big, 300, TRUE);   /* 16-bit length */
      append_frame (frames, 0x81, huge, 70000, TRUE); /* 64-bit length */
      append_frame (frames, 0x81, "", 0, TRUE);
      feed (ws, frames, by_byte);
      g_assert_cmpuint (f.messages->len, ==, 5);
      assert_message (&f, 0, "T:{\"op\":\"sub\"}");
      assert_message (&f, 1, "B:\x01\x02");
      g_assert_cmpuint (g_bytes_get_size (f.messages->pdata[2]), ==, 302);
      g_assert_cmpuint (g_bytes_get_size (f.messages->pdata[3]), ==, 70002);
      assert_message (&f, 4, "T:");
      g_assert_cmpuint (f.written->len, ==, 0);
      g_assert_true (pres_websocket_is_open (ws));
      fixture_clear (&f);
    }
}

static void
test_unmasked (void)
{
  g_autoptr (GByteArray) frames = g_byte_array_new ();

  append_frame (frames, 0x81, "hello", 5, FALSE);
  g_assert_cmpuint (close_code_for (frames, 1000), ==, 1002);
}

static void
test_fragmented (void)
{
  for (int by_byte = 0; by_byte < 2; by_byte++)
    {
      Fixture f;
      g_autoptr (PresWebSocket) ws = fixture_init (&f);
      g_autoptr (GByteArray) frames = g_byte_array_new ();

      /* "héllo" split inside the é: only the whole message must be UTF-8. */
      append_frame (frames, 0x01, "h\xc3", 2, TRUE);
      append_frame (frames, 0x89, "mid", 3, TRUE); /* a ping between fragments */
      append_frame (frames, 0x00, "\xa9l", 2, TRUE);
      append_frame (frames, 0x80, "lo", 2, TRUE);
      feed (ws, frames, by_byte);
      g_assert_cmpuint (f.messages->len, ==, 1);
      assert_message (&f, 0, "T:h\xc3\xa9llo");
      /* The pong, unmasked, with the ping's payload. */
      g_assert_cmpmem (f.written->data, f.written->len, "\x8a\x03mid", 5);
      fixture_clear (&f);
    }
}

static void
test_bad_fragments (void)
{
  const struct
  {
    guint8 first[2];
  } cases[] = {
    { { 0x80, 0x81 } }, /* continuation without a message */
    { { 0x01, 0x81 } }, /* a new message inside a fragmented one */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GByteArray) frames = g_byte_array_new ();

      append_frame (frames, cases[i].first[0], "a", 1, TRUE);
      append_frame (frames, cases[i].first[1], "b", 1, TRUE);
      g_assert_cmpuint (close_code_for (frames, 1000), ==, 1002);
    }
}

static void
test_ping (void)
{
  Fixture f;
  g_autoptr (PresWebSocket) ws = fixture_init (&f);
  g_autoptr (GByteArray) frames = g_byte_array_new ();
  g_autofree char *long_ping = g_strnfill (126, 'p');

  append_frame (frames, 0x89, "", 0, TRUE);
  append_frame (frames, 0x8a, "unsolicited pong", 16, TRUE);
  feed (ws, frames, TRUE);
  g_assert_cmpmem (f.written->data, f.written->len, "\x8a\x00", 2);
  g_assert_true (pres_websocket_is_open (ws));

  fixture_clear (&f);

  /* Control frames carry at most 125 bytes and are never fragmented. */
  g_byte_array_set_size (frames, 0);
  append_frame (frames, 0x89, long_ping, 126, TRUE);
  g_assert_cmpuint (close_code_for (frames, 1000), ==, 1002);
  g_byte_array_set_size (frames, 0);
  append_frame (frames, 0x09, "p", 1, TRUE);
  g_assert_cmpuint (close_code_for (frames, 1000), ==, 1002);
}

static void
test_close (void)
{
  Fixture f;
  g_autoptr (PresWebSocket) ws = fixture_init (&f);
  g_autoptr (GByteArray) frames = g_byte_array_new ();

  append_frame (frames, 0x88, "\x03\xe9going", 7, TRUE); /* 1001 */
  append_frame (frames, 0x81, "after close", 11, TRUE);
  feed (ws, frames, TRUE);
  /* Answered with the same code; nothing after the close is read. */
  g_assert_cmpuint (written_close_code (&f), ==, 1001);
  g_assert_true (f.close_requested);
  g_assert_cmpuint (f.messages->len, ==, 0);
  g_assert_false (f.closed);
  pres_websocket_transport_closed (ws);
  g_assert_true (f.closed);
  fixture_clear (&f);

  /* No code: answered with 1000; a code that must not be sent, or a
   * reason that is not UTF-8: refused. */
  g_byte_array_set_size (frames, 0);
  append_frame (frames, 0x88, "", 0, TRUE);
  g_assert_cmpuint (close_code_for (frames, 1000), ==, 1000);
  g_byte_array_set_size (frames, 0);
  append_frame (frames, 0x88, "\x03\xed", 2, TRUE); /* 1005 */
  g_assert_cmpuint (close_code_for (frames, 1000), ==, 1002);
  g_byte_array_set_size (frames, 0);
  append_frame (frames, 0x88, "\x03\xe8\xff", 3, TRUE);
  g_assert_cmpuint (close_code_for (frames, 1000), ==, 1007);
}

static void
test_oversize (void)
{
  g_autoptr (GByteArray) frames = g_byte_array_new ();
  g_autofree char *half = g_strnfill (600, 'h');
  guint8 header[] = { 0x81, 0x80 | 127, 0, 0, 0, 0, 0x40, 0, 0, 0 };

  /* Refused from the header alone, before a GiB of payload arrives. */
  g_byte_array_append (frames, header, sizeof header);
  g_assert_cmpuint (close_code_for (frames, 1000), ==, 1009);
  /* Fragments count together. */
  g_byte_array_set_size (frames, 0);
  append_frame (frames, 0x01, half, 600, TRUE);
  append_frame (frames, 0x80, half, 600, TRUE);
  g_assert_cmpuint (close_code_for (frames, 1000), ==, 1009);
  /* Reserved bits and unknown opcodes. */
  g_byte_array_set_size (frames, 0);
  append_frame (frames, 0xc1, "x", 1, TRUE);
  g_assert_cmpuint (close_code_for (frames, 1000), ==, 1002);
  g_byte_array_set_size (frames, 0);
  append_frame (frames, 0x83, "x", 1, TRUE);
  g_assert_cmpuint (close_code_for (frames, 1000), ==, 1002);
}

static void
test_bad_utf8 (void)
{
  const char *bad[] = { "\xff", "\xc3", "a\xed\xa0\x80" /* a surrogate */ };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GByteArray) frames = g_byte_array_new ();

      append_frame (frames, 0x81, bad[i], strlen (bad[i]), TRUE);
      g_assert_cmpuint (close_code_for (frames, 1000), ==, 1007);
    }
}

static void
test_send (void)
{
  Fixture f;
  g_autoptr (PresWebSocket) ws = fixture_init (&f);
  g_autofree char *medium = g_strnfill (200, 'm');

  pres_websocket_send_text (ws, "{}", 2);
  pres_websocket_send_text (ws, medium, 200);
  g_assert_cmpuint (f.written->len, ==, 4 + 4 + 200);
  g_assert_cmpmem (f.written->data, 4, "\x81\x02{}", 4);
  g_assert_cmpmem (f.written->data + 4, 4, "\x81\x7e\x00\xc8", 4);
  pres_websocket_ping (ws);
  g_assert_cmpmem (f.written->data + 208, 2, "\x89\x00", 2);
  fixture_clear (&f);
}

static void
test_slow_consumer (void)
{
  Fixture f;
  g_autoptr (PresWebSocket) ws = fixture_init (&f);

  pres_websocket_set_max_queued (ws, 1000);
  f.queued = 990;
  pres_websocket_send_text (ws, "fits", 4);
  g_assert_true (pres_websocket_is_open (ws));
  /* Past the cap: closed with 1008 instead of queued. */
  f.queued = 998;
  pres_websocket_send_text (ws, "too much", 8);
  g_assert_false (pres_websocket_is_open (ws));
  g_assert_cmpuint (written_close_code (&f), ==, 1008);
  g_assert_true (f.close_requested);
  fixture_clear (&f);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/websocket/accept-key", test_accept_key);
  g_test_add_func ("/websocket/masked", test_masked);
  g_test_add_func ("/websocket/unmasked", test_unmasked);
  g_test_add_func ("/websocket/fragmented", test_fragmented);
  g_test_add_func ("/websocket/bad-fragments", test_bad_fragments);
  g_test_add_func ("/websocket/ping", test_ping);
  g_test_add_func ("/websocket/close", test_close);
  g_test_add_func ("/websocket/oversize", test_oversize);
  g_test_add_func ("/websocket/bad-utf8", test_bad_utf8);
  g_test_add_func ("/websocket/send", test_send);
  g_test_add_func ("/websocket/slow-consumer", test_slow_consumer);
  return g_test_run ();
}
