#include "menu-fixture.h"

/* An idle source that can see input, unlike the "none" one. */
typedef struct
{
  PresIdleSource parent_instance;
} TestIdleSource;

typedef PresIdleSourceClass TestIdleSourceClass;

static GType test_idle_source_get_type (void);
G_DEFINE_TYPE (TestIdleSource, test_idle_source, PRES_TYPE_IDLE_SOURCE)

static void
test_idle_source_class_init (TestIdleSourceClass *klass)
{
  klass->name = "test";
}

static void
test_idle_source_init (TestIdleSource *self)
{
}

void
menu_fixture_set_up (MenuFixture  *fixture,
                     gconstpointer data)
{
  fixture->clock = pres_fake_clock_new (T0_US);
  fixture->model = pres_model_new (PRES_CLOCK (fixture->clock));
  fixture->link = pres_link_new ("https://presence.example.org:8443/api");
  fixture->idle_source = data ? g_object_new (test_idle_source_get_type (), NULL)
                              : pres_idle_source_new_none ();
  pres_model_start (fixture->model);
  fixture->menu = pres_menu_new (fixture->model, fixture->link, fixture->idle_source,
                                 PRES_CLOCK (fixture->clock));
}

void
menu_fixture_tear_down (MenuFixture  *fixture,
                        gconstpointer data)
{
  g_clear_object (&fixture->menu);
  g_clear_object (&fixture->idle_source);
  g_clear_object (&fixture->link);
  g_clear_object (&fixture->model);
  g_clear_object (&fixture->clock);
}

static void
dump (GMenuModel *model,
      gboolean    with_actions,
      GString    *out,
      int         depth)
{
  for (int i = 0; i < g_menu_model_get_n_items (model); i++)
    {
      g_autoptr (GMenuModel) section = g_menu_model_get_item_link (model, i, G_MENU_LINK_SECTION);
      g_autoptr (GMenuModel) submenu = g_menu_model_get_item_link (model, i, G_MENU_LINK_SUBMENU);
      g_autofree char *label = NULL;
      g_autofree char *action = NULL;

      if (section != NULL)
        {
          g_string_append_printf (out, "%*s--\n", depth * 2, "");
          dump (section, with_actions, out, depth);
          continue;
        }
      g_menu_model_get_item_attribute (model, i, G_MENU_ATTRIBUTE_LABEL, "s", &label);
      g_string_append_printf (out, "%*s%s", depth * 2, "", label);
      if (with_actions
          && g_menu_model_get_item_attribute (model, i, G_MENU_ATTRIBUTE_ACTION, "s", &action))
        {
          g_autoptr (GVariant) target =
            g_menu_model_get_item_attribute_value (model, i, G_MENU_ATTRIBUTE_TARGET, NULL);

          g_string_append_printf (out, " [%s", action);
          if (target != NULL)
            g_string_append_printf (out, " %s", g_variant_get_string (target, NULL));
          g_string_append_c (out, ']');
        }
      g_string_append_c (out, '\n');
      if (submenu != NULL)
        dump (submenu, with_actions, out, depth + 1);
    }
}

char *
menu_fixture_dump (MenuFixture *fixture,
                   gboolean     with_actions)
{
  GString *out = g_string_new (NULL);

  dump (pres_menu_get_model (fixture->menu), with_actions, out, 0);
  return g_string_free (out, FALSE);
}
