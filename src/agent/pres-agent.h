#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char *server;     /* overrides the server-url setting when set */
  char *token_file; /* overrides the token source when set */
  char *transport;  /* "http" or "openclaw": overrides the transport setting when set */
  char *state_dir;  /* NULL = $XDG_STATE_HOME/presence-agent */
  gboolean no_tray; /* no tray icon and menu */
} PresAgentOptions;

#define PRES_TYPE_AGENT (pres_agent_get_type ())
G_DECLARE_FINAL_TYPE (PresAgent, pres_agent, PRES, AGENT, GObject)

/* Emits "quit-requested" when the user chooses Quit in the tray menu. */
PresAgent *pres_agent_new (const PresAgentOptions *options,
                           GError                **error);

gboolean pres_agent_export (PresAgent       *self,
                            GDBusConnection *connection,
                            GError         **error);
void     pres_agent_start  (PresAgent *self);

void     pres_agent_quit_async  (PresAgent           *self,
                                 const char          *reason,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data);
gboolean pres_agent_quit_finish (PresAgent     *self,
                                 GAsyncResult  *result,
                                 GError       **error);

G_END_DECLS
