/* auth: HTTP Basic credentials checked through PAM, membership of one of api.groups, and a growing
 * delay for failed attempts. */
#ifndef YV_AUTH_H
#define YV_AUTH_H

#include <stdbool.h>

#include "core/yamlio.h"

typedef enum { YV_AUTH_OK, YV_AUTH_BAD, YV_AUTH_FORBIDDEN } yv_auth_result;

/* Checks user/password with PAM service `service` (authenticate + account) and that the user is in
 * one of groups (a default of "yave" when the list is empty). */
yv_auth_result yv_auth_check(const char *service, const yv_strlist *groups, const char *user,
                             const char *password);
/* After a failed attempt from `client` (an address): sleeps longer the more it has failed lately.
 */
void yv_auth_throttle(const char *client);

#endif
