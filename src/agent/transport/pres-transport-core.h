#pragma once

#include <libsoup/soup.h>

#include "pres-backoff.h"
#include "pres-heartbeat-builder.h"
#include "pres-token-source.h"
#include "pres-transport.h"

G_BEGIN_DECLS

/*
 * What every transport keeps, embedded in its instance: its peers and
 * configuration, the HTTP session, the token, and the quit under way.
 * Only transports include this.
 */
struct _PresTransportCore
{
  PresModel *model;
  PresLink *link;
  GSettings *settings;
  char *instance_id;
  char *server_override;
  char *token_file;

  SoupSession *soup;
  GCancellable *cancellable; /* the transport's lifetime */
  GRand *rand;
  PresBackoff *backoff;
  PresHeartbeatBuilder *builder;

  char *server_url; /* as configured: tokens are filed under it */
  char *token;
  gboolean token_known;
  gboolean token_lookup_running;

  gboolean started;
  GTask *quit_task;
  char *quit_reason; /* set once quitting */
};

/* A setting that matters to every transport. */
typedef enum
{
  PRES_TRANSPORT_SETTING_OTHER,
  PRES_TRANSPORT_SETTING_SERVER,  /* where to connect, or whether in the clear */
  PRES_TRANSPORT_SETTING_PRIVACY, /* what may be said about this host */
} PresTransportSetting;

/* Turns the configured URL into the one to open, or NULL with a message
 * meant for LastError. */
typedef char *(*PresTransportUrlCheck) (const char *url, gboolean allow_insecure, GError **error);

void pres_transport_core_init (PresTransportCore *core, const PresTransportSetup *setup);
/* TRANSPORT is the instance CORE is embedded in. */
void pres_transport_core_dispose (PresTransportCore *core, gpointer transport);
void pres_transport_core_finalize (PresTransportCore *core);

/* Reads the server URL (the override or the setting) into server_url and
 * the link, and returns what CHECK makes of it; on refusal the link says
 * why. */
char *pres_transport_core_check_url (PresTransportCore *core, PresTransportUrlCheck check);
/* A change of KEY to a server-url that the override hides is OTHER. */
PresTransportSetting pres_transport_core_classify_setting (PresTransportCore *core,
                                                           const char *key);

/* The next attempt looks the token up again (unless a lookup runs). */
void pres_transport_core_forget_token (PresTransportCore *core);
/* Starts a lookup unless one runs; CALLBACK gets a reference on TRANSPORT
 * and calls pres_transport_core_take_token(). */
void pres_transport_core_lookup_token (PresTransportCore *core,
                                       gpointer transport,
                                       GAsyncReadyCallback callback);
/* The token found (NULL if none) replaces the old one. FALSE when the
 * transport went away meanwhile: nothing more is to be done. */
gboolean pres_transport_core_take_token (PresTransportCore *core,
                                         GAsyncResult *result,
                                         PresTokenOrigin *origin,
                                         GError **error);

/* Quitting goes on (nothing more is sent) after the caller is told. */
void pres_transport_core_finish_quit (PresTransportCore *core);

G_END_DECLS
