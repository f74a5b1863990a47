/* vmrow: a VM as a row of the live view (core/monitor.c for this machine's root, core/remote.c for
 * a remote host's): its config, proven state and what was learnt about it since. */
#ifndef YV_VMROW_H
#define YV_VMROW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "metrics.h"
#include "vm.h"
#include "vminfo.h"
#include "vnccheck.h"

typedef struct {
    char *name;
    bool valid;
    yv_vm vm;      /* when valid */
    char *problem; /* when not valid */
    yv_state state;
    char detail[256];
    pid_t pid;
    double cpu;          /* % of one core since the previous sample, -1 unknown */
    long uptime_s;       /* -1 unknown */
    uint64_t disk_size;  /* virtual size of the first disk, bytes (0 unknown) */
    yv_vnc_result vnc;   /* 0 = not probed yet */
    char qmp_status[32]; /* last query-status answer */
    yv_addrs addrs;      /* a running VM's addresses (spec §11): agent, neighbour, forward */
    yv_metrics *metrics; /* a running VM's live figures once sampled (spec §15), else NULL */
    /* spec §14: NULL for a VM of this machine; else the name of the remote host it runs on (its
     * rows come from that host's `watch --json`: no metrics, CPU% or uptime) */
    const char *host;
    /* a remote host not reached now: why (its rows keep the last state it told) */
    const char *host_problem;
} yv_monitor_vm;

#endif
