/* What presencectl prints: the status table, its JSON form and the lines of
 * `watch`. Pure functions of their arguments. */
#define G_LOG_DOMAIN "pres-ctl"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "pres-dbus.h"
#include "pres-duration.h"
#include "pres-ctl-format.h"
#include "pres-ctl-words.h"

static const char *
lookup_string (GVariantDict *dict, const char *name)
{
  const char *value = NULL;

  if (!g_variant_dict_lookup (dict, name, "&s", &value))
    return NULL;
  return value;
}

/**
 * pres_ctl_format_time:
 * @unix_seconds: an instant
 * @now: the current time, in the time zone to show
 *
 * Returns: (transfer full): e.g. "2026-11-23 17:00:00 (in 1h30m)"
 */
char *
pres_ctl_format_time (gint64 unix_seconds, GDateTime *now)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (unix_seconds);
  g_autoptr (GDateTime) local = NULL;
  g_autofree char *clock = NULL;
  g_autofree char *span = NULL;
  gint64 delta;

  if (utc == NULL)
    return g_strdup_printf ("%" G_GINT64_FORMAT, unix_seconds);

  local = g_date_time_to_timezone (utc, g_date_time_get_timezone (now));
  /* TRANSLATORS: a date and time for g_date_time_format(), "2026-11-23 17:00:00" */
  clock = g_date_time_format (local, _("%Y-%m-%d %H:%M:%S"));
  delta = unix_seconds - g_date_time_to_unix (now);
  span = pres_duration_format ((guint64)ABS (delta));

  if (delta > 0)
    /* TRANSLATORS: a time and how far ahead it is, e.g. "2026-11-23 17:00:00 (in 1h30m)" */
    return g_strdup_printf (_("%s (in %s)"), clock, span);
  if (delta < 0)
    /* TRANSLATORS: a time and how long ago it was, e.g. "2026-11-23 17:00:00 (12s ago)" */
    return g_strdup_printf (_("%s (%s ago)"), clock, span);
  return g_strdup_printf (_("%s (now)"), clock);
}

typedef struct
{
  const char *label;
  char *value;
} Row;

static void
row_clear (gpointer data)
{
  Row *row = data;

  g_free (row->value);
}

static void
add_row (GArray *rows, const char *label, char *value)
{
  Row row = { label, value };

  if (value == NULL)
    return;
  g_array_append_val (rows, row);
}

static char *
format_manual (GVariantDict *dict, GDateTime *now)
{
  const char *manual = lookup_string (dict, "ManualState");
  gint64 until = 0;

  if (manual == NULL)
    return NULL;
  if (*manual == '\0')
    return g_strdup (_("none (automatic)"));

  g_variant_dict_lookup (dict, "ManualUntil", "x", &until);
  return pres_ctl_format_manual (manual, until, now);
}

static char *
state_words_or_null (const char *state)
{
  return state != NULL ? g_strdup (pres_ctl_state_words (state)) : NULL;
}

static char *
format_connection (GVariantDict *dict)
{
  const char *connection = lookup_string (dict, "Connection");
  const char *last_error = lookup_string (dict, "LastError");

  if (connection == NULL)
    return NULL;
  if (last_error != NULL && *last_error != '\0')
    return g_strdup_printf ("%s (%s)", connection, last_error);
  return g_strdup (connection);
}

static char *
format_heartbeat (GVariantDict *dict, GDateTime *now)
{
  gint64 ms = 0;

  if (!g_variant_dict_lookup (dict, "LastHeartbeat", "x", &ms))
    return NULL;
  if (ms <= 0)
    return g_strdup (_("never"));
  return pres_ctl_format_time (ms / 1000, now);
}

static char *
dup_or_null (const char *value)
{
  return value != NULL ? g_strdup (value) : NULL;
}

/**
 * pres_ctl_format_status:
 * @props: the agent's properties, an a{sv}
 * @now: the current time, in the time zone to show times in
 *
 * Returns: (transfer full): a table of "Label: value" lines. Properties
 *   missing from @props (an older agent) leave out their line.
 */
