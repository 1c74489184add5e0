#define G_LOG_DOMAIN "pres-openclaw"

#include "config.h"

#include "pres-backoff.h"
#include "pres-openclaw-errors.h"
#include "pres-openclaw-node-frames.h"
#include "pres-openclaw-private.h"
#include "pres-token-source.h"

/*
 * The desktop's presence over its two connections. The node connection
 * makes the desktop's row in the gateway's roster and reports activity;
 * the operator connection beacons into that same row (system-event with
 * the device id) and reads the node's pairing. Both are up, or the
 * session is down: every failure drops both and the transport's single
 * retry timer brings both back. A node pairing that waits for the user
 * is the one state in which the connections stay up yet Connection says
 * unauthorized, with the command that approves it.
 */

static gboolean
all_ready (PresOpenclawTransport *self)
{
  return pres_openclaw_channel_is_ready (&self->op)
         && (!PRES_OPENCLAW_UP (self)->wants_node (self)
             || pres_openclaw_channel_is_ready (&self->node));
}

/* Connected once the node's pairing is known to be approved. An error
 * said while connected stays the last one until a new connection. */
static void
settle_connected (PresOpenclawTransport *self)
{
  if (!all_ready (self)
      || (PRES_OPENCLAW_UP (self)->wants_node (self) && self->pairing != PAIRING_APPROVED)
      || pres_link_get_connection (self->core.link) == PRES_CONNECTION_CONNECTED)
    return;
  pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTED);
  pres_link_set_last_error (self->core.link, NULL);
}

void
pres_openclaw_session_drop (PresOpenclawTransport *self)
{
  g_clear_handle_id (&self->beat_id, g_source_remove);
  g_clear_handle_id (&self->pairing_id, g_source_remove);
  pres_openclaw_activity_stop (self->activity);
  pres_openclaw_channel_drop (&self->op);
  pres_openclaw_channel_drop (&self->node);
  self->pairing = PAIRING_UNCHECKED;
  self->pairing_listing = FALSE;
  self->pairing_stale = FALSE;
}

static gboolean
on_leave_deadline (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->leave_deadline_id = 0;
  g_debug ("The gateway did not answer the close in time");
  PRES_OPENCLAW_UP (self)->left (self);
  return G_SOURCE_REMOVE;
}

static void
on_token_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PresOpenclawTransport) self = user_data;
  g_autoptr (GError) error = NULL;
  PresTokenOrigin origin;

  if (!pres_transport_core_take_token (&self->core, result, &origin, &error))
    return;
  if (error != NULL)
    {
      PRES_OPENCLAW_UP (self)->fail (self, PRES_CONNECTION_ERROR, error->message,
                                     PRES_OPENCLAW_RETRY_AUTH_MS);
      return;
    }
  if (self->core.token == NULL && self->op.device_token == NULL)
    {
      PRES_OPENCLAW_UP (self)->fail (
        self, PRES_CONNECTION_UNAUTHORIZED,
        "No gateway token: give the agent the gateway's token (gateway.auth.token) with "
        "--token-file or “presencectl login”",
        PRES_OPENCLAW_RETRY_AUTH_MS);
      return;
    }
  self->core.token_known = TRUE;
  g_debug ("Using the %s",
           self->core.token ? pres_token_origin_to_string (origin) : "device token");
  pres_openclaw_session_open (self);
}

static gboolean
on_beat (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->beat_id = 0;
  pres_openclaw_session_beacon (self, "periodic");
  return G_SOURCE_REMOVE;
}

static void
on_built (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (PresOpenclawTransport) self = user_data;
  g_autoptr (PresHeartbeat) hb = pres_heartbeat_builder_build_finish (result, NULL);
  g_autofree char *id = NULL;
  g_autofree char *frame = NULL;
  const char *pending;

  if (g_cancellable_is_cancelled (self->core.cancellable))
    return;
  self->building = FALSE;
  /* Offline meanwhile: the state change closes the connections. */
  if (hb == NULL || !all_ready (self))
    return;
  id = PRES_OPENCLAW_UP (self)->next_request_id (self, "beacon");
  frame = pres_openclaw_build_system_event (id, pres_openclaw_identity_get_id (self->identity),
                                            PRES_OPENCLAW_UP (self)->wants_node (self)
                                              ? pres_openclaw_role_mode (PRES_OPENCLAW_ROLE_NODE)
                                              : "ui",
                                            hb);
  g_debug ("Beacon %s, last input %" G_GINT64_FORMAT " s (%s)", pres_state_to_string (hb->state),
           hb->last_input_seconds, hb->reason);
  pres_openclaw_channel_send (&self->op, frame);

  g_clear_handle_id (&self->beat_id, g_source_remove);
  self->beat_id = g_timeout_add (pres_backoff_jitter_interval (self->core.rand, BEACON_INTERVAL_MS),
                                 on_beat, self);

  pending = g_steal_pointer (&self->pending_reason);
  if (pending != NULL)
    pres_openclaw_session_beacon (self, pending);
}

