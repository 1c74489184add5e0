#define G_LOG_DOMAIN "pres-menu"

#include "config.h"

#include <glib/gi18n.h>

#include "pres-menu-labels.h"
#include "pres-menu.h"

/*
 * The menu only ever shows what the model and the link say now: every label
 * is recomputed from them on each change, and the labels that count time
 * ("Idle for 12 min") are recomputed by a timer while they are shown.
 */

#define TOMORROW_TARGET "tomorrow-0900"

struct _PresMenu
{
  GObject parent_instance;

  PresModel      *model;
  PresLink       *link;         /* the first destination's */
  PresDestinations *destinations; /* NULL until followed */
  PresIdleSource *idle_source;
  PresClock      *clock;

  GMenu              *menu;
  GMenu              *status_section;
  GSimpleActionGroup *actions;
  GSimpleAction      *mode_action;

  char  *header;
  char  *others_line;
  gboolean public_state_fresh; /* the server's public state answers our current state */
  char  *connection_lines; /* one per destination, each ending in '\n' */
  gboolean idle_unavailable;
  char  *title;
  char  *icon_name;
  guint  refresh_id;
};

enum
{
  PROP_0,
  PROP_ICON_NAME,
  PROP_TITLE,
  PROP_HEADER,
  N_PROPS
};

enum
{
  SIGNAL_RECONNECT_REQUESTED,
  SIGNAL_QUIT_REQUESTED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (PresMenu, pres_menu, G_TYPE_OBJECT)

static void update (PresMenu *self);

static char *
format_header (PresMenu *self,
               guint    *refresh_ms)
{
  PresState state = pres_model_get_state (self->model);
  gint64 now_us = pres_clock_get_real_time (self->clock);
  gboolean changes_at_midnight = FALSE;
  char *header;

  *refresh_ms = 0;
  switch (state)
    {
      case PRES_STATE_ONLINE:
        header = pres_menu_label_online (pres_model_get_state_since (self->model), now_us,
                                         &changes_at_midnight);
        /* "since 14:02" becomes "since Wed 7 Jan, 14:02" after midnight. */
        if (changes_at_midnight)
          *refresh_ms = 10 * 60 * 1000;
        return header;
      case PRES_STATE_IDLE:
        return pres_menu_label_idle (pres_model_get_state_since (self->model), now_us, refresh_ms);
      case PRES_STATE_BUSY:
      case PRES_STATE_APPEAR_OFFLINE:
        header = pres_menu_label_manual (state, pres_model_get_manual_until (self->model), now_us,
                                &changes_at_midnight);
        /* Checking every 10 min is enough to turn "tomorrow" into a time. */
        if (changes_at_midnight)
          *refresh_ms = 10 * 60 * 1000;
        return header;
      case PRES_STATE_OFFLINE:
      default:
        return g_strdup (_("Offline"));
    }
}

static gboolean
set_string (char      **field,
            const char *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static void
fill_status_section (PresMenu *self)
{
  g_menu_remove_all (self->status_section);
  /* Items without an action are shown as insensitive text. */
  g_menu_append (self->status_section, self->header, NULL);
  if (self->others_line != NULL)
    g_menu_append (self->status_section, self->others_line, NULL);
  {
    g_auto (GStrv) lines = g_strsplit (self->connection_lines, "\n", -1);

    for (guint i = 0; lines[i] != NULL && *lines[i] != '\0'; i++)
      g_menu_append (self->status_section, lines[i], NULL);
  }
  if (self->idle_unavailable)
    g_menu_append (self->status_section, _("Auto-idle unavailable on this desktop"), NULL);
}

static gboolean
on_refresh (gpointer user_data)
{
  PresMenu *self = user_data;

  self->refresh_id = 0;
  update (self);
  return G_SOURCE_REMOVE;
}

static const char *
mode_for_manual (PresManual manual)
{
  switch (manual)
    {
      case PRES_MANUAL_BUSY:
        return "busy";
      case PRES_MANUAL_APPEAR_OFFLINE:
        return "appear-offline";
      case PRES_MANUAL_NONE:
      default:
        return "auto";
    }
}

/* With one destination, its line as it always was; with several, each
 * named, so that the one that fails is seen beside those that work. */
static char *
format_connection_lines (PresMenu *self)
{
  GString *lines = g_string_new (NULL);
  guint n = self->destinations != NULL ? pres_destinations_get_n (self->destinations) : 0;

  if (n <= 1)
    {
      g_autofree char *line = pres_menu_label_connection (self->link);

      g_string_append_printf (lines, "%s\n", line);
    }
  for (guint i = 0; n > 1 && i < n; i++)
    {
      g_autofree char *line
        = pres_menu_label_connection (pres_destinations_get_link (self->destinations, i));

      /* TRANSLATORS: a destination's name and its state, "team: Connected to example.org" */
      g_string_append_printf (lines, _("%s: %s\n"),
                              pres_destinations_get_name (self->destinations, i), line);
    }
  return g_string_free (lines, FALSE);
}

static void
update (PresMenu *self)
{
  guint refresh_ms = 0;
  g_autofree char *header = format_header (self, &refresh_ms);
  g_autofree char *connection_lines = format_connection_lines (self);
  g_autofree char *others_line =
    self->public_state_fresh ? pres_menu_label_others (pres_model_get_state (self->model),
                                                       pres_link_get_public_state (self->link))
                             : NULL;
  g_autofree char *title = NULL;
  const char *mode = mode_for_manual (pres_model_get_manual (self->model));
  g_autoptr (GVariant) mode_state = g_action_get_state (G_ACTION (self->mode_action));
  gboolean idle_unavailable = g_strcmp0 (pres_idle_source_get_name (self->idle_source), "none") == 0;
  gboolean header_changed, others_changed, connection_changed, idle_changed;

  if (!g_str_equal (g_variant_get_string (mode_state, NULL), mode))
    g_simple_action_set_state (self->mode_action, g_variant_new_string (mode));

  if (self->refresh_id != 0)
    pres_clock_remove_timeout (self->clock, self->refresh_id);
  self->refresh_id = refresh_ms > 0 ? pres_clock_add_timeout (self->clock, refresh_ms, on_refresh,
                                                              self)
                                    : 0;

  header_changed = set_string (&self->header, header);
  others_changed = set_string (&self->others_line, others_line);
  connection_changed = set_string (&self->connection_lines, connection_lines);
  idle_changed = self->idle_unavailable != idle_unavailable;
  self->idle_unavailable = idle_unavailable;
  if (header_changed || others_changed || connection_changed || idle_changed)
    fill_status_section (self);
  if (header_changed)
    {
      /* TRANSLATORS: the tray icon's title and tooltip; %s is "Busy until 17:00" */
      title = g_strdup_printf (_("Presence: %s"), header);
      set_string (&self->title, title);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_HEADER]);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TITLE]);
    }
  if (set_string (&self->icon_name, pres_menu_icon_name (pres_model_get_state (self->model),
                                                pres_link_get_connection (self->link))))
    g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ICON_NAME]);
}

