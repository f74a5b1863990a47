/* vminfo: what a VM is (config) and what state it is in, as list/status/the TUI/the web API show
 * it. */
#ifndef YV_VMINFO_H
#define YV_VMINFO_H

#include <jansson.h>
#include <stdbool.h>

#include "addr.h"
#include "config.h"
#include "err.h"
#include "vm.h"
#include "vmset.h"
#include "vmstate.h" /* yv_state: what vmstate proves */

const char *yv_vminfo_state_name(yv_state s);
/* The state a name of yv_vminfo_state_name stands for (another yave's watch, spec §14); -1 when
 * it names none. */
int yv_vminfo_state_parse(const char *name, yv_state *out);

/* A running VM's use of the host so far (spec §15's metrics as counters: a script makes its rates
 * from two of them, as `virsh domstats` users do). Unknown figures are not shown. */
typedef struct {
    bool known;      /* sampled (the VM runs) */
    uint64_t rss;    /* resident bytes of its QEMU; 0 unknown */
    double cpu_s;    /* CPU time of its QEMU, seconds; < 0 unknown */
    bool disk_known; /* QMP query-blockstats answered: bytes read and written by every drive */
    uint64_t disk_rd, disk_wr;
    bool net_known; /* its TAPs' counters, as the guest sees them (a `user` network has none) */
    uint64_t net_rx, net_tx;
} yv_vminfo_usage;

typedef struct {
    char *name;
    char *dir; /* <root>/<name>.vm */
    yv_state state;
    bool valid; /* vm holds the parsed config */
    yv_vm vm;
    char *problem;    /* why the VM is invalid (file:line:col: …); NULL: no config yet (the
                         monitor's VM being created: "problem": null) */
    long pid;         /* 0 when not running */
    char detail[256]; /* why the state is what it is (error reason, QMP trouble) */
    int vnc;          /* yv_vnc_result of the probe; 0 = not probed */
    yv_addrs addrs;   /* a running VM's addresses (spec §11): filled by yv_vminfo_addresses */
    bool agent_open;  /* the probe saw the guest agent's port open: only then is it asked */
    bool qmp_busy;    /* the probe found QMP held by another client: not asked again */
    int autostart;    /* marked in autostart.yaml (spec §13): 1, 0, or -1 when it cannot be read */
    /* a running VM's config fields its QEMU was not started with (`set`, spec §13), filled by the
     * probe; pending_known false when that cannot be told (not running, started by an older
     * yave): then no list is shown rather than a wrong one */
    bool pending_known;
    const char *pending[YV_VMSET_FIELDS];
    size_t npending;
    yv_vminfo_usage usage; /* filled by yv_vminfo_usage_probe */
} yv_vminfo;

/* Inspects one VM. Fails only when it does not exist (VM_NOT_FOUND) or on I/O errors; a broken
 * config gives state INVALID and problem. */
int yv_vminfo_load(yv_vminfo *info, const char *root, const char *name, yv_err *err);
void yv_vminfo_done(yv_vminfo *info);

/* Proves the live state (vmstate) and, for a running VM, whether its VNC server answers. */
void yv_vminfo_probe(yv_vminfo *info, const char *root, const yv_config *cfg, int timeout_ms);

/* The addresses of the probed VMs that run (spec §11): the agents of those whose guest holds the
 * agent port open (agent_open) asked all at once, so a silent agent costs YV_QGA_SYNC_MS once, not
 * per VM, and a guest with no agent costs nothing; the neighbour table for a TAP VM whose
 * agent gave none. Separate from the probe: run's and shutdown's answers do not wait for it. */
void yv_vminfo_addresses(yv_vminfo *v, size_t n, const char *root);

/* The usage counters of a probed VM that runs: /proc for its QEMU's memory and CPU time, one QMP
 * query-blockstats (bounded by timeout_ms), netlink for its TAPs. `status` of one VM and the web's
 * VM route show them ("usage"); list does not (one exchange more per VM). */
void yv_vminfo_usage_probe(yv_vminfo *info, const char *root, int timeout_ms);

/* Every VM of the root, sorted by name. */
int yv_vminfo_list(const char *root, yv_vminfo **out, size_t *n, yv_err *err);
void yv_vminfo_free_list(yv_vminfo *v, size_t n);

/* The status object of spec §8 (never a password). New reference. */
json_t *yv_vminfo_json(const yv_vminfo *info, const yv_config *cfg);

/* "[memory, vcpu]": the pending fields as status's text shows them. */
void yv_vminfo_pending_text(const yv_vminfo *info, char *buf, size_t len);

/* A user network's forwards as status shows them (spec §10): [{"proto", "address", "host",
 * "guest"}] (new reference), and as text: "2201->22 0.0.0.0:8080->80 5353->53/udp" (the address
 * when not 127.0.0.1, the protocol when not tcp). */
json_t *yv_vminfo_forwards_json(const yv_net *n);
void yv_vminfo_forwards_text(const yv_net *n, char *buf, size_t len);

/* The bridge a network joins: its own master, else the global network.master, else NULL. */
const char *yv_vminfo_master(const yv_net *n, const yv_config *cfg);

#endif
