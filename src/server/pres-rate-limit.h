#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A token bucket per key (the caller's bearer token): `rate` requests per
 * second on average with bursts of up to `burst`. */
typedef struct _PresRateLimit PresRateLimit;

PresRateLimit *pres_rate_limit_new (double rate,
                                    guint  burst,
                                    guint  max_keys);
void           pres_rate_limit_free (PresRateLimit *self);

/* TRUE when the request may go on.  Otherwise *retry_after_s says when the
 * next one would be allowed (whole seconds, at least 1). */
gboolean pres_rate_limit_take (PresRateLimit *self,
                               const char    *key,
                               gint64         now_us,
                               guint         *retry_after_s);
guint    pres_rate_limit_get_n_keys (PresRateLimit *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PresRateLimit, pres_rate_limit_free)

G_END_DECLS
