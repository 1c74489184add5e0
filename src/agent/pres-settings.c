#define G_LOG_DOMAIN "pres-settings"

#include "pres-error.h"
#include "pres-settings.h"

/* g_settings_new() aborts on a missing schema; an agent run from a broken
 * install should say what is wrong instead. */
GSettings *
pres_settings_new (GError **error)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, PRES_SETTINGS_SCHEMA, TRUE);
  if (schema == NULL)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED,
                   "The settings schema %s is not installed; install presence-agent, or "
                   "point GSETTINGS_SCHEMA_DIR at the build's data directory",
                   PRES_SETTINGS_SCHEMA);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}