char *
pres_ctl_format_status (GVariant *props, GDateTime *now)
{
  g_auto (GVariantDict) dict;
  g_autoptr (GArray) rows = g_array_new (FALSE, FALSE, sizeof (Row));
  g_autoptr (GString) out = g_string_new (NULL);
  const char *text;
  gboolean locked;
  guint32 timeout;
  guint width = 0;

  g_return_val_if_fail (g_variant_is_of_type (props, G_VARIANT_TYPE_VARDICT), NULL);

  g_array_set_clear_func (rows, row_clear);
  g_variant_dict_init (&dict, props);

  add_row (rows, _("State"), state_words_or_null (lookup_string (&dict, "State")));
  add_row (rows, _("Manual"), format_manual (&dict, now));
  add_row (rows, _("Auto state"), state_words_or_null (lookup_string (&dict, "AutoState")));

  text = lookup_string (&dict, "StatusText");
  if (text != NULL)
    add_row (rows, _("Status text"), g_strdup (*text != '\0' ? text : _("(none)")));

  add_row (rows, _("Idle source"), dup_or_null (lookup_string (&dict, "IdleSource")));
  if (g_variant_dict_lookup (&dict, "IdleTimeout", "u", &timeout))
    {
      add_row (rows, _("Idle timeout"), pres_ctl_format_span (timeout));
    }
  if (g_variant_dict_lookup (&dict, "Locked", "b", &locked))
    add_row (rows, _("Locked"), g_strdup (locked ? _("yes") : _("no")));

  text = lookup_string (&dict, "TrayHint");
  if (text != NULL && *text != '\0')
    add_row (rows, _("Tray"), g_strdup (text));

  add_row (rows, _("Connection"), format_connection (&dict));
  add_row (rows, _("Last heartbeat"), format_heartbeat (&dict, now));
  add_row (rows, _("Server"), dup_or_null (lookup_string (&dict, "Server")));
  add_row (rows, _("Instance id"), dup_or_null (lookup_string (&dict, "InstanceId")));
  add_row (rows, _("Agent version"), dup_or_null (lookup_string (&dict, "Version")));

  /* Align on the widest label, counted in characters: labels are translated. */
  for (guint i = 0; i < rows->len; i++)
    width = MAX (width, (guint)g_utf8_strlen (g_array_index (rows, Row, i).label, -1));

  for (guint i = 0; i < rows->len; i++)
    {
      const Row *row = &g_array_index (rows, Row, i);
      guint len = (guint)g_utf8_strlen (row->label, -1);

      g_string_append_printf (out, "%s:%*s %s\n", row->label, (int)(width - len), "", row->value);
    }

  return g_string_free (g_steal_pointer (&out), FALSE);
}

/**
 * pres_ctl_format_status_json:
 * @props: the agent's properties, an a{sv}
 *
 * Returns: (transfer full): one JSON object, the D-Bus property names as
 *   keys in the order of the interface, strings, integers and booleans as
 *   their JSON types. Unknown extra properties are left out.
 */