/* Until the server has answered a change of our own state, its public
 * state still describes the old one: no "others see" line meanwhile. */
static void
on_own_state_changed (PresMenu *self)
{
  self->public_state_fresh = FALSE;
  update (self);
}

static void
on_public_state_changed (PresMenu *self)
{
  self->public_state_fresh = TRUE;
  update (self);
}

/* Seconds from now to TARGET: a count of seconds, or the next day's 09:00
 * local time (whatever daylight saving does overnight). */
static gboolean
target_to_seconds (PresMenu   *self,
                   const char *target,
                   guint      *out_seconds)
{
  gint64 now_us = pres_clock_get_real_time (self->clock);
  guint64 seconds;

  if (g_str_equal (target, TOMORROW_TARGET))
    {
      g_autoptr (GDateTime) now = g_date_time_new_from_unix_local (now_us / G_USEC_PER_SEC);
      g_autoptr (GDateTime) tomorrow = g_date_time_add_days (now, 1);
      g_autoptr (GDateTime) nine = g_date_time_new_local (g_date_time_get_year (tomorrow),
                                                          g_date_time_get_month (tomorrow),
                                                          g_date_time_get_day_of_month (tomorrow),
                                                          9, 0, 0);

      *out_seconds = g_date_time_to_unix (nine) - now_us / G_USEC_PER_SEC;
      return TRUE;
    }
  if (!g_ascii_string_to_unsigned (target, 10, 0, PRES_MAX_MANUAL_SECONDS, &seconds, NULL))
    return FALSE;
  *out_seconds = seconds;
  return TRUE;
}

static void
set_manual (PresMenu   *self,
            PresManual  manual,
            const char *target)
{
  g_autoptr (GError) error = NULL;
  guint seconds;

  if (!target_to_seconds (self, target, &seconds))
    {
      g_warning ("Ignoring a menu action with the duration “%s”", target);
      return;
    }
  if (!pres_model_set_manual (self->model, manual, seconds, &error))
    g_warning ("Cannot set the state from the menu: %s", error->message);
}

