#pragma once

#include <gio/gio.h>

#include "pres-clock.h"
#include "pres-destinations.h"
#include "pres-link.h"
#include "pres-model.h"
#include "sensors/pres-idle-source.h"

G_BEGIN_DECLS

#define PRES_TYPE_MENU (pres_menu_get_type ())
G_DECLARE_FINAL_TYPE (PresMenu, pres_menu, PRES, MENU, GObject)

/*
 * The tray menu as a GMenuModel and the actions it names, kept in step with
 * the model, the link and the idle source. Pure GIO: the tray turns it into
 * widgets, the tests read it as it is.
 *
 * Actions (in pres_menu_get_action_group()):
 *   mode                 stateful "s": "auto", "busy", "appear-offline"
 *   busy-for             "s": seconds ("0" = until changed) or "tomorrow-0900"
 *   appear-offline-for   same as busy-for
 *   reconnect, quit      emit "reconnect-requested" and "quit-requested"
 *
 * "icon-name", "title" and "header" say the effective state for the
 * indicator's icon, title and accessible description.
 */
PresMenu *pres_menu_new (PresModel      *model,
                         PresLink       *link,
                         PresIdleSource *idle_source,
                         PresClock      *clock);

/* With more than one of DESTINATIONS, a line for each, named. */
void pres_menu_follow_destinations (PresMenu         *self,
                                    PresDestinations *destinations);

GMenuModel   *pres_menu_get_model        (PresMenu *self);
GActionGroup *pres_menu_get_action_group (PresMenu *self);
const char   *pres_menu_get_icon_name    (PresMenu *self);
const char   *pres_menu_get_title        (PresMenu *self);
const char   *pres_menu_get_header       (PresMenu *self);

G_END_DECLS
