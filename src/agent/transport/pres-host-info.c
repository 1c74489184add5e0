#define G_LOG_DOMAIN "pres-host-info"

#include "config.h"

#include "pres-host-info.h"

/* Firmware placeholders that say nothing about the device. */
static const char *const junk_models[] = {
  "To be filled by O.E.M.",
  "To Be Filled By O.E.M.",
  "System Product Name",
  "System Version",
  "Default string",
  "Not Applicable",
  "None",
  "Not Specified",
  "0",
  "1.0",
  NULL,
};

gboolean
pres_host_name_is_meaningless (const char *name)
{
  if (name == NULL || *name == '\0' || g_hostname_is_ip_address (name))
    return TRUE;
  return g_ascii_strcasecmp (name, "localhost") == 0
         || g_ascii_strcasecmp (name, "localhost.localdomain") == 0
         || g_ascii_strcasecmp (name, "(none)") == 0 || g_str_has_suffix (name, ".localhost");
}

/* A string fit for the wire: trimmed, valid UTF-8, within the protocol's
 * length bound (cut at a character boundary), or NULL. */
static char *
wire_string (const char *text)
{
  g_autofree char *copy = NULL;
  const char *end;

  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return NULL;
  copy = g_strstrip (g_strdup (text));
  if (*copy == '\0')
    return NULL;
  if (strlen (copy) > PRES_WIRE_MAX_STRING_BYTES)
    {
      end = g_utf8_find_prev_char (copy, copy + PRES_WIRE_MAX_STRING_BYTES + 1);
      copy[end - copy] = '\0';
    }
  return g_steal_pointer (&copy);
}

static char *
read_sysfs (const char *path)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  /* The device tree's model ends in a NUL; DMI's in a newline. */
  g_strstrip (contents);
  if (g_strv_contains (junk_models, contents))
    return NULL;
  return wire_string (contents);
}

static char *
read_model (void)
{
  g_autofree char *vendor = read_sysfs ("/sys/class/dmi/id/sys_vendor");
  char *model = NULL;

  /* Lenovo keeps the marketing name ("ThinkPad X1 Carbon") in the version. */
  if (g_strcmp0 (vendor, "LENOVO") == 0)
    model = read_sysfs ("/sys/class/dmi/id/product_version");
  if (model == NULL)
    model = read_sysfs ("/sys/class/dmi/id/product_name");
  if (model == NULL)
    model = read_sysfs ("/sys/firmware/devicetree/base/model");
  return model;
}

PresHostInfo *
pres_host_info_new (const char *host_name, const char *model)
{
  PresHostInfo *info = g_new0 (PresHostInfo, 1);

  if (!pres_host_name_is_meaningless (host_name))
    info->host_name = wire_string (host_name);
  info->model = wire_string (model);
  return info;
}

PresHostInfo *
pres_host_info_new_system (void)
{
  g_autofree char *model = read_model ();

  return pres_host_info_new (g_get_host_name (), model);
}

void
pres_host_info_free (PresHostInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->host_name);
  g_free (info->model);
  g_free (info);
}

void
pres_host_privacy_init_from_settings (PresHostPrivacy *privacy, GSettings *settings)
{
  g_autofree char *alias = g_settings_get_string (settings, "host-alias");

  privacy->share_host_name = g_settings_get_boolean (settings, "share-host-name");
  privacy->share_device_model = g_settings_get_boolean (settings, "share-device-model");
  privacy->host_alias = wire_string (alias);
}

void
pres_host_privacy_clear (PresHostPrivacy *privacy)
{
  g_clear_pointer (&privacy->host_alias, g_free);
}

void
pres_host_info_fill (const PresHostInfo *info,
                     const PresHostPrivacy *privacy,
                     PresState state,
                     gint64 last_input_seconds,
                     const char *status_text,
                     PresHeartbeat *hb)
{
  const char *host = NULL;

  g_return_if_fail (state != PRES_STATE_OFFLINE);

  g_clear_pointer (&hb->status_text, g_free);
  g_clear_pointer (&hb->host, g_free);
  g_clear_pointer (&hb->model_identifier, g_free);
  g_clear_pointer (&hb->device_family, g_free);
  g_clear_pointer (&hb->version, g_free);
  g_clear_pointer (&hb->mode, g_free);

  hb->state = state;
  hb->version = g_strdup (PACKAGE_VERSION);
  hb->mode = g_strdup ("ui");
  /* The model holds it to 140 characters, whatever their bytes: cutting it
   * at the 256 bytes of other strings would send 85 characters of CJK. */
  if (pres_status_text_validate (status_text, NULL))
    {
      hb->status_text = g_strstrip (g_strdup (status_text));
      if (*hb->status_text == '\0')
        g_clear_pointer (&hb->status_text, g_free);
    }

  /* Appearing offline must not leak that the user is at this machine. */
  if (state == PRES_STATE_APPEAR_OFFLINE)
    {
      hb->last_input_seconds = -1;
      return;
    }
  hb->last_input_seconds = last_input_seconds;

  /* The alias replaces the name but does not override share-host-name; an
   * alias that is an address is dropped, not replaced by the real name. */
  if (privacy->share_host_name && privacy->host_alias != NULL)
    host = pres_host_name_is_meaningless (privacy->host_alias) ? NULL : privacy->host_alias;
  else if (privacy->share_host_name)
    host = info->host_name;
  hb->host = g_strdup (host);
  hb->device_family = g_strdup ("Linux");
  if (privacy->share_device_model)
    hb->model_identifier = g_strdup (info->model);
}
