#define G_LOG_DOMAIN "pres-tray"

#include "pres-tray-indicator.h"

#include <libayatana-appindicator/app-indicator-enum-types.h>

typedef struct
{
  AppIndicator parent_instance;
} PresTrayIndicator;

typedef struct
{
  AppIndicatorClass parent_class;
} PresTrayIndicatorClass;

GType pres_tray_indicator_get_type (void);

G_DEFINE_TYPE (PresTrayIndicator, pres_tray_indicator, APP_INDICATOR_TYPE)

/* Without a watcher the item waits for one: no status icon instead. */
static GtkStatusIcon *
no_fallback (AppIndicator *indicator)
{
  g_debug ("Tray watcher gone: waiting for one, no XEmbed icon");
  return NULL;
}

static void
no_unfallback (AppIndicator *indicator, GtkStatusIcon *status_icon)
{
}

static void
pres_tray_indicator_class_init (PresTrayIndicatorClass *klass)
{
  AppIndicatorClass *indicator_class = APP_INDICATOR_CLASS (klass);

  indicator_class->fallback = no_fallback;
  indicator_class->unfallback = no_unfallback;
}

static void
pres_tray_indicator_init (PresTrayIndicator *self)
{
}

AppIndicator *
pres_tray_indicator_new (const char *id, const char *icon_name)
{
  g_autoptr (GEnumClass) categories = g_type_class_ref (APP_INDICATOR_TYPE_INDICATOR_CATEGORY);
  GEnumValue *category = g_enum_get_value (categories, APP_INDICATOR_CATEGORY_COMMUNICATIONS);

  /* As app_indicator_new() sets them: the category by its nick. */
  return g_object_new (pres_tray_indicator_get_type (), "id", id, "category", category->value_nick,
                       "icon-name", icon_name, NULL);
}