static void
on_mode_change_state (GSimpleAction *action,
                      GVariant      *value,
                      PresMenu      *self)
{
  const char *mode = g_variant_get_string (value, NULL);

  /* Choosing the current mode again keeps its expiry. */
  if (g_str_equal (mode, mode_for_manual (pres_model_get_manual (self->model))))
    return;
  if (g_str_equal (mode, "auto"))
    pres_model_set_auto (self->model);
  else if (g_str_equal (mode, "busy"))
    set_manual (self, PRES_MANUAL_BUSY, "0");
  else if (g_str_equal (mode, "appear-offline"))
    set_manual (self, PRES_MANUAL_APPEAR_OFFLINE, "0");
  else
    g_warning ("Ignoring the unknown mode “%s”", mode);
}

static void
on_busy_for (GSimpleAction *action,
             GVariant      *parameter,
             PresMenu      *self)
{
  set_manual (self, PRES_MANUAL_BUSY, g_variant_get_string (parameter, NULL));
}

static void
on_appear_offline_for (GSimpleAction *action,
                       GVariant      *parameter,
                       PresMenu      *self)
{
  set_manual (self, PRES_MANUAL_APPEAR_OFFLINE, g_variant_get_string (parameter, NULL));
}

static void
on_reconnect (GSimpleAction *action,
              GVariant      *parameter,
              PresMenu      *self)
{
  g_signal_emit (self, signals[SIGNAL_RECONNECT_REQUESTED], 0);
}

static void
on_quit (GSimpleAction *action,
         GVariant      *parameter,
         PresMenu      *self)
{
  g_signal_emit (self, signals[SIGNAL_QUIT_REQUESTED], 0);
}

static void
add_action (PresMenu      *self,
            GSimpleAction *action,
            const char    *signal,
            GCallback      callback)
{
  g_signal_connect_object (action, signal, callback, self, 0);
  g_action_map_add_action (G_ACTION_MAP (self->actions), G_ACTION (action));
  g_object_unref (action);
}

static GMenu *
duration_submenu (const char *action)
{
  static const struct
  {
    const char *label;
    const char *target;
  } durations[] = {
    { N_("30 minutes"), "1800" },
    { N_("1 hour"), "3600" },
    { N_("2 hours"), "7200" },
    { N_("Until tomorrow 09:00"), TOMORROW_TARGET },
    { N_("Until I change it"), "0" },
  };
  GMenu *submenu = g_menu_new ();

  for (gsize i = 0; i < G_N_ELEMENTS (durations); i++)
    {
      g_autoptr (GMenuItem) item = g_menu_item_new (_(durations[i].label), NULL);

      g_menu_item_set_action_and_target (item, action, "s", durations[i].target);
      g_menu_append_item (submenu, item);
    }
  return submenu;
}

static void
mode_item (GMenu      *section,
           const char *label,
           const char *mode)
{
  g_autoptr (GMenuItem) item = g_menu_item_new (label, NULL);

  g_menu_item_set_action_and_target (item, "presence.mode", "s", mode);
  g_menu_append_item (section, item);
}

static void
build_menu (PresMenu *self)
{
  g_autoptr (GMenu) choices = g_menu_new ();
  g_autoptr (GMenu) busy_for = duration_submenu ("presence.busy-for");
  g_autoptr (GMenu) appear_offline_for = duration_submenu ("presence.appear-offline-for");
  g_autoptr (GMenu) session = g_menu_new ();

  mode_item (choices, _("Automatic"), "auto");
  mode_item (choices, _("Busy"), "busy");
  mode_item (choices, _("Appear offline"), "appear-offline");
  g_menu_append_submenu (choices, _("Busy for…"), G_MENU_MODEL (busy_for));
  g_menu_append_submenu (choices, _("Appear offline for…"), G_MENU_MODEL (appear_offline_for));

  g_menu_append (session, _("Reconnect"), "presence.reconnect");
  g_menu_append (session, _("Quit"), "presence.quit");

  g_menu_append_section (self->menu, NULL, G_MENU_MODEL (self->status_section));
  g_menu_append_section (self->menu, NULL, G_MENU_MODEL (choices));
  g_menu_append_section (self->menu, NULL, G_MENU_MODEL (session));
}

static void
build_actions (PresMenu *self)
{
  const GVariantType *s = G_VARIANT_TYPE_STRING;

  self->mode_action = g_simple_action_new_stateful ("mode", s, g_variant_new_string ("auto"));
  add_action (self, g_object_ref (self->mode_action), "change-state",
              G_CALLBACK (on_mode_change_state));
  add_action (self, g_simple_action_new ("busy-for", s), "activate", G_CALLBACK (on_busy_for));
  add_action (self, g_simple_action_new ("appear-offline-for", s), "activate",
              G_CALLBACK (on_appear_offline_for));
  add_action (self, g_simple_action_new ("reconnect", NULL), "activate",
              G_CALLBACK (on_reconnect));
  add_action (self, g_simple_action_new ("quit", NULL), "activate", G_CALLBACK (on_quit));
}

