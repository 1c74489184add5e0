#pragma once

#include <glib.h>

#include "pres-state.h"

G_BEGIN_DECLS

/* What survives an agent restart: the manual choice and the status text. */
typedef struct
{
  PresManual manual;
  gint64     manual_until;
  char      *status_text;
} PresSavedState;

void pres_saved_state_clear (PresSavedState *saved);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PresSavedState, pres_saved_state_clear)

char    *pres_state_file_default_path (void);

/* A missing file is not an error: it fills in defaults and returns TRUE. */
gboolean pres_state_file_load (const char     *path,
                               PresSavedState *out_saved,
                               GError        **error);
/* Both replace the file whole (a temporary file, renamed). pres_state_file_save
 * waits for the disk (fsync), for a power cut; the unsynced one costs no disk
 * wait and survives the process's death (kill -9, a crash), not a power cut. */
gboolean pres_state_file_save (const char           *path,
                               const PresSavedState *saved,
                               GError              **error);
gboolean pres_state_file_save_unsynced (const char           *path,
                                        const PresSavedState *saved,
                                        GError              **error);

G_END_DECLS
