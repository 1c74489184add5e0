#define G_LOG_DOMAIN "pres-server"

#include <string.h>

#include "pres-stored-beat.h"

/* The string fields, in the order of offsets[]. */
enum
{
  FIELD_SESSION,
  FIELD_STATUS_TEXT,
  FIELD_HOST,
  FIELD_VERSION,
  FIELD_DEVICE_FAMILY,
  FIELD_MODEL_IDENTIFIER,
  FIELD_MODE,
  FIELD_REASON,
  FIELD_DATA,
  N_FIELDS
};

struct _PresStoredBeat
{
  guint64 seq;
  gint32 last_input_seconds; /* the parser bounds it to G_MAXINT32; -1 = absent */
  guint8 state;
  guint16 offsets[N_FIELDS]; /* offset into data + 1; 0 = absent */
  char data[];
};

/* Strings are ≤ PRES_WIRE_MAX_STRING_BYTES, the status text ≤
 * PRES_STATUS_TEXT_MAX_BYTES and data ≤ PRES_WIRE_MAX_DATA_BYTES: all of
 * them fit 16-bit offsets. */
G_STATIC_ASSERT ((N_FIELDS - 2) * (PRES_WIRE_MAX_STRING_BYTES + 1) + PRES_STATUS_TEXT_MAX_BYTES + 1
                 + PRES_WIRE_MAX_DATA_BYTES + 1 < G_MAXUINT16);

static gsize
max_length (guint field)
{
  switch (field)
    {
    case FIELD_STATUS_TEXT:
      return PRES_STATUS_TEXT_MAX_BYTES;
    case FIELD_DATA:
      return PRES_WIRE_MAX_DATA_BYTES;
    default:
      return PRES_WIRE_MAX_STRING_BYTES;
    }
}

static void
get_fields (const PresHeartbeat *hb,
            const char          *fields[N_FIELDS])
{
  fields[FIELD_SESSION] = hb->session;
  fields[FIELD_STATUS_TEXT] = hb->status_text;
  fields[FIELD_HOST] = hb->host;
  fields[FIELD_VERSION] = hb->version;
  fields[FIELD_DEVICE_FAMILY] = hb->device_family;
  fields[FIELD_MODEL_IDENTIFIER] = hb->model_identifier;
  fields[FIELD_MODE] = hb->mode;
  fields[FIELD_REASON] = hb->reason;
  fields[FIELD_DATA] = hb->data;
}

PresStoredBeat *
pres_stored_beat_new (const PresHeartbeat *hb)
{
  const char *fields[N_FIELDS];
  gsize lengths[N_FIELDS];
  gsize size = 0, offset = 0;
  PresStoredBeat *beat;

  get_fields (hb, fields);
  for (guint i = 0; i < N_FIELDS; i++)
    {
      lengths[i] = fields[i] != NULL ? strlen (fields[i]) + 1 : 0;
      g_return_val_if_fail (lengths[i] <= max_length (i) + 1, NULL);
      size += lengths[i];
    }

  beat = g_malloc (sizeof (PresStoredBeat) + size);
  beat->seq = hb->seq;
  beat->last_input_seconds = (gint32) CLAMP (hb->last_input_seconds, -1, G_MAXINT32);
  beat->state = hb->state;
  for (guint i = 0; i < N_FIELDS; i++)
    {
      beat->offsets[i] = fields[i] != NULL ? offset + 1 : 0;
      if (fields[i] != NULL)
        memcpy (beat->data + offset, fields[i], lengths[i]);
      offset += lengths[i];
    }
  return beat;
}

static const char *
get_field (const PresStoredBeat *beat,
           guint                 field)
{
  return beat->offsets[field] != 0 ? beat->data + beat->offsets[field] - 1 : NULL;
}

PresHeartbeat *
pres_stored_beat_unpack (const PresStoredBeat *beat)
{
  PresHeartbeat *hb = pres_heartbeat_new ();

  hb->state = beat->state;
  hb->seq = beat->seq;
  hb->last_input_seconds = beat->last_input_seconds;
  hb->session = g_strdup (get_field (beat, FIELD_SESSION));
  hb->status_text = g_strdup (get_field (beat, FIELD_STATUS_TEXT));
  hb->host = g_strdup (get_field (beat, FIELD_HOST));
  hb->version = g_strdup (get_field (beat, FIELD_VERSION));
  hb->device_family = g_strdup (get_field (beat, FIELD_DEVICE_FAMILY));
  hb->model_identifier = g_strdup (get_field (beat, FIELD_MODEL_IDENTIFIER));
  hb->mode = g_strdup (get_field (beat, FIELD_MODE));
  hb->reason = g_strdup (get_field (beat, FIELD_REASON));
  hb->data = g_strdup (get_field (beat, FIELD_DATA));
  return hb;
}

PresState
pres_stored_beat_get_state (const PresStoredBeat *beat)
{
  return beat->state;
}

guint64
pres_stored_beat_get_seq (const PresStoredBeat *beat)
{
  return beat->seq;
}

const char *
pres_stored_beat_get_session (const PresStoredBeat *beat)
{
  return get_field (beat, FIELD_SESSION);
}

const char *
pres_stored_beat_get_reason (const PresStoredBeat *beat)
{
  return get_field (beat, FIELD_REASON);
}

const char *
pres_stored_beat_get_data (const PresStoredBeat *beat)
{
  return get_field (beat, FIELD_DATA);
}

const char *
pres_stored_beat_get_status_text (const PresStoredBeat *beat)
{
  return get_field (beat, FIELD_STATUS_TEXT);
}
