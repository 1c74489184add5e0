#define G_LOG_DOMAIN "pres-tray"

#include "config.h"

#include <gtk/gtk.h>

#include "pres-tray-host.h"
#include "pres-tray-indicator.h"
#include "pres-tray.h"

/*
 * The GtkMenu is built from the GMenuModel by hand rather than with
 * gtk_menu_new_from_model(): the latter's items are check items underneath,
 * which the indicator exports as "checkmark" toggles that tray hosts draw as
 * empty check boxes. Here plain entries are GtkMenuItems and the choices of
 * a stateful action are GtkRadioMenuItems, driven by the same actions.
 */

#define ACTION_PREFIX "presence."
#define INDICATOR_ID "org.presence.Agent"
/* Long enough for a panel that starts with the session to register. */
#define HOST_GRACE_MS 5000

struct _PresTray
{
  GObject parent_instance;

  PresMenu     *menu;
  PresTrayHost *host;
  AppIndicator *indicator;
  GtkWidget    *gtk_menu;
  GPtrArray    *radio_items;
  GHashTable   *watched_models;
  guint         rebuild_id;
  gboolean      syncing;
};

G_DEFINE_TYPE (PresTray, pres_tray, G_TYPE_OBJECT)

static void fill_shell (PresTray     *self,
                        GtkMenuShell *shell,
                        GMenuModel   *model,
                        gboolean     *separate);

static void
on_item_activate (GtkMenuItem *item,
                  PresTray    *self)
{
  const char *action = g_object_get_data (G_OBJECT (item), "pres-action");
  GVariant *target = g_object_get_data (G_OBJECT (item), "pres-target");

  /* Setting a radio item active from the action's state activates it too. */
  if (self->syncing)
    return;
  g_action_group_activate_action (pres_menu_get_action_group (self->menu), action, target);
}

static gboolean
radio_is_current (PresTray  *self,
                  GtkWidget *item)
{
  const char *action = g_object_get_data (G_OBJECT (item), "pres-action");
  GVariant *target = g_object_get_data (G_OBJECT (item), "pres-target");
  g_autoptr (GVariant) state = NULL;

  state = g_action_group_get_action_state (pres_menu_get_action_group (self->menu), action);
  return state != NULL && g_variant_equal (state, target);
}

static void
sync_radio_items (PresTray *self)
{
  self->syncing = TRUE;
  for (guint i = 0; i < self->radio_items->len; i++)
    {
      GtkWidget *item = g_ptr_array_index (self->radio_items, i);

      gtk_check_menu_item_set_active (GTK_CHECK_MENU_ITEM (item), radio_is_current (self, item));
    }
  self->syncing = FALSE;
}

static GtkWidget *
action_item (PresTray     *self,
             GtkMenuShell *shell,
             const char   *label,
             const char   *action,
             GVariant     *target)
{
  GActionGroup *group = pres_menu_get_action_group (self->menu);
  const GVariantType *state_type = g_action_group_get_action_state_type (group, action);
  GtkWidget *item;

  if (state_type != NULL && target != NULL && g_variant_is_of_type (target, state_type))
    {
      GtkWidget *previous = NULL;

      /* Consecutive choices of one action form one radio group. */
      if (self->radio_items->len > 0)
        {
          GtkWidget *last = g_ptr_array_index (self->radio_items, self->radio_items->len - 1);

          if (gtk_widget_get_parent (last) == GTK_WIDGET (shell) &&
              g_strcmp0 (g_object_get_data (G_OBJECT (last), "pres-action"), action) == 0)
            previous = last;
        }
      item = gtk_radio_menu_item_new_with_label_from_widget (
        previous ? GTK_RADIO_MENU_ITEM (previous) : NULL, label);
      g_ptr_array_add (self->radio_items, item);
    }
  else
    item = gtk_menu_item_new_with_label (label);

  g_object_set_data_full (G_OBJECT (item), "pres-action", g_strdup (action), g_free);
  if (target != NULL)
    g_object_set_data_full (G_OBJECT (item), "pres-target", g_variant_ref_sink (target),
                            (GDestroyNotify) g_variant_unref);
  gtk_widget_set_sensitive (item, g_action_group_get_action_enabled (group, action));
  g_signal_connect (item, "activate", G_CALLBACK (on_item_activate), self);
  return item;
}