/* Every beacon carries the full state: one asked for while another is
 * being built merges into the next. */
void
pres_openclaw_session_beacon (PresOpenclawTransport *self, const char *reason)
{
  if (!all_ready (self))
    return; /* readiness sends one */
  if (self->building)
    {
      self->pending_reason = reason;
      return;
    }
  self->building = TRUE;
  pres_heartbeat_builder_build_async (self->core.builder, reason, self->core.cancellable, on_built,
                                      g_object_ref (self));
}

static void
list_pairing (PresOpenclawTransport *self)
{
  g_autofree char *id = NULL;
  g_autofree char *frame = NULL;

  if (self->pairing_listing || !all_ready (self))
    return;
  id = PRES_OPENCLAW_UP (self)->next_request_id (self, "pairing");
  frame = pres_openclaw_build_request (id, "node.pair.list");
  self->pairing_listing = TRUE;
  pres_openclaw_channel_send (&self->op, frame);
}

static gboolean
on_pairing_recheck (gpointer user_data)
{
  PresOpenclawTransport *self = user_data;

  self->pairing_id = 0;
  list_pairing (self);
  return G_SOURCE_REMOVE;
}

void
pres_openclaw_session_reopen_node (PresOpenclawTransport *self)
{
  if (self->node.phase == PHASE_IDLE && !PRES_OPENCLAW_UP (self)->wants_node (self))
    return;
  g_debug ("Reconnecting the node");
  pres_openclaw_activity_stop (self->activity);
  pres_openclaw_channel_drop (&self->node);
  self->pairing = PAIRING_UNCHECKED;
  if (PRES_OPENCLAW_UP (self)->wants_node (self))
    {
      if (pres_link_get_connection (self->core.link) == PRES_CONNECTION_CONNECTED)
        pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTING);
      pres_openclaw_channel_open (&self->node);
    }
  else
    settle_connected (self);
}

static void
on_pairing (PresOpenclawTransport *self, PresOpenclawPairing pairing, const char *request_id)
{
  g_autofree char *message = NULL;
  PairingState was = self->pairing;

  if (pairing == PRES_OPENCLAW_PAIRING_PENDING)
    {
      self->pairing = PAIRING_PENDING;
      message = g_strdup_printf ("The gateway must approve this computer as a node (request %s): "
                                 "run “openclaw nodes approve %s” on the gateway",
                                 request_id, request_id);
      g_message ("%s", message);
      pres_link_set_connection (self->core.link, PRES_CONNECTION_UNAUTHORIZED);
      pres_link_set_last_error (self->core.link, message);
      /* The approval's event ends the wait at once; this is in case it
       * never comes. */
      g_clear_handle_id (&self->pairing_id, g_source_remove);
      self->pairing_id = g_timeout_add (PAIRING_RECHECK_MS, on_pairing_recheck, self);
      return;
    }
  /* The node's connection took the pairing it found at connect: after an
   * approval, or when the gateway found it stale, a new one takes the
   * approved permission; at most once per recheck period, the recheck
   * coming back to it when it is too soon. */
  if (was == PAIRING_PENDING || self->pairing_stale)
    {
      gint64 now = g_get_monotonic_time ();
      gint64 wait_ms = (self->node_reopened_at + (gint64)PAIRING_RECHECK_MS * 1000 - now) / 1000;

      if (self->node_reopened_at == 0 || wait_ms <= 0)
        {
          self->pairing_stale = FALSE;
          self->node_reopened_at = now;
          pres_openclaw_session_reopen_node (self);
        }
      else
        {
          self->pairing_stale = TRUE;
          g_clear_handle_id (&self->pairing_id, g_source_remove);
          self->pairing_id = g_timeout_add ((guint)wait_ms, on_pairing_recheck, self);
        }
      return;
    }
  if (pairing == PRES_OPENCLAW_PAIRING_UNKNOWN)
    g_debug ("The gateway lists no pairing for this node");
  self->pairing = PAIRING_APPROVED;
  settle_connected (self);
  if (PRES_OPENCLAW_UP (self)->reports_activity (self))
    pres_openclaw_activity_start (self->activity);
}

