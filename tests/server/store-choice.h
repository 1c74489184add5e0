#pragma once

#include "pres-store.h"

/* The store a contract test runs against: memory by default, Redis with
 * --store=redis (a private redis-server for the whole run). Cases added
 * through store_choice_add are skipped, with the reason, when that store
 * cannot be had. */

void       store_choice_init     (int    *argc,
                                  char ***argv);
gboolean   store_choice_is_redis (void);
PresStore *store_choice_new      (guint ttl_ms,
                                  guint max_instances);
void       store_choice_add      (const char *path,
                                  GTestFunc   func);
int        store_choice_run      (void);
