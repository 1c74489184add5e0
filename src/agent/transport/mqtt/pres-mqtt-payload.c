#define G_LOG_DOMAIN "pres-mqtt"

#include "config.h"

#include "pres-mqtt-payload.h"

#include <json-glib/json-glib.h>

#include "pres-error.h"
#include "pres-model.h"
#include "pres-wire.h"

/*
 * What travels on the broker: the state JSON, Home Assistant's discovery
 * payload, and the two inputs read from it (commands and
 * homeassistant/status). Pure functions, so the fuzz harness drives them.
 */

const char *
pres_mqtt_manual_option (PresManual manual)
{
  switch (manual)
    {
    case PRES_MANUAL_BUSY:
      return "busy";
    case PRES_MANUAL_APPEAR_OFFLINE:
      return "appear_offline";
    case PRES_MANUAL_NONE:
    default:
      return "automatic";
    }
}

static gboolean
option_from_string (const char *text, PresMqttCommand *command)
{
  command->automatic = FALSE;
  command->manual = PRES_MANUAL_NONE;
  if (g_str_equal (text, "automatic"))
    command->automatic = TRUE;
  else if (g_str_equal (text, "busy"))
    command->manual = PRES_MANUAL_BUSY;
  else if (g_str_equal (text, "appear_offline"))
    command->manual = PRES_MANUAL_APPEAR_OFFLINE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
fail (GError **error, const char *message)
{
  g_set_error_literal (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS, message);
  return FALSE;
}

static gboolean
parse_json_command (const char *payload, gsize length, PresMqttCommand *command, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GList) members = NULL;
  JsonObject *object;
  JsonNode *node;

  /* json-glib takes "{…}{…}" and leaks the first object; \u0000 would cut
   * a string short. */
  if (!pres_wire_is_one_object (payload, length) || g_strstr_len (payload, length, "\\u0000")
      || !json_parser_load_from_data (parser, payload, length, NULL))
    return fail (error, "not one JSON object");
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, "not a JSON object");
  object = json_node_get_object (node);
  members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_str_equal (l->data, "state") && !g_str_equal (l->data, "seconds"))
      return fail (error, "unknown member (only state and seconds)");
  node = json_object_get_member (object, "state");
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING
      || !option_from_string (json_node_get_string (node), command))
    return fail (error, "state: must be automatic, busy or appear_offline");
  node = json_object_get_member (object, "seconds");
  if (node != NULL)
    {
      gint64 seconds;

      if (command->automatic || json_node_get_value_type (node) != G_TYPE_INT64)
        return fail (error, "seconds: a whole number, for busy or appear_offline only");
      seconds = json_node_get_int (node);
      if (seconds < 0 || seconds > PRES_MAX_MANUAL_SECONDS)
        return fail (error, "seconds: must be between 0 and one year");
      command->seconds = (guint)seconds;
    }
  return TRUE;
}

gboolean
pres_mqtt_parse_command (const char *payload,
                         gsize length,
                         PresMqttCommand *command,
                         GError **error)
{
  g_autofree char *text = NULL;

  *command = (PresMqttCommand){ 0 };
  if (length > PRES_MQTT_MAX_INPUT)
    return fail (error, "too long");
  if (length == 0)
    return fail (error, "empty");
  if (!g_utf8_validate_len (payload, length, NULL) || memchr (payload, '\0', length) != NULL)
    return fail (error, "not UTF-8 text");
  text = g_strndup (payload, length);
  if (text[0] == '{')
    return parse_json_command (text, length, command, error);
  if (!option_from_string (text, command))
    return fail (error, "unknown option (automatic, busy or appear_offline)");
  return TRUE;
}

gboolean
pres_mqtt_parse_ha_status (const char *payload, gsize length)
{
  return length == 6 && memcmp (payload, "online", 6) == 0;
}

static void
add_time (JsonBuilder *builder, const char *name, gint64 unix_seconds)
{
  g_autoptr (GDateTime) time = NULL;
  g_autofree char *text = NULL;

  json_builder_set_member_name (builder, name);
  if (unix_seconds <= 0 || (time = g_date_time_new_from_unix_utc (unix_seconds)) == NULL)
    {
      json_builder_add_null_value (builder);
      return;
    }
  text = g_date_time_format_iso8601 (time);
  json_builder_add_string_value (builder, text);
}

static char *
to_string (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);

  return json_to_string (root, FALSE);
}

