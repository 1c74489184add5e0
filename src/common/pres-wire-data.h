#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The member data of a heartbeat body read fast, for the common form.
 * body: one JSON object; the data's UTF-8 is checked here, the rest is the
 * caller's to check.  TRUE when the body
 * has no "data" member (*compact NULL) or one whose value this reader
 * takes: *compact is then its compact text, as the full reader would
 * write it, and [*start, *end) its value's bytes in body.  FALSE when the
 * full reader must decide (any other form, an error). */
gboolean pres_wire_data_take (const char *body,
                              gsize       length,
                              gsize      *start,
                              gsize      *end,
                              GString   **compact);

G_END_DECLS
