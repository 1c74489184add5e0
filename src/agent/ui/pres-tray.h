#pragma once

#include "pres-menu.h"

G_BEGIN_DECLS

#define PRES_TYPE_TRAY (pres_tray_get_type ())
G_DECLARE_FINAL_TYPE (PresTray, pres_tray, PRES, TRAY, GObject)

/*
 * The tray icon and its menu, shown through libayatana-appindicator3 from
 * MENU. The only file that uses GTK: moving to another indicator library
 * changes this file alone. Without a display it logs one line and shows
 * nothing; the D-Bus API keeps working.
 */
PresTray *pres_tray_new (PresMenu *menu);

/* Whether and why not an icon can be seen: a PresTrayHost. */
GObject *pres_tray_get_host (PresTray *self);

G_END_DECLS
