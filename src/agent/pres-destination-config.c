#define G_LOG_DOMAIN "pres-destinations"

#include "pres-destination-config.h"

#include "pres-error.h"
#include "pres-transport-factory.h"

/*
 * Reading the destinations from the settings.
 *
 * The list is a GSettings `as` of names, and each name has a relocatable
 * org.presence.Agent.Destination of its own under the agent's path (the
 * GNOME way: dconf-editor and `gsettings` show each one). The settings of
 * the release before destinations, `transport` and `server-url`, stay the
 * one destination "default" for as long as the list is empty. Nothing is
 * copied on upgrade: a copy would have two places to edit, and the old keys,
 * which scripts and the command line still set, would silently stop
 * counting. Only a list that names destinations replaces them.
 */

void
pres_destination_config_free (PresDestinationConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->name);
  g_free (config->kind);
  g_free (config->url);
  g_clear_pointer (&config->options, g_variant_unref);
  g_free (config->problem);
  g_free (config);
}

/* A name is one element of a settings path. */
static gboolean
is_valid_name (const char *name)
{
  if (*name == '\0' || strlen (name) > 64)
    return FALSE;
  for (const char *c = name; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '_')
      return FALSE;
  return TRUE;
}

GSettings *
pres_destination_settings_new (GSettings *settings, const char *name, GError **error)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;
  g_autoptr (GSettingsBackend) backend = NULL;
  g_autofree char *base = NULL;
  g_autofree char *path = NULL;

  if (!is_valid_name (name))
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   "“%s” cannot name a destination: use 1 to 64 letters, digits, “-” or “_”",
                   name);
      return NULL;
    }
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, PRES_DESTINATION_SCHEMA, TRUE);
  if (schema == NULL)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_FAILED,
                   "The settings schema %s is not installed", PRES_DESTINATION_SCHEMA);
      return NULL;
    }
  /* Beside the agent's own keys, in the same backend (a test's keyfile). */
  g_object_get (settings, "backend", &backend, "path", &base, NULL);
  path = g_strdup_printf ("%sdestinations/%s/", base, name);
  return g_settings_new_full (schema, backend, path);
}

static PresDestinationConfig *
read_legacy (GSettings *settings)
{
  PresDestinationConfig *config = g_new0 (PresDestinationConfig, 1);

  config->name = g_strdup (PRES_DEFAULT_DESTINATION);
  config->kind = g_settings_get_string (settings, "transport");
  config->options = g_variant_ref_sink (g_variant_new ("a{ss}", NULL));
  config->from_legacy = TRUE;
  return config;
}

static PresDestinationConfig *
read_named (GSettings *settings, const char *name)
{
  PresDestinationConfig *config = g_new0 (PresDestinationConfig, 1);
  g_autoptr (GSettings) own = NULL;
  g_autoptr (GError) error = NULL;

  config->name = g_strdup (name);
  own = pres_destination_settings_new (settings, name, &error);
  if (own == NULL)
    {
      config->kind = g_strdup ("");
      config->url = g_strdup ("");
      config->options = g_variant_ref_sink (g_variant_new ("a{ss}", NULL));
      config->problem = g_strdup (error->message);
      return config;
    }
  config->kind = g_settings_get_string (own, "kind");
  config->url = g_settings_get_string (own, "url");
  config->options = g_settings_get_value (own, "options");
  return config;
}

/* What keeps a destination from running, once the command line had its say. */
static void
check (PresDestinationConfig *config)
{
  g_autoptr (GError) error = NULL;
  GVariantIter iter;
  const char *option;

  if (config->problem != NULL)
    return;
  if (!pres_transport_kind_check (config->kind, &error))
    {
      config->problem = g_strdup (error->message);
      return;
    }
  g_variant_iter_init (&iter, config->options);
  while (g_variant_iter_next (&iter, "{&s&s}", &option, NULL))
    g_message ("Destination %s: the option “%s” means nothing to a destination of kind %s; "
               "ignored",
               config->name, option, config->kind);
}

GPtrArray *
pres_destination_configs_read (GSettings *settings, const char *kind, const char *url)
{
  g_autoptr (GPtrArray) configs
    = g_ptr_array_new_with_free_func ((GDestroyNotify) pres_destination_config_free);
  g_auto (GStrv) names = g_settings_get_strv (settings, "destinations");
  PresDestinationConfig *first;

  for (guint i = 0; names[i] != NULL; i++)
    {
      gboolean seen = FALSE;

      for (guint j = 0; j < i; j++)
        seen |= g_str_equal (names[j], names[i]);
      if (seen)
        {
          g_message ("The destination %s is listed twice; it runs once", names[i]);
          continue;
        }
      g_ptr_array_add (configs, read_named (settings, names[i]));
    }
  if (configs->len == 0)
    g_ptr_array_add (configs, read_legacy (settings));

  first = g_ptr_array_index (configs, 0);
  if (kind != NULL)
    {
      g_free (first->kind);
      first->kind = g_strdup (kind);
    }
  if (url != NULL)
    {
      g_free (first->url);
      first->url = g_strdup (url);
    }
  for (guint i = 0; i < configs->len; i++)
    check (g_ptr_array_index (configs, i));
  return g_steal_pointer (&configs);
}