char *
pres_ctl_format_status_json (GVariant *props)
{
  GDBusInterfaceInfo *info = pres_dbus_agent_interface_info ();
  g_auto (GVariantDict) dict;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  g_return_val_if_fail (g_variant_is_of_type (props, G_VARIANT_TYPE_VARDICT), NULL);

  g_variant_dict_init (&dict, props);
  json_builder_begin_object (builder);
  for (guint i = 0; info->properties != NULL && info->properties[i] != NULL; i++)
    {
      const GDBusPropertyInfo *prop = info->properties[i];
      g_autoptr (GVariant) value = NULL;

      value = g_variant_dict_lookup_value (&dict, prop->name, G_VARIANT_TYPE (prop->signature));
      if (value == NULL)
        continue;
      json_builder_set_member_name (builder, prop->name);
      json_builder_add_value (builder, json_gvariant_serialize (value));
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  return json_generator_to_data (generator, NULL);
}

/* One JSON object on one line from name/value string pairs; NULL values
 * are left out. */
static char *
json_line (const char *first_name, ...)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  va_list args;

  json_builder_begin_object (builder);
  va_start (args, first_name);
  for (const char *name = first_name; name != NULL; name = va_arg (args, const char *))
    {
      const char *value = va_arg (args, const char *);

      if (value == NULL)
        continue;
      json_builder_set_member_name (builder, name);
      json_builder_add_string_value (builder, value);
    }
  va_end (args);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

/**
 * pres_ctl_format_state_change:
 * @when: the time of the change, local
 * @state: the new effective state
 * @previous: the one before
 * @reason: why
 * @json: one JSON object instead of a line for people
 *
 * Returns: (transfer full): one line without the newline
 */
char *
pres_ctl_format_state_change (GDateTime *when,
                              const char *state,
                              const char *previous,
                              const char *reason,
                              gboolean json)
{
  g_autofree char *clock = NULL;

  if (json)
    {
      clock = g_date_time_format_iso8601 (when);
      return json_line ("time", clock, "event", "state-changed", "state", state, "previous",
                        previous, "reason", reason, NULL);
    }

  clock = g_date_time_format (when, "%H:%M:%S");
  /* TRANSLATORS: time, new state, previous state, reason; the state names
   * and the reason stay in English, scripts read them */
  return g_strdup_printf (_("%s  %s (was %s, reason: %s)"), clock, state, previous, reason);
}

/**
 * pres_ctl_format_agent_event:
 * @when: the time of the event, local
 * @running: whether the agent appeared (%TRUE) or went away
 * @state: (nullable): the agent's state when it appeared, if known
 * @json: one JSON object instead of a line for people
 *
 * Returns: (transfer full): one line without the newline
 */
char *
pres_ctl_format_agent_event (GDateTime *when, gboolean running, const char *state, gboolean json)
{
  g_autofree char *clock = NULL;

  if (json)
    {
      clock = g_date_time_format_iso8601 (when);
      return json_line ("time", clock, "event", running ? "agent-running" : "agent-stopped",
                        "state", running ? state : NULL, NULL);
    }

  clock = g_date_time_format (when, "%H:%M:%S");
  if (!running)
    return g_strdup_printf (_("%s  presence-agent is not running"), clock);
  if (state == NULL)
    return g_strdup_printf (_("%s  presence-agent is running"), clock);
  /* TRANSLATORS: time, state name */
  return g_strdup_printf (_("%s  presence-agent is running, state %s"), clock, state);
}

/* Sources that read the time of the last input itself; the others (the
 * Wayland idle protocols, logind's hint) only say when the idle timeout
 * has passed, and the agent estimates from that. */
static gboolean
idle_source_is_exact (const char *source)
{
  static const char *const exact[] = { "mutter", "x11-sync", "x11-screensaver", NULL };

  return g_strv_contains (exact, source);
}

/**
 * pres_ctl_format_idle_time:
 * @known: whether the agent could tell the idle time (it has an idle source)
 * @seconds: the idle time, when @known
 * @source: the agent's IdleSource
 * @json: one JSON object instead of a line for people
 *
 * Returns: (transfer full): "42", "0 (an estimate: …)", "unknown (…)", or
 *   {"seconds": 42 | null, "estimate": bool, "source": "…"}; no newline
 */
char *
pres_ctl_format_idle_time (gboolean known, guint seconds, const char *source, gboolean json)
{
  gboolean estimate = known && !idle_source_is_exact (source);

  if (json)
    {
      g_autoptr (JsonBuilder) builder = json_builder_new ();
      g_autoptr (JsonGenerator) generator = json_generator_new ();
      g_autoptr (JsonNode) root = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "seconds");
      if (known)
        json_builder_add_int_value (builder, seconds);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "estimate");
      json_builder_add_boolean_value (builder, estimate);
      json_builder_set_member_name (builder, "source");
      json_builder_add_string_value (builder, source);
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      return json_generator_to_data (generator, NULL);
    }
  if (!known)
    return g_strdup (_("unknown (the agent has no idle source on this desktop; “presencectl "
                       "explain” says why)"));
  if (estimate)
    /* TRANSLATORS: the seconds, then the idle source's name */
    return g_strdup_printf (_("%u (an estimate: the %s idle source only says when input has "
                              "been idle for the idle timeout)"),
                            seconds, source);
  return g_strdup_printf ("%u", seconds);
}
