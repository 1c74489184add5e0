#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PRES_SETTINGS_SCHEMA "org.presence.Agent"

GSettings *pres_settings_new (GError **error);

/* Stores VALUE under KEY, or says why the backend did not store it. */
gboolean pres_settings_store_uint (GSettings  *settings,
                                   const char *key,
                                   guint       value,
                                   GError    **error);

G_END_DECLS
