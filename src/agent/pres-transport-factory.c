#define G_LOG_DOMAIN "pres-transport"

#include "pres-transport-factory.h"

#include "pres-http-transport.h"
#include "pres-openclaw-transport.h"
#include "pres-mqtt-transport.h"

static const char *const http_schemes[] = { "https", "http", NULL };
/* An OpenClaw gateway's URL is a WebSocket one; its HTTP spelling is taken
 * too, but names presence-server first. */
static const char *const openclaw_schemes[] = { "wss", "ws", NULL };
static const char *const mqtt_schemes[] = { "mqtts", "mqtt", NULL };

static const PresTransportKind kinds[] = {
  { "http", http_schemes, "presence-server", pres_http_transport_new },
  { "openclaw", openclaw_schemes, "OpenClaw gateway", pres_openclaw_transport_new },
  { "mqtt", mqtt_schemes, "MQTT broker (Home Assistant)", pres_mqtt_transport_new },
};

const PresTransportKind *
pres_transport_kind_lookup (const char *kind)
{
  g_return_val_if_fail (kind != NULL, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (kinds[i].kind, kind))
      return &kinds[i];
  return NULL;
}

const PresTransportKind *
pres_transport_kind_for_url (const char *url)
{
  g_autofree char *scheme = NULL;

  g_return_val_if_fail (url != NULL, NULL);

  scheme = g_uri_parse_scheme (url);
  if (scheme == NULL)
    return NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_strv_contains ((const char *const *)kinds[i].schemes, scheme))
      return &kinds[i];
  return NULL;
}

char *
pres_transport_kind_names (void)
{
  g_autoptr (GString) names = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
    g_string_append_printf (names, "%s%s", i ? ", " : "", kinds[i].kind);
  return g_string_free (g_steal_pointer (&names), FALSE);
}

gboolean
pres_transport_kind_check (const char *name, GError **error)
{
  g_autofree char *names = NULL;

  if (pres_transport_kind_lookup (name) != NULL)
    return TRUE;
  names = pres_transport_kind_names ();
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "Unknown transport “%s” (%s)", name,
               names);
  return FALSE;
}

PresTransport *
pres_transport_new (const char *name, const PresTransportSetup *setup, GError **error)
{
  if (!pres_transport_kind_check (name, error))
    return NULL;
  return pres_transport_kind_lookup (name)->new_func (setup);
}
