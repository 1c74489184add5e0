/* The listing of `presencectl destinations`: one block per destination,
 * the first first, in the same words as the status table. */
#define G_LOG_DOMAIN "pres-ctl"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "pres-ctl-destinations.h"
#include "pres-ctl-format.h"

static const char *
lookup_string (GVariantDict *dict, const char *name)
{
  const char *value = NULL;

  if (!g_variant_dict_lookup (dict, name, "&s", &value))
    return "";
  return value;
}

static void
append_row (GString *out, const char *label, const char *value, guint width)
{
  guint len = (guint)g_utf8_strlen (label, -1);

  g_string_append_printf (out, "  %s:%*s %s\n", label, (int)(width - len), "", value);
}

static void
append_destination (GString *out, GVariant *destination, GDateTime *now)
{
  g_auto (GVariantDict) dict;
  const char *labels[] = { _("Connection"), _("Last delivered"), _("Known as") };
  const char *error;
  const char *known_as;
  g_autofree char *connection = NULL;
  g_autofree char *delivered = NULL;
  gint64 ms = 0;
  guint width = 0;

  g_variant_dict_init (&dict, destination);
  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    width = MAX (width, (guint)g_utf8_strlen (labels[i], -1));

  /* TRANSLATORS: a destination's name, kind and URL: "team (http, https://presence.example.org)" */
  g_string_append_printf (out, _("%s (%s, %s)\n"), lookup_string (&dict, "Name"),
                          lookup_string (&dict, "Kind"), lookup_string (&dict, "Url"));

  error = lookup_string (&dict, "LastError");
  connection = *error != '\0'
                 ? g_strdup_printf ("%s (%s)", lookup_string (&dict, "Connection"), error)
                 : g_strdup (lookup_string (&dict, "Connection"));
  append_row (out, labels[0], connection, width);

  g_variant_dict_lookup (&dict, "LastDelivered", "x", &ms);
  delivered = ms > 0 ? pres_ctl_format_time (ms / 1000, now) : g_strdup (_("never"));
  append_row (out, labels[1], delivered, width);

  known_as = lookup_string (&dict, "KnownAs");
  append_row (out, labels[2], *known_as != '\0' ? known_as : _("(not yet known)"), width);
}

/**
 * pres_ctl_format_destinations:
 * @destinations: the Destinations property, an aa{sv}
 * @now: the current time, in the time zone to show times in
 *
 * Returns: (transfer full): a block of lines per destination.
 */
char *
pres_ctl_format_destinations (GVariant *destinations, GDateTime *now)
{
  g_autoptr (GString) out = g_string_new (NULL);
  GVariantIter iter;
  GVariant *destination;

  g_return_val_if_fail (g_variant_is_of_type (destinations, G_VARIANT_TYPE ("aa{sv}")), NULL);

  if (g_variant_n_children (destinations) == 0)
    return g_strdup (_("No destinations: the agent sends presence nowhere.\n"));
  g_variant_iter_init (&iter, destinations);
  while ((destination = g_variant_iter_next_value (&iter)) != NULL)
    {
      append_destination (out, destination, now);
      g_variant_unref (destination);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/**
 * pres_ctl_format_destinations_json:
 * @destinations: the Destinations property, an aa{sv}
 *
 * Returns: (transfer full): a JSON array of objects keyed as on D-Bus.
 */
char *
pres_ctl_format_destinations_json (GVariant *destinations)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  g_return_val_if_fail (g_variant_is_of_type (destinations, G_VARIANT_TYPE ("aa{sv}")), NULL);

  root = json_gvariant_serialize (destinations);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  return json_generator_to_data (generator, NULL);
}
