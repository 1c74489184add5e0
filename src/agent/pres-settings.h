#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PRES_SETTINGS_SCHEMA "org.presence.Agent"

GSettings *pres_settings_new (GError **error);

G_END_DECLS
