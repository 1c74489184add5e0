#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A loopback client for the front end's tests; every wait iterates the
 * default main context (where the server runs) and fails the test after
 * 10 s. */

/* Connected, non-blocking. */
int      client_connect (guint16 port);
void     client_send (int         fd,
                      const char *data,
                      gsize       length);
void     client_send_text (int         fd,
                           const char *text);
/* Reads into buf until done (buf, data) holds; FALSE at EOF when eof is
 * given, which then counts as done. */
gboolean client_wait (int       fd,
                      GString  *buf,
                      gboolean (*done) (GString *buf, gpointer data),
                      gpointer  data,
                      gboolean *eof);
/* One complete response from the front of buf: its status, head and body. */
gboolean take_response (GString *buf,
                        guint   *status,
                        char   **head,
                        char   **body);
/* Whether buf holds GPOINTER_TO_UINT (data) complete responses. */
gboolean has_responses (GString *buf,
                        gpointer data);
/* Waits for one response; returns its body and sets status (and head). */
char    *client_response (int      fd,
                          GString *buf,
                          guint   *status,
                          char   **head_out);
void     client_expect_eof (int      fd,
                            GString *buf);
/* Sends text a byte every 20 ms, round and round, until a response comes;
 * sent says how many bytes that took. */
char    *client_trickle (int         fd,
                         const char *text,
                         GString    *buf,
                         guint      *status,
                         gsize      *sent);

G_END_DECLS
