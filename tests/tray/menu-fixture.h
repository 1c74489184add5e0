#pragma once

#include "pres-fake-clock.h"
#include "pres-link.h"
#include "pres-model.h"
#include "sensors/pres-idle-source.h"
#include "ui/pres-menu.h"

G_BEGIN_DECLS

/* 2026-01-05 12:00:00 UTC, a Monday: 13:00 in Europe/Berlin (CET). */
#define T0_US (G_GINT64_CONSTANT (1767614400) * G_USEC_PER_SEC)
#define MINUTE_MS (60 * 1000)

/* A tray menu over a model and a link, on a fake clock standing at T0_US. */
typedef struct
{
  PresFakeClock  *clock;
  PresModel      *model;
  PresLink       *link;
  PresIdleSource *idle_source;
  PresMenu       *menu;
} MenuFixture;

/* For g_test_add (): a non-NULL DATA gives an idle source that can see
 * input; NULL gives the "none" one, for which the menu warns. */
void menu_fixture_set_up    (MenuFixture  *fixture,
                             gconstpointer data);
void menu_fixture_tear_down (MenuFixture  *fixture,
                             gconstpointer data);

/* Every label of the menu, its sections and submenus, in order, one per
 * line: "--" before each section, submenu entries indented and, with
 * WITH_ACTIONS, items marked by their action name and target. */
char *menu_fixture_dump (MenuFixture *fixture,
                         gboolean     with_actions);

G_END_DECLS