char *
pres_mqtt_build_state (const PresMqttState *state)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, pres_state_to_string (state->state));
  json_builder_set_member_name (builder, "manual");
  json_builder_add_string_value (builder, pres_mqtt_manual_option (state->manual));
  add_time (builder, "manual_until", state->manual ? state->manual_until : 0);
  json_builder_set_member_name (builder, "active");
  json_builder_add_boolean_value (builder, state->active);
  json_builder_set_member_name (builder, "locked");
  json_builder_add_boolean_value (builder, state->locked);
  json_builder_set_member_name (builder, "dnd");
  json_builder_add_boolean_value (builder, state->dnd);
  add_time (builder, "last_input", state->last_input);
  json_builder_set_member_name (builder, "status_text");
  json_builder_add_string_value (builder, state->status_text ? state->status_text : "");
  json_builder_end_object (builder);
  return to_string (builder);
}

/* One entity of the device: KEY names it in cmps and in its unique id. */
static void
begin_component (JsonBuilder *builder,
                 const PresMqttDevice *device,
                 const char *key,
                 const char *platform,
                 const char *name,
                 const char *value_template)
{
  g_autofree char *unique_id = g_strdup_printf ("%s_%s", device->object_id, key);

  json_builder_set_member_name (builder, key);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "p");
  json_builder_add_string_value (builder, platform);
  json_builder_set_member_name (builder, "unique_id");
  json_builder_add_string_value (builder, unique_id);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "value_template");
  json_builder_add_string_value (builder, value_template);
}

static void
add_string (JsonBuilder *builder, const char *name, const char *value)
{
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

static void
add_components (JsonBuilder *builder, const PresMqttDevice *device)
{
  g_autofree char *command_topic = g_strconcat (device->base_topic, "/set", NULL);

  json_builder_set_member_name (builder, "cmps");
  json_builder_begin_object (builder);

  begin_component (builder, device, "presence", "sensor", "Presence", "{{ value_json.state }}");
  add_string (builder, "device_class", "enum");
  json_builder_set_member_name (builder, "options");
  json_builder_begin_array (builder);
  for (PresState s = PRES_STATE_OFFLINE; s <= PRES_STATE_APPEAR_OFFLINE; s++)
    json_builder_add_string_value (builder, pres_state_to_string (s));
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  begin_component (builder, device, "active", "binary_sensor", "Active",
                   "{{ 'ON' if value_json.active else 'OFF' }}");
  add_string (builder, "device_class", "occupancy");
  json_builder_end_object (builder);

  /* Home Assistant's lock class reads on as unlocked. */
  begin_component (builder, device, "screen_lock", "binary_sensor", "Screen lock",
                   "{{ 'OFF' if value_json.locked else 'ON' }}");
  add_string (builder, "device_class", "lock");
  json_builder_end_object (builder);

  begin_component (builder, device, "last_input", "sensor", "Last input",
                   "{{ value_json.last_input }}");
  add_string (builder, "device_class", "timestamp");
  json_builder_end_object (builder);

  begin_component (builder, device, "status_text", "sensor", "Status message",
                   "{{ value_json.status_text }}");
  json_builder_end_object (builder);

  begin_component (builder, device, "dnd", "binary_sensor", "Do Not Disturb",
                   "{{ 'ON' if value_json.dnd else 'OFF' }}");
  json_builder_end_object (builder);

  begin_component (builder, device, "manual", "select", "Manual state",
                   "{{ value_json.manual }}");
  add_string (builder, "command_topic", command_topic);
  json_builder_set_member_name (builder, "options");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, "automatic");
  json_builder_add_string_value (builder, "busy");
  json_builder_add_string_value (builder, "appear_offline");
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  json_builder_end_object (builder);
}

char *
pres_mqtt_build_discovery (const PresMqttDevice *device)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autofree char *state_topic = g_strconcat (device->base_topic, "/state", NULL);
  g_autofree char *availability_topic = g_strconcat (device->base_topic, "/availability", NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "dev");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "ids");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, device->object_id);
  json_builder_end_array (builder);
  add_string (builder, "name", device->device_name);
  add_string (builder, "mf", "presence-agent");
  add_string (builder, "mdl", device->model ? device->model : "Linux desktop");
  add_string (builder, "sw", PACKAGE_VERSION);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "o");
  json_builder_begin_object (builder);
  add_string (builder, "name", "presence-agent");
  add_string (builder, "sw", PACKAGE_VERSION);
  json_builder_end_object (builder);

  /* Shared by every entity. */
  add_string (builder, "state_topic", state_topic);
  add_string (builder, "availability_topic", availability_topic);
  json_builder_set_member_name (builder, "qos");
  json_builder_add_int_value (builder, 1);

  add_components (builder, device);
  json_builder_end_object (builder);
  return to_string (builder);
}
