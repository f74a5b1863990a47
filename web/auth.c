#include "auth.h"

#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* PAM asks; we answer every prompt with the password (Basic auth has nothing else to offer). */
static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
    struct pam_response *r = calloc((size_t)n, sizeof *r);
    if (!r) return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        int style = msg[i]->msg_style;
        if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
            r[i].resp = strdup(data);
            if (!r[i].resp) {
                for (int k = 0; k < i; k++) free(r[k].resp);
                free(r);
                return PAM_BUF_ERR;
            }
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static bool pam_ok(const char *service, const char *user, const char *password)
{
    struct pam_conv c = {conv, (void *)password};
    pam_handle_t *h = NULL;
    int rc = pam_start(service, user, &c, &h);
    if (rc == PAM_SUCCESS) rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (rc == PAM_SUCCESS) rc = pam_acct_mgmt(h, PAM_SILENT);
    if (h) pam_end(h, rc);
    return rc == PAM_SUCCESS;
}

static bool in_groups(const char *user, const yv_strlist *groups)
{
    struct passwd pw, *pwp = NULL;
    char buf[4096];
    if (getpwnam_r(user, &pw, buf, sizeof buf, &pwp) != 0 || !pwp) return false;
    int n = 64;
    gid_t *gids = malloc((size_t)n * sizeof *gids);
    if (!gids) return false;
    if (getgrouplist(user, pw.pw_gid, gids, &n) < 0) {
        gid_t *more = realloc(gids, (size_t)n * sizeof *gids);
        if (!more) return free(gids), false;
        gids = more;
        if (getgrouplist(user, pw.pw_gid, gids, &n) < 0) return free(gids), false;
    }
    static const char *const dflt[] = {"yave"};
    size_t ng = groups->n ? groups->n : 1;
    bool found = false;
    for (size_t g = 0; g < ng && !found; g++) {
        struct group gr, *grp = NULL;
        char gbuf[8192];
        const char *name = groups->n ? groups->v[g] : dflt[0];
        if (getgrnam_r(name, &gr, gbuf, sizeof gbuf, &grp) != 0 || !grp) continue;
        for (int i = 0; i < n && !found; i++) found = gids[i] == grp->gr_gid;
    }
    free(gids);
    return found;
}

yv_auth_result yv_auth_check(const char *service, const yv_strlist *groups, const char *user,
                             const char *password)
{
    if (!user || !*user || !password || !*password) return YV_AUTH_BAD;
    if (!pam_ok(service, user, password)) return YV_AUTH_BAD;
    return in_groups(user, groups) ? YV_AUTH_OK : YV_AUTH_FORBIDDEN;
}

/* Recent failures per client address: a small table, oldest entry reused. */
#define SLOTS 64
static struct {
    char client[64];
    int fails;
    time_t last;
} table[SLOTS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

void yv_auth_throttle(const char *client)
{
    time_t now = time(NULL);
    int fails = 1, oldest = 0;
    pthread_mutex_lock(&table_lock);
    int slot = -1;
    for (int i = 0; i < SLOTS; i++) {
        if (!strcmp(table[i].client, client)) slot = i;
        if (table[i].last < table[oldest].last) oldest = i;
    }
    if (slot < 0) {
        slot = oldest;
        snprintf(table[slot].client, sizeof table[slot].client, "%s", client);
        table[slot].fails = 0;
    }
    if (now - table[slot].last > 300) table[slot].fails = 0; /* forgiven after 5 quiet minutes */
    fails = ++table[slot].fails;
    table[slot].last = now;
    pthread_mutex_unlock(&table_lock);
    /* 0.5 s, 1 s, … up to 5 s: guessing gets slow, a typo costs little */
    unsigned ms = 500u * (unsigned)(fails < 10 ? fails : 10);
    usleep(ms * 1000);
}