void
pres_openclaw_session_ready (PresOpenclawTransport *self, PresOpenclawChannel *channel)
{
  if (channel == &self->node && self->op.phase == PHASE_IDLE)
    pres_openclaw_channel_open (&self->op);
  if (!all_ready (self))
    return;
  pres_backoff_reset (self->core.backoff);
  if (!PRES_OPENCLAW_UP (self)->wants_node (self))
    settle_connected (self);
  else
    list_pairing (self);
  if (channel == &self->op || self->beat_id == 0)
    pres_openclaw_session_beacon (self, "connect");
}

void
pres_openclaw_session_event (PresOpenclawTransport *self,
                             PresOpenclawChannel *channel,
                             PresOpenclawFrame *frame)
{
  /* The node's connection predates the approval (the event goes to the
   * connections open at that moment) and so lacks what it approved. The
   * operator hears it too: one reopen is enough. */
  if (channel == &self->node && g_str_equal (frame->event, "node.pair.resolved")
      && pres_openclaw_parse_pairing_resolved (frame->payload,
                                               pres_openclaw_identity_get_id (self->identity)))
    {
      g_message ("The gateway approved this computer as a node");
      pres_openclaw_session_reopen_node (self);
    }
}

/* The pairing is not known (a refused or unreadable answer): asked again
 * later, and nothing else changes meanwhile. */
static void
pairing_unknown (PresOpenclawTransport *self, const char *message)
{
  g_message ("%s", message);
  pres_link_set_last_error (self->core.link, message);
  g_clear_handle_id (&self->pairing_id, g_source_remove);
  self->pairing_id = g_timeout_add (PAIRING_RECHECK_MS, on_pairing_recheck, self);
}

static void
on_pairing_reply (PresOpenclawTransport *self, PresOpenclawFrame *frame)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *request_id = NULL;
  PresOpenclawPairing pairing;

  self->pairing_listing = FALSE;
  if (!frame->ok)
    {
      g_autoptr (PresOpenclawFailure) failure = pres_openclaw_failure_new (frame->error, FALSE);

      pairing_unknown (self, failure->message);
      return;
    }
  pairing = pres_openclaw_parse_pairing_list (
    frame->payload, pres_openclaw_identity_get_id (self->identity), &request_id, &error);
  if (error != NULL)
    {
      g_autofree char *message = g_strdup_printf ("%s; ignored", error->message);

      pairing_unknown (self, message);
      return;
    }
  on_pairing (self, pairing, request_id);
}

static void
on_activity_reply (PresOpenclawTransport *self, PresOpenclawFrame *frame)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *message = NULL;
  gboolean handled;

  if (!frame->ok)
    {
      g_autoptr (PresOpenclawFailure) failure = pres_openclaw_failure_new (frame->error, FALSE);

      /* The node's pairing changed under it (an approval, a new request,
       * a revoke). */
      if (g_str_equal (failure->code, "PAIRING_CHANGED"))
        {
          self->pairing_stale = TRUE;
          list_pairing (self);
        }
      else
        pres_link_set_last_error (self->core.link, failure->message);
      return;
    }
  if (!pres_openclaw_parse_event_result (frame->payload, &handled, &reason, &error))
    {
      message = g_strdup_printf ("%s; ignored", error->message);
      pres_link_set_last_error (self->core.link, message);
      return;
    }
  if (handled)
    return;
  if (g_strcmp0 (reason, "permission_required") == 0 || g_strcmp0 (reason, "pairing_changed") == 0)
    {
      /* Declared, not approved: the pairing list names the request. */
      self->pairing_stale = TRUE;
      list_pairing (self);
      return;
    }
  message = g_strdup_printf ("The gateway did not take the activity report (%s)",
                             reason ? reason : "no reason given");
  g_message ("%s", message);
  pres_link_set_last_error (self->core.link, message);
}

