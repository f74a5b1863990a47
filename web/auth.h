/* auth: HTTP Basic credentials checked through PAM, membership of one of api.groups, and a budget
 * of failures per client address shared by all its connections. */
#ifndef YV_AUTH_H
#define YV_AUTH_H

#include <stdbool.h>

#include "core/yamlio.h"

typedef enum { YV_AUTH_OK, YV_AUTH_BAD, YV_AUTH_THROTTLED } yv_auth_result;

/* Failures an address may have in a window before its attempts are refused without a check. */
#define YV_AUTH_BUDGET     10
#define YV_AUTH_WINDOW_SEC 60

/* One request's credentials from `client` (an address, IPv6 by its /64): OK when PAM service
 * `service` accepts user/password (authenticate + account) and the user is in one of groups (a
 * default of "yave" when the list is empty). A wrong password, an unknown user, no credentials and
 * a user outside the groups are all BAD, answered after the same delay (counted from the start,
 * growing with the address's failures), so none can be told from another. THROTTLED, at once and
 * without asking PAM, when the address has used its budget (failures plus checks in flight) in the
 * current window. */
yv_auth_result yv_auth_request(const char *service, const yv_strlist *groups, const char *client,
                               const char *user, const char *password);

#endif
