/* The server token in the Secret Service, with a deadline on every call.
 * Never logs a token. */
#define G_LOG_DOMAIN "pres-secret"

#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pres-error.h"
#include "pres-secret.h"

const SecretSchema *
pres_secret_get_schema (void)
{
  static const SecretSchema schema = {
    PRES_SECRET_SCHEMA_NAME,
    SECRET_SCHEMA_NONE,
    {
      { "server", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };

  return &schema;
}

/**
 * pres_secret_normalize_server:
 * @server: a server URL as configured or typed
 *
 * The key the token is filed under: without surrounding blanks and
 * trailing slashes, so "http://h:8787/" and "http://h:8787" share a token.
 *
 * Returns: (transfer full):
 */
char *
pres_secret_normalize_server (const char *server)
{
  char *key = g_strstrip (g_strdup (server));
  gsize len = strlen (key);

  while (len > 0 && key[len - 1] == '/')
    key[--len] = '\0';
  return key;
}

/**
 * pres_secret_token_validate:
 *
 * A token is sent in an HTTP header: printable ASCII, no blanks, not empty,
 * at most %PRES_SECRET_TOKEN_MAX bytes. The message never quotes the token.
 */
gboolean
pres_secret_token_validate (const char *token, GError **error)
{
  gsize len = token != NULL ? strlen (token) : 0;

  if (len == 0)
    {
      g_set_error_literal (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS, _("The token is empty."));
      return FALSE;
    }
  if (len > PRES_SECRET_TOKEN_MAX)
    {
      g_set_error (error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
                   _("The token is longer than %u bytes."), PRES_SECRET_TOKEN_MAX);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    {
      if (token[i] <= ' ' || token[i] > '~')
        {
          g_set_error_literal (
            error, PRES_ERROR, PRES_ERROR_INVALID_ARGS,
            _("The token may only hold printable ASCII characters without blanks."));
          return FALSE;
        }
    }
  return TRUE;
}

void
pres_secret_token_free (char *token)
{
  secret_password_free (token);
}

typedef enum
{
  OP_STORE,
  OP_LOOKUP,
  OP_CLEAR,
} Op;

/* One call to the keyring. Whichever comes first of the keyring's answer,
 * the deadline and the caller's cancellable completes the task; the rest
 * find it done and only clean up. */
typedef struct
{
  Op op;
  GCancellable *inner;
  GCancellable *outer;
  gulong outer_id;
  GSource *timeout;
  guint timeout_ms;
  gboolean done;
} Call;

static void
call_free (gpointer data)
{
  Call *call = data;

  if (call->outer_id != 0)
    g_cancellable_disconnect (call->outer, call->outer_id);
  g_clear_object (&call->outer);
  g_clear_object (&call->inner);
  if (call->timeout != NULL)
    {
      g_source_destroy (call->timeout);
      g_source_unref (call->timeout);
    }
  g_free (call);
}

static void
call_finish_timer (Call *call)
{
  call->done = TRUE;
  if (call->timeout != NULL)
    {
      g_source_destroy (call->timeout);
      g_clear_pointer (&call->timeout, g_source_unref);
    }
}

static gboolean
on_timeout (gpointer user_data)
{
  GTask *task = user_data;
  Call *call = g_task_get_task_data (task);

  if (call->done)
    return G_SOURCE_REMOVE;

  g_debug ("keyring did not answer within %u ms", call->timeout_ms);
  call_finish_timer (call);
  g_cancellable_cancel (call->inner);
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                           _("The keyring did not answer within %u ms (is it locked?)."),
                           call->timeout_ms);
  return G_SOURCE_REMOVE;
}

static void
on_outer_cancelled (GCancellable *cancellable, gpointer user_data)
{
  /* May run in any thread; the keyring's answer (cancelled) completes. */
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Call *call = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  gboolean ok = FALSE;
  gboolean removed = FALSE;
  char *token = NULL;

  switch (call->op)
    {
      case OP_STORE:
        ok = secret_password_store_finish (result, &error);
        break;
      case OP_LOOKUP:
        token = secret_password_lookup_finish (result, &error);
        ok = (error == NULL);
        break;
      case OP_CLEAR:
        removed = secret_password_clear_finish (result, &error);
        ok = (error == NULL);
        break;
    }

  if (call->done)
    {
      g_clear_pointer (&token, secret_password_free);
      return;
    }
  call_finish_timer (call);

  if (!ok)
    g_task_return_error (task, g_steal_pointer (&error));
  else if (call->op == OP_LOOKUP)
    g_task_return_pointer (task, token, (GDestroyNotify)secret_password_free);
  else
    g_task_return_boolean (task, call->op == OP_STORE || removed);
}

static GTask *
call_new (Op op,
          guint timeout_ms,
          GCancellable *cancellable,
          GAsyncReadyCallback callback,
          gpointer user_data,
          gpointer source_tag)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Call *call = g_new0 (Call, 1);

  g_task_set_source_tag (task, source_tag);
  call->op = op;
  call->inner = g_cancellable_new ();
  call->timeout_ms = timeout_ms;
  g_task_set_task_data (task, call, call_free);

  if (cancellable != NULL)
    {
      call->outer = g_object_ref (cancellable);
      call->outer_id = g_cancellable_connect (cancellable, G_CALLBACK (on_outer_cancelled),
                                              g_object_ref (call->inner), g_object_unref);
    }
  if (timeout_ms > 0)
    {
      call->timeout = g_timeout_source_new (timeout_ms);
      g_source_set_callback (call->timeout, on_timeout, g_object_ref (task), g_object_unref);
      g_source_attach (call->timeout, g_task_get_context (task));
    }
  return task;
}

/**
 * pres_secret_store_token:
 * @server: the server URL the token is for
 * @token: the token, see pres_secret_token_validate()
 *
 * Stores (or replaces) the token for @server in the default collection
 * (the login keyring).
 */
void
pres_secret_store_token (const char *server,
                         const char *token,
                         guint timeout_ms,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  GTask *task
    = call_new (OP_STORE, timeout_ms, cancellable, callback, user_data, pres_secret_store_token);
  Call *call = g_task_get_task_data (task);
  g_autofree char *key = pres_secret_normalize_server (server);
  g_autofree char *label = g_strdup_printf (_("Presence server token for %s"), key);
  GError *error = NULL;

  if (!pres_secret_token_validate (token, &error))
    {
      call_finish_timer (call);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  secret_password_store (pres_secret_get_schema (), SECRET_COLLECTION_DEFAULT, label, token,
                         call->inner, on_done, task, "server", key, NULL);
}

gboolean
pres_secret_store_token_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pres_secret_store_token, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
pres_secret_lookup_token (const char *server,
                          guint timeout_ms,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data)
{
  GTask *task
    = call_new (OP_LOOKUP, timeout_ms, cancellable, callback, user_data, pres_secret_lookup_token);
  Call *call = g_task_get_task_data (task);
  g_autofree char *key = pres_secret_normalize_server (server);

  secret_password_lookup (pres_secret_get_schema (), call->inner, on_done, task, "server", key,
                          NULL);
}

/**
 * pres_secret_lookup_token_finish:
 *
 * Returns: (transfer full) (nullable): the token, to be freed with
 *   pres_secret_token_free(); %NULL without an error when none is stored
 */
char *
pres_secret_lookup_token_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pres_secret_lookup_token, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
pres_secret_clear_token (const char *server,
                         guint timeout_ms,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data)
{
  GTask *task
    = call_new (OP_CLEAR, timeout_ms, cancellable, callback, user_data, pres_secret_clear_token);
  Call *call = g_task_get_task_data (task);
  g_autofree char *key = pres_secret_normalize_server (server);

  secret_password_clear (pres_secret_get_schema (), call->inner, on_done, task, "server", key,
                         NULL);
}

/**
 * pres_secret_clear_token_finish:
 * @out_removed: (out) (optional): whether a token was stored
 */
gboolean
pres_secret_clear_token_finish (GAsyncResult *result, gboolean *out_removed, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean removed;

  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pres_secret_clear_token, FALSE);

  removed = g_task_propagate_boolean (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (out_removed != NULL)
    *out_removed = removed;
  return TRUE;
}
