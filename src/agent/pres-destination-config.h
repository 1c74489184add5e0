#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PRES_DESTINATION_SCHEMA "org.presence.Agent.Destination"
#define PRES_DEFAULT_DESTINATION "default"

/*
 * What the settings say about one destination. An empty `destinations`
 * list means one destination named "default", made of the `transport` and
 * `server-url` keys, which are read as they are and never rewritten (see
 * the schema): an upgrade needs no migration, and a downgrade loses nothing.
 */
typedef struct
{
  char *name;
  char *kind;
  char *url;            /* NULL: follow the server-url key (the default destination) */
  GVariant *options;    /* a{ss} */
  char *problem;        /* why this destination cannot run, in words; NULL when it can */
  gboolean from_legacy; /* made of transport + server-url */
} PresDestinationConfig;

void pres_destination_config_free (PresDestinationConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresDestinationConfig, pres_destination_config_free)

/* Every destination the settings name, the first first; never empty.
 * KIND and URL (the command line's --transport and --server, or NULL)
 * override the first destination's. A destination that cannot run (a bad
 * name, an unknown kind, no URL) is in the list with its problem. */
GPtrArray *pres_destination_configs_read (GSettings  *settings,
                                          const char *kind,
                                          const char *url);

/* The settings of the destination NAME, or NULL with a message when the
 * name cannot be a settings path or the schema is not installed. */
GSettings *pres_destination_settings_new (GSettings  *settings,
                                          const char *name,
                                          GError    **error);

G_END_DECLS
