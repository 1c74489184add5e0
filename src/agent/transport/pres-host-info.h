#pragma once

#include <gio/gio.h>

#include "pres-wire.h"

G_BEGIN_DECLS

/* What this device could tell the server about itself. */
typedef struct
{
  char *host_name; /* NULL when it would say nothing (localhost, an address) */
  char *model;     /* NULL when unknown */
} PresHostInfo;

/* What the user allows to be shared (the share-* and host-alias settings). */
typedef struct
{
  gboolean share_host_name;
  char *host_alias; /* NULL = none */
  gboolean share_device_model;
} PresHostPrivacy;

PresHostInfo *pres_host_info_new_system (void);
PresHostInfo *pres_host_info_new (const char *host_name, const char *model);
void pres_host_info_free (PresHostInfo *info);

void pres_host_privacy_init_from_settings (PresHostPrivacy *privacy, GSettings *settings);
void pres_host_privacy_clear (PresHostPrivacy *privacy);

/* Whether NAME would identify a network address rather than a machine:
 * such names are never sent as "host". */
gboolean pres_host_name_is_meaningless (const char *name);

/*
 * Fills the heartbeat's optional fields for STATE: host details per PRIVACY,
 * LAST_INPUT_SECONDS (-1 = unknown) and STATUS_TEXT. appear_offline carries
 * neither input time nor host details, whatever the settings say.
 */
void pres_host_info_fill (const PresHostInfo *info,
                          const PresHostPrivacy *privacy,
                          PresState state,
                          gint64 last_input_seconds,
                          const char *status_text,
                          PresHeartbeat *hb);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresHostInfo, pres_host_info_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PresHostPrivacy, pres_host_privacy_clear)

G_END_DECLS
