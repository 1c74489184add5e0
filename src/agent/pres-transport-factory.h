#pragma once

#include "pres-transport.h"

G_BEGIN_DECLS

/*
 * The registry of destination kinds. It lives apart from the transport
 * interface, which knows no implementation: each kind's folder under
 * transport/ gives one constructor, and this table names it. A new kind
 * plugs in with one row here.
 */
typedef PresTransport *(*PresTransportNewFunc) (const PresTransportSetup *setup);

typedef struct
{
  const char *kind;           /* as the transport setting and D-Bus spell it */
  const char *const *schemes; /* URL schemes a destination of this kind is given */
  const char *label;          /* in words, for people */
  PresTransportNewFunc new_func;
} PresTransportKind;

/* The kind named KIND, or NULL. */
const PresTransportKind *pres_transport_kind_lookup (const char *kind);
/* The first kind that takes URL's scheme, or NULL. */
const PresTransportKind *pres_transport_kind_for_url (const char *url);
/* Every kind's name, for messages: "http, openclaw". Free with g_free(). */
char *pres_transport_kind_names (void);

/* Whether NAME is a kind; if not, the message names the kinds known. */
gboolean pres_transport_kind_check (const char *name, GError **error);
/* The transport of kind NAME; fails with a message naming the kinds known. */
PresTransport *
pres_transport_new (const char *name, const PresTransportSetup *setup, GError **error);

G_END_DECLS
