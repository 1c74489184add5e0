#pragma once

#include <glib-object.h>

#include "pres-clock.h"
#include "pres-state.h"

G_BEGIN_DECLS

#define PRES_MAX_MANUAL_SECONDS (365u * 24 * 60 * 60)

#define PRES_TYPE_MODEL (pres_model_get_type ())
G_DECLARE_FINAL_TYPE (PresModel, pres_model, PRES, MODEL, GObject)

PresModel *pres_model_new (PresClock *clock);

/* Facts from the sensors. */
void pres_model_set_idle           (PresModel *self,
                                    gboolean   idle);
void pres_model_set_locked         (PresModel *self,
                                    gboolean   locked);
void pres_model_set_asleep         (PresModel *self,
                                    gboolean   asleep);
void pres_model_set_session_active (PresModel *self,
                                    gboolean   active);
void pres_model_set_shutting_down  (PresModel *self,
                                    gboolean   shutting_down);
void pres_model_set_away_on_lock   (PresModel *self,
                                    gboolean   away_on_lock);
/* The desktop's Do Not Disturb, when followed: busy unless a manual state
 * is set or the machine is going offline. */
void pres_model_set_dnd            (PresModel *self,
                                    gboolean   dnd);

/* The user's choice. */
gboolean pres_model_set_manual      (PresModel  *self,
                                     PresManual  manual,
                                     guint       seconds,
                                     GError    **error);
void     pres_model_set_auto        (PresModel  *self);
gboolean pres_model_set_status_text (PresModel  *self,
                                     const char *text,
                                     GError    **error);

/* Restores what a previous run persisted; before pres_model_start(). */
void pres_model_restore (PresModel  *self,
                         PresManual  manual,
                         gint64      manual_until,
                         const char *status_text);
void pres_model_start   (PresModel *self);

/* Re-checks the manual expiry against the wall clock (after resume). */
void pres_model_check_expiry (PresModel *self);

PresState   pres_model_get_state         (PresModel *self);
PresState   pres_model_get_auto_state    (PresModel *self);
PresManual  pres_model_get_manual        (PresModel *self);
gint64      pres_model_get_manual_until  (PresModel *self);
const char *pres_model_get_status_text   (PresModel *self);
gboolean    pres_model_get_idle          (PresModel *self);
gboolean    pres_model_get_locked        (PresModel *self);
gboolean    pres_model_get_dnd           (PresModel *self);
gboolean    pres_model_get_asleep        (PresModel *self);
gboolean    pres_model_get_session_active (PresModel *self);
gboolean    pres_model_get_away_on_lock  (PresModel *self);
gint64      pres_model_get_state_since   (PresModel *self);

G_END_DECLS