void
pres_openclaw_session_response (PresOpenclawTransport *self,
                                PresOpenclawChannel *channel,
                                PresOpenclawFrame *frame,
                                const char *data,
                                gsize length)
{
  gboolean to_pairing = g_str_has_prefix (frame->id, "pairing-") && channel == &self->op;
  gboolean to_activity = g_str_has_prefix (frame->id, "activity-") && channel == &self->node;

  if ((to_pairing || to_activity) && length > PRES_OPENCLAW_MAX_NODE_REPLY_BYTES)
    {
      g_autofree char *message = g_strdup_printf (
        "The gateway's reply to %s was %" G_GSIZE_FORMAT
        " bytes, more than the %u a node reply may be; ignored",
        to_pairing ? "node.pair.list" : "node.event", length, PRES_OPENCLAW_MAX_NODE_REPLY_BYTES);

      if (to_pairing)
        {
          self->pairing_listing = FALSE;
          pairing_unknown (self, message);
        }
      else
        {
          g_message ("%s", message);
          pres_link_set_last_error (self->core.link, message);
        }
      return;
    }
  if (to_pairing)
    on_pairing_reply (self, frame);
  else if (to_activity)
    on_activity_reply (self, frame);
  else if (g_str_has_prefix (frame->id, "beacon-") && channel == &self->op)
    {
      if (!frame->ok)
        {
          g_autoptr (PresOpenclawFailure) failure = pres_openclaw_failure_new (frame->error, FALSE);

          /* The connection stays up; the next beacon may fare better. */
          g_message ("%s", failure->message);
          pres_link_set_connection (self->core.link, failure->connection);
          pres_link_set_last_error (self->core.link, failure->message);
          return;
        }
      g_autofree char *reply = g_strndup (data, MIN (length, 1024));

      pres_link_set_last_heartbeat (self->core.link, g_get_real_time () / 1000);
      pres_link_set_last_reply (self->core.link, reply);
      settle_connected (self);
    }
}

void
pres_openclaw_session_idle_source_settled (PresOpenclawTransport *self)
{
  if (!self->waiting_for_idle_source)
    return;
  self->waiting_for_idle_source = FALSE;
  pres_openclaw_session_open (self);
}

void
pres_openclaw_session_open (PresOpenclawTransport *self)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (!self->core.started || PRES_OPENCLAW_UP (self)->is_offline (self) || self->open_url == NULL
      || self->op.phase != PHASE_IDLE || self->node.phase != PHASE_IDLE)
    return;
  if (!self->core.token_known)
    {
      pres_transport_core_lookup_token (&self->core, self, on_token_found);
      return;
    }
  if (pres_link_get_connection (self->core.link) == PRES_CONNECTION_DISCONNECTED)
    pres_link_set_connection (self->core.link, PRES_CONNECTION_CONNECTING);
  /* What the node declares is approved as it is: declared before the
   * idle source is chosen, it would be approved without its permission
   * and then need approving again. So it waits for the search to end (its
   * "name" is notified then), however long a loaded machine takes. */
  if (PRES_OPENCLAW_UP (self)->wants_node (self)
      && !pres_idle_source_is_settled (self->idle_source))
    {
      self->waiting_for_idle_source = TRUE;
      return;
    }
  self->pairing = PAIRING_UNCHECKED;
  /* The node first: the gateway pairs a new device silently in the role it
   * first comes with and adds the operator role as silently, but wants an
   * approval to make an operator a node. */
  if (PRES_OPENCLAW_UP (self)->wants_node (self))
    pres_openclaw_channel_open (&self->node);
  else
    pres_openclaw_channel_open (&self->op);
}

void
pres_openclaw_session_closed (PresOpenclawTransport *self, PresOpenclawChannel *channel)
{
  if (self->op.phase == PHASE_IDLE && self->node.phase == PHASE_IDLE)
    PRES_OPENCLAW_UP (self)->left (self);
}

/* Withdraws the activity, closes both with a close frame and waits for the
 * gateway's answers (or the deadline); "left" and a disconnected link
 * follow. */
void
pres_openclaw_session_leave (PresOpenclawTransport *self)
{
  gboolean closing;

  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->beat_id, g_source_remove);
  g_clear_handle_id (&self->pairing_id, g_source_remove);
  /* The gateway forgets a node's activity with its connection; the clear
   * says so sooner for a gateway that waits for the close. */
  pres_openclaw_activity_withdraw (self->activity);
  pres_openclaw_activity_stop (self->activity);
  closing = pres_openclaw_channel_close (&self->op);
  closing = pres_openclaw_channel_close (&self->node) || closing;
  if (!closing)
    {
      PRES_OPENCLAW_UP (self)->left (self);
      return;
    }
  g_clear_handle_id (&self->leave_deadline_id, g_source_remove);
  self->leave_deadline_id = g_timeout_add (LEAVE_DEADLINE_MS, on_leave_deadline, self);
}
