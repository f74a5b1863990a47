/* hosts: the remote hosts of spec §14 (provisional header: the hosts lane writes the module). */
#ifndef YV_HOSTS_H
#define YV_HOSTS_H

#include <stddef.h>

#include "err.h"

typedef struct {
    char *name;
    char *ssh;
    char *root;
    char *bin;
} yv_host;
typedef struct {
    char *ssh_config;
    yv_host *hosts;
    size_t n;
} yv_hosts;
char *yv_hosts_default_path(void);
int yv_hosts_load(yv_hosts *h, const char *path, yv_err *err);
int yv_hosts_parse(yv_hosts *h, const char *file, const char *text, size_t len, yv_err *err);
int yv_hosts_add_spec(yv_hosts *h, const char *spec, yv_err *err);
const yv_host *yv_hosts_find(const yv_hosts *h, const char *name);
void yv_hosts_done(yv_hosts *h);

#endif
