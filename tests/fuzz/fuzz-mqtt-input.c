#include <string.h>

#include "fuzz.h"
#include "pres-mqtt-payload.h"
#include "pres-model.h"

/* What the agent reads from a broker: a command on its control topic and
 * Home Assistant's birth and will on homeassistant/status.  A command is
 * taken whole or refused with words for the log; one that is taken names a
 * real manual state and a duration the model accepts.
 *
 * Input: the payload as the broker would deliver it. */

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr (GError) error = NULL;
  PresMqttCommand command;

  if (pres_mqtt_parse_command ((const char *) data, size, &command, &error))
    {
      g_assert_no_error (error);
      g_assert_cmpuint (size, <=, PRES_MQTT_MAX_INPUT);
      if (command.automatic)
        {
          g_assert_cmpint (command.manual, ==, PRES_MANUAL_NONE);
          g_assert_cmpuint (command.seconds, ==, 0);
        }
      else
        g_assert_true (command.manual == PRES_MANUAL_BUSY
                       || command.manual == PRES_MANUAL_APPEAR_OFFLINE);
      g_assert_cmpuint (command.seconds, <=, PRES_MAX_MANUAL_SECONDS);
    }
  else
    {
      g_assert_nonnull (error);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
    }
  /* Only the exact word is Home Assistant coming online. */
  if (pres_mqtt_parse_ha_status ((const char *) data, size))
    g_assert_true (size == 6 && memcmp (data, "online", 6) == 0);
  return 0;
}
