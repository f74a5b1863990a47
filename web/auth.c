#include "auth.h"

#include <errno.h>
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

/* Modules such as pam_unix sleep after a wrong password only: that delay would tell a wrong
 * password from a right one outside api.groups. yv_auth_request delays every failure itself. */
static void no_fail_delay(int status, unsigned usec, void *data)
{
    (void)status;
    (void)usec;
    (void)data;
}

static bool pam_ok(const char *service, const char *user, const char *password)
{
    struct pam_conv c = {conv, (void *)password};
    pam_handle_t *h = NULL;
    int rc = pam_start(service, user, &c, &h);
    if (rc == PAM_SUCCESS) rc = pam_set_item(h, PAM_FAIL_DELAY, (const void *)no_fail_delay);
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

/* Failures per client address: a table shared by every connection's thread. An entry with checks in
 * flight is never reused, so a flood of addresses cannot reset an address that is guessing. */
#define SLOTS 1024
typedef struct {
    char client[64];
    int fails;    /* in the window that began at since */
    int inflight; /* checks admitted and not finished: they count against the budget */
    time_t since;
    time_t last;
} slot;
static slot table[SLOTS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t table_cond = PTHREAD_COND_INITIALIZER;

/* Under the lock: the entry of client, else a free or the least recently used idle one. */
static slot *find_slot(const char *client, time_t now)
{
    slot *victim = NULL;
    for (int i = 0; i < SLOTS; i++) {
        slot *s = &table[i];
        if (!strcmp(s->client, client)) return s;
        if (s->inflight == 0 && (!victim || s->last < victim->last)) victim = s;
    }
    if (!victim) return NULL;
    snprintf(victim->client, sizeof victim->client, "%s", client);
    victim->fails = 0;
    victim->since = now;
    victim->last = now;
    return victim;
}

/* How long a check waits for the address's checks in flight to end before it gives up (429). */
#define ADMIT_WAIT_SEC 10

/* Takes one attempt from the address's budget; NULL when failures used it up (or the table is
 * full). Checks in flight count against it, so parallel guesses never outnumber what is left; a
 * check that finds the rest of the budget in flight waits for one to end (a client's parallel
 * requests with the right password queue, they are not refused). The slot is found again after
 * every wait: an idle one may have gone to another address meanwhile. */
static slot *admit(const char *client)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ADMIT_WAIT_SEC;
    pthread_mutex_lock(&table_lock);
    slot *s;
    for (;;) {
        time_t now = time(NULL);
        s = find_slot(client, now);
        if (s && now - s->since >= YV_AUTH_WINDOW_SEC) {
            s->fails = 0;
            s->since = now;
        }
        if (!s || s->fails >= YV_AUTH_BUDGET) {
            s = NULL;
            break;
        }
        if (s->fails + s->inflight < YV_AUTH_BUDGET) {
            s->inflight++;
            break;
        }
        if (pthread_cond_timedwait(&table_cond, &table_lock, &until) == ETIMEDOUT) {
            s = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return s;
}

/* Gives the attempt back; a failure is counted. Returns the failures of the window so far. */
static int finish(slot *s, bool failed)
{
    pthread_mutex_lock(&table_lock);
    s->inflight--;
    s->last = time(NULL);
    if (failed) s->fails++;
    int n = s->fails;
    pthread_cond_broadcast(&table_cond); /* a waiting check may go now (or learn it may not) */
    pthread_mutex_unlock(&table_lock);
    return n;
}

/* Sleeps until ms after t0 (CLOCK_MONOTONIC): the delay does not depend on how long PAM took. */
static void sleep_until(const struct timespec *t0, unsigned ms)
{
    struct timespec t = *t0;
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {
    }
}

yv_auth_result yv_auth_request(const char *service, const yv_strlist *groups, const char *client,
                               const char *user, const char *password)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    slot *s = admit(client);
    if (!s) return YV_AUTH_THROTTLED;
    bool ok = user && *user && password && *password && pam_ok(service, user, password) &&
              in_groups(user, groups);
    int fails = finish(s, !ok);
    if (ok) return YV_AUTH_OK;
    /* 0.5 s, 1 s, … up to 5 s: a typo costs little, and the budget bounds the guesses */
    sleep_until(&t0, 500u * (unsigned)(fails < 10 ? fails : 10));
    return YV_AUTH_BAD;
}
