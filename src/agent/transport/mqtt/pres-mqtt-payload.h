#pragma once

#include <glib.h>

#include "pres-state.h"

G_BEGIN_DECLS

/* The largest command or homeassistant/status payload the agent reads;
 * anything longer is refused unread. */
#define PRES_MQTT_MAX_INPUT 256

/* What the control topic asked for. */
typedef struct
{
  gboolean automatic; /* back to the sensors; manual/seconds unused */
  PresManual manual;
  guint seconds; /* 0 = until changed */
} PresMqttCommand;

/*
 * Reads a command: a bare select option ("automatic", "busy",
 * "appear_offline") or JSON {"state": OPTION, "seconds": N}. Anything else
 * (oversize, not UTF-8, unknown option, extra members, a bad duration) is
 * FALSE with a message for the log; nothing is changed by the caller then.
 */
gboolean pres_mqtt_parse_command (const char *payload,
                                  gsize length,
                                  PresMqttCommand *command,
                                  GError **error);

/* Whether a homeassistant/status payload says Home Assistant came (back)
 * online. */
gboolean pres_mqtt_parse_ha_status (const char *payload, gsize length);

/* What the state topic says, all of it. */
typedef struct
{
  PresState state;
  PresManual manual;
  gint64 manual_until; /* Unix seconds, 0 = none */
  gboolean active;
  gboolean locked;
  gboolean dnd;
  gint64 last_input; /* Unix seconds, 0 = unknown */
  const char *status_text;
} PresMqttState;

char *pres_mqtt_build_state (const PresMqttState *state);

/* The identity Home Assistant files the device under. */
typedef struct
{
  const char *object_id;   /* stable, from the instance id */
  const char *device_name; /* host alias or host name */
  const char *model;       /* NULL = unknown or not shared */
  const char *base_topic;  /* <prefix>/<user>/<host id> */
} PresMqttDevice;

/* The device-based discovery payload (homeassistant/device/ID/config). */
char *pres_mqtt_build_discovery (const PresMqttDevice *device);

/* The select option naming MANUAL. */
const char *pres_mqtt_manual_option (PresManual manual);

G_END_DECLS
