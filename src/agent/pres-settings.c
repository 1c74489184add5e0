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

static char *
backend_name (GSettings *settings)
{
  g_autoptr (GSettingsBackend) backend = NULL;

  g_object_get (settings, "backend", &backend, NULL);
  return g_strdup (backend != NULL ? G_OBJECT_TYPE_NAME (backend) : "unknown");
}

/*
 * A write can fail in three ways, and each must fail the caller's request:
 * the backend says up front that the key is read-only (a keyfile in a
 * read-only directory, a lockdown), it refuses the write, or it accepts the
 * write and loses it later (dconf whose service cannot write its database:
 * the failure arrives asynchronously and the value reverts). The last one is
 * only seen by waiting for the backend and reading the value back.
 */
gboolean
pres_settings_store_uint (GSettings *settings, const char *key, guint value, GError **error)
{
  g_autofree char *backend = backend_name (settings);

  if (!g_settings_is_writable (settings, key))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED,
                   "The setting %s cannot be stored: the settings backend (%s) says it is "
                   "read-only",
                   key, backend);
      return FALSE;
    }
  if (!g_settings_set_uint (settings, key, value))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED,
                   "The setting %s cannot be stored: the settings backend (%s) refused the write",
                   key, backend);
      return FALSE;
    }
  g_settings_sync ();
  if (g_settings_get_uint (settings, key) != value)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED,
                   "The setting %s cannot be stored: the settings backend (%s) did not keep it; "
                   "its own reason is in the agent's log",
                   key, backend);
      return FALSE;
    }
  return TRUE;
}
