#pragma once

#include "pres-transport.h"

G_BEGIN_DECLS

#define PRES_TYPE_MQTT_TRANSPORT (pres_mqtt_transport_get_type ())
G_DECLARE_FINAL_TYPE (PresMqttTransport, pres_mqtt_transport, PRES, MQTT_TRANSPORT, GObject)

/*
 * Home Assistant over MQTT: keeps the user's presence on a broker
 * (mqtt://[USER@]HOST[:PORT][?prefix=P&cafile=F&keepalive=S], mqtts:// for
 * TLS) as retained topics with MQTT discovery, and takes the manual state
 * from Home Assistant's select. The password is the transport's token.
 */
PresTransport *pres_mqtt_transport_new (const PresTransportSetup *setup);

/* Checks URL as the transport would open it; NULL with a message for
 * LastError. */
char *pres_mqtt_check_url (const char *url, gboolean allow_insecure, GError **error);

G_END_DECLS