static void on_items_changed (PresTray *self);

static void
model_item (PresTray     *self,
            GtkMenuShell *shell,
            GMenuModel   *model,
            int           index)
{
  g_autofree char *label = NULL;
  g_autofree char *action = NULL;
  g_autoptr (GMenuModel) submenu = NULL;
  const char *text;
  GtkWidget *item;

  g_menu_model_get_item_attribute (model, index, G_MENU_ATTRIBUTE_LABEL, "s", &label);
  g_menu_model_get_item_attribute (model, index, G_MENU_ATTRIBUTE_ACTION, "s", &action);
  submenu = g_menu_model_get_item_link (model, index, G_MENU_LINK_SUBMENU);
  text = label ? label : "";

  if (submenu != NULL)
    {
      GtkWidget *child = gtk_menu_new ();
      gboolean separate = FALSE;

      item = gtk_menu_item_new_with_label (text);
      fill_shell (self, GTK_MENU_SHELL (child), submenu, &separate);
      gtk_menu_item_set_submenu (GTK_MENU_ITEM (item), child);
    }
  else if (action != NULL && g_str_has_prefix (action, ACTION_PREFIX))
    {
      g_autoptr (GVariant) target =
        g_menu_model_get_item_attribute_value (model, index, G_MENU_ATTRIBUTE_TARGET, NULL);

      item = action_item (self, shell, text, action + strlen (ACTION_PREFIX), target);
    }
  else
    {
      /* No action: a line of information. */
      item = gtk_menu_item_new_with_label (text);
      gtk_widget_set_sensitive (item, FALSE);
    }
  gtk_menu_shell_append (shell, item);
}

static void
watch_model (PresTray   *self,
             GMenuModel *model)
{
  if (!g_hash_table_add (self->watched_models, g_object_ref (model)))
    return;
  g_signal_connect_object (model, "items-changed", G_CALLBACK (on_items_changed), self,
                           G_CONNECT_SWAPPED);
}

static gboolean
shell_is_empty (GtkMenuShell *shell)
{
  g_autoptr (GList) children = gtk_container_get_children (GTK_CONTAINER (shell));

  return children == NULL;
}

static void
fill_shell (PresTray     *self,
            GtkMenuShell *shell,
            GMenuModel   *model,
            gboolean     *separate)
{
  int n = g_menu_model_get_n_items (model);

  watch_model (self, model);
  for (int i = 0; i < n; i++)
    {
      g_autoptr (GMenuModel) section = g_menu_model_get_item_link (model, i, G_MENU_LINK_SECTION);

      if (section != NULL)
        {
          /* A separator between sections, never before the first item. */
          *separate = !shell_is_empty (shell);
          fill_shell (self, shell, section, separate);
          continue;
        }
      if (*separate)
        gtk_menu_shell_append (shell, gtk_separator_menu_item_new ());
      *separate = FALSE;
      model_item (self, shell, model, i);
    }
}

static gboolean
rebuild (gpointer user_data)
{
  PresTray *self = user_data;
  g_autoptr (GList) children = gtk_container_get_children (GTK_CONTAINER (self->gtk_menu));
  gboolean separate = FALSE;

  self->rebuild_id = 0;
  for (GList *l = children; l != NULL; l = l->next)
    gtk_widget_destroy (l->data);
  g_ptr_array_set_size (self->radio_items, 0);
  fill_shell (self, GTK_MENU_SHELL (self->gtk_menu), pres_menu_get_model (self->menu), &separate);
  sync_radio_items (self);
  gtk_widget_show_all (self->gtk_menu);
  return G_SOURCE_REMOVE;
}

