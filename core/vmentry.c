#include "vmentry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "root.h"
#include "storage.h"
#include "util.h"

static void load_config(yv_vmentry *e, const struct stat *st)
{
    yv_err err;
    const char *root = e->env->live.root;
    if (e->pub.valid) yv_vm_done(&e->pub.vm);
    free(e->pub.problem);
    e->pub.problem = NULL;
    e->pub.valid = yv_vm_load(&e->pub.vm, root, e->pub.name, &err) == 0;
    if (!e->pub.valid) e->pub.problem = yv_strdup(err.msg);
    e->cfg_st = *st;
    e->loaded = true;
    e->live.broken = !e->pub.valid;
    e->pub.disk_size = 0;
    if (e->pub.valid && e->pub.vm.ndrives) {
        char *dir = yv_root_vm_dir(root, e->pub.name);
        char *p = yv_vm_drive_path(&e->pub.vm, dir, &e->pub.vm.drives[0]);
        e->pub.disk_size = yv_storage_qcow2_size(p);
        free(p);
        free(dir);
    }
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Its folder and its config file's stat (zeroed when there is none). */
static char *stat_config(const yv_vmentry *e, struct stat *st)
{
    char *dir = yv_root_vm_dir(e->env->live.root, e->pub.name);
    char *cfgp = yv_root_join(dir, "config.yaml");
    memset(st, 0, sizeof *st);
    stat(cfgp, st);
    free(cfgp);
    return dir;
}

void yv_vmentry_load(yv_vmentry *e)
{
    if (e->loaded || e->creating) return;
    struct stat st;
    char *dir = yv_root_vm_dir(e->env->live.root, e->pub.name);
    yv_rootwatch_add_vm(e->env->watch, dir); /* before it is read: a write between is not missed */
    free(dir);
    free(stat_config(e, &st));
    load_config(e, &st);
    if (e->live.broken) e->pub.state = YV_STATE_INVALID; /* its state was found before */
}

/* vmlive's way to the lazy config (the VNC probe and the address watch need it) */
static void load_cb(void *owner)
{
    yv_vmentry_load(owner);
}

yv_vmentry *yv_vmentry_new(const yv_vmentry_env *env, const char *name)
{
    yv_vmentry *e = yv_calloc(1, sizeof *e);
    e->env = env;
    e->pub.name = yv_strdup(name);
    e->pub.cpu = -1;
    e->pub.uptime_s = -1;
    yv_vmlive_init(&e->live, &env->live, &e->pub, load_cb, e);
    return e;
}

void yv_vmentry_free(yv_vmentry *e)
{
    yv_vmlive_stop(&e->live);
    free(e->pub.name);
    free(e->pub.problem);
    if (e->pub.valid) yv_vm_done(&e->pub.vm);
    free(e);
}

void yv_vmentry_refresh(yv_vmentry *e, yv_vmlive_scan *scan, int64_t now)
{
    if (e->creating) {
        e->pub.state = YV_STATE_INSTALLING;
        snprintf(e->pub.detail, sizeof e->pub.detail, "being created");
        scan->unsettled = true; /* a killed create leaves its folder without a word */
        return;
    }
    if (e->loaded) { /* else it is read when shown or in the background */
        struct stat st;
        char *dir = stat_config(e, &st);
        if (!e->cfg_st.st_ino || !same_file(&st, &e->cfg_st)) {
            yv_rootwatch_add_vm(e->env->watch, dir); /* a folder replaced: its watch follows */
            load_config(e, &st);
        }
        free(dir);
    }
    yv_vmlive_check(&e->live, scan, now);
}
