#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *pres_instance_id_derive (const char *machine_id,
                               guint       uid);
/* machine_id_path NULL = /etc/machine-id */
char *pres_instance_id_get    (const char *machine_id_path,
                               const char *state_dir,
                               GError    **error);

G_END_DECLS
