#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *pres_instance_id_derive (const char *machine_id,
                               guint       uid);
char *pres_instance_id_get    (const char *state_dir,
                               GError    **error);

G_END_DECLS