PresMenu *
pres_menu_new (PresModel      *model,
               PresLink       *link,
               PresIdleSource *idle_source,
               PresClock      *clock)
{
  PresMenu *self = g_object_new (PRES_TYPE_MENU, NULL);
  static const char *const model_props[] = { "notify::manual", "notify::manual-until" };

  self->model = g_object_ref (model);
  self->link = g_object_ref (link);
  self->idle_source = g_object_ref (idle_source);
  self->clock = g_object_ref (clock);

  build_actions (self);
  build_menu (self);
  update (self);

  for (gsize i = 0; i < G_N_ELEMENTS (model_props); i++)
    g_signal_connect_object (model, model_props[i], G_CALLBACK (update), self,
                             G_CONNECT_SWAPPED);
  g_signal_connect_object (model, "notify::state", G_CALLBACK (on_own_state_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (link, "notify::connection", G_CALLBACK (update), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (link, "notify::server", G_CALLBACK (update), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (link, "notify::public-state", G_CALLBACK (on_public_state_changed),
                           self, G_CONNECT_SWAPPED);
  /* The agent's source picks its backend after start and may change it. */
  g_signal_connect_object (idle_source, "notify::name", G_CALLBACK (update), self,
                           G_CONNECT_SWAPPED);
  return self;
}

void
pres_menu_follow_destinations (PresMenu         *self,
                               PresDestinations *destinations)
{
  g_return_if_fail (PRES_IS_MENU (self));
  g_return_if_fail (self->destinations == NULL);

  self->destinations = g_object_ref (destinations);
  g_signal_connect_object (destinations, "changed", G_CALLBACK (update), self,
                           G_CONNECT_SWAPPED);
  update (self);
}

GMenuModel *
pres_menu_get_model (PresMenu *self)
{
  g_return_val_if_fail (PRES_IS_MENU (self), NULL);
  return G_MENU_MODEL (self->menu);
}

GActionGroup *
pres_menu_get_action_group (PresMenu *self)
{
  g_return_val_if_fail (PRES_IS_MENU (self), NULL);
  return G_ACTION_GROUP (self->actions);
}

const char *
pres_menu_get_icon_name (PresMenu *self)
{
  g_return_val_if_fail (PRES_IS_MENU (self), NULL);
  return self->icon_name;
}

const char *
pres_menu_get_title (PresMenu *self)
{
  g_return_val_if_fail (PRES_IS_MENU (self), NULL);
  return self->title;
}

const char *
pres_menu_get_header (PresMenu *self)
{
  g_return_val_if_fail (PRES_IS_MENU (self), NULL);
  return self->header;
}

static void
pres_menu_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  PresMenu *self = PRES_MENU (object);

  switch (prop_id)
    {
      case PROP_ICON_NAME:
        g_value_set_string (value, self->icon_name);
        break;
      case PROP_TITLE:
        g_value_set_string (value, self->title);
        break;
      case PROP_HEADER:
        g_value_set_string (value, self->header);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pres_menu_dispose (GObject *object)
{
  PresMenu *self = PRES_MENU (object);

  if (self->refresh_id != 0)
    pres_clock_remove_timeout (self->clock, self->refresh_id);
  self->refresh_id = 0;
  g_clear_object (&self->mode_action);
  g_clear_object (&self->actions);
  g_clear_object (&self->status_section);
  g_clear_object (&self->menu);
  g_clear_object (&self->model);
  g_clear_object (&self->link);
  g_clear_object (&self->destinations);
  g_clear_object (&self->idle_source);
  g_clear_object (&self->clock);

  G_OBJECT_CLASS (pres_menu_parent_class)->dispose (object);
}

static void
pres_menu_finalize (GObject *object)
{
  PresMenu *self = PRES_MENU (object);

  g_free (self->header);
  g_free (self->others_line);
  g_free (self->connection_lines);
  g_free (self->title);
  g_free (self->icon_name);

  G_OBJECT_CLASS (pres_menu_parent_class)->finalize (object);
}

static void
pres_menu_class_init (PresMenuClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = pres_menu_get_property;
  object_class->dispose = pres_menu_dispose;
  object_class->finalize = pres_menu_finalize;

  props[PROP_ICON_NAME] = g_param_spec_string ("icon-name", NULL, NULL, NULL, ro);
  props[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, ro);
  props[PROP_HEADER] = g_param_spec_string ("header", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_RECONNECT_REQUESTED] =
    g_signal_new ("reconnect-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_QUIT_REQUESTED] =
    g_signal_new ("quit-requested", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 0);
}

static void
pres_menu_init (PresMenu *self)
{
  self->menu = g_menu_new ();
  self->status_section = g_menu_new ();
  self->actions = g_simple_action_group_new ();
}