/* A label change arrives as several items-changed: rebuild once after them. */
static void
on_items_changed (PresTray *self)
{
  if (self->rebuild_id == 0)
    self->rebuild_id = g_idle_add (rebuild, self);
}

static void
update_icon (PresTray *self)
{
  if (self->indicator == NULL)
    return;
  app_indicator_set_icon_full (self->indicator, pres_menu_get_icon_name (self->menu),
                               pres_menu_get_header (self->menu));
  app_indicator_set_title (self->indicator, pres_menu_get_title (self->menu));
}

/* Run from the build tree, the icons are found in the source tree. */
static void
set_uninstalled_icon_path (PresTray *self)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  if (exe != NULL && g_str_has_prefix (exe, PRES_BUILD_ROOT G_DIR_SEPARATOR_S))
    {
      g_debug ("Running uninstalled: icons from %s", PRES_UNINSTALLED_ICON_DIR);
      app_indicator_set_icon_theme_path (self->indicator, PRES_UNINSTALLED_ICON_DIR);
    }
}

/* Created once a watcher is there (and never an XEmbed icon instead: see
 * pres-tray-indicator.h). It registers again by itself when the watcher
 * restarts. */
static void
on_watcher_changed (PresTray *self)
{
  if (self->indicator != NULL || !pres_tray_host_get_watcher (self->host))
    return;

  self->indicator = pres_tray_indicator_new (INDICATOR_ID, pres_menu_get_icon_name (self->menu));
  set_uninstalled_icon_path (self);
  update_icon (self);
  app_indicator_set_menu (self->indicator, GTK_MENU (self->gtk_menu));
  app_indicator_set_status (self->indicator, APP_INDICATOR_STATUS_ACTIVE);
  g_debug ("Tray icon created");
}

PresTray *
pres_tray_new (PresMenu *menu)
{
  PresTray *self = g_object_new (PRES_TYPE_TRAY, NULL);

  self->menu = g_object_ref (menu);
  self->host = pres_tray_host_new (HOST_GRACE_MS);
  if (!gtk_init_check (NULL, NULL))
    {
      g_message ("No display: running without a tray icon");
      pres_tray_host_set_can_show (self->host, FALSE);
      return self;
    }

  self->gtk_menu = g_object_ref_sink (gtk_menu_new ());
  rebuild (self);
  g_signal_connect_object (pres_menu_get_action_group (menu), "action-state-changed",
                           G_CALLBACK (sync_radio_items), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (menu, "notify::icon-name", G_CALLBACK (update_icon), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (menu, "notify::title", G_CALLBACK (update_icon), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->host, "notify::watcher", G_CALLBACK (on_watcher_changed), self,
                           G_CONNECT_SWAPPED);
  on_watcher_changed (self);
  return self;
}

static void
pres_tray_dispose (GObject *object)
{
  PresTray *self = PRES_TRAY (object);

  g_clear_handle_id (&self->rebuild_id, g_source_remove);
  g_clear_object (&self->indicator);
  if (self->gtk_menu != NULL)
    gtk_widget_destroy (self->gtk_menu);
  g_clear_object (&self->gtk_menu);
  g_clear_pointer (&self->radio_items, g_ptr_array_unref);
  g_clear_pointer (&self->watched_models, g_hash_table_unref);
  g_clear_object (&self->host);
  g_clear_object (&self->menu);

  G_OBJECT_CLASS (pres_tray_parent_class)->dispose (object);
}

static void
pres_tray_class_init (PresTrayClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pres_tray_dispose;
}

static void
pres_tray_init (PresTray *self)
{
  self->radio_items = g_ptr_array_new ();
  self->watched_models = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
}

GObject *
pres_tray_get_host (PresTray *self)
{
  g_return_val_if_fail (PRES_IS_TRAY (self), NULL);
  return G_OBJECT (self->host);
}
