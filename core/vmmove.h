/* vmmove: run's --new-display / --new-ports (issue 20) — a VM's VNC display or a user network's
 * forward host port that another program holds when it starts, moved in its config to the lowest
 * free one by create's rules (no other VM of the root has it, nothing listens on it). */
#ifndef YV_VMMOVE_H
#define YV_VMMOVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "vm.h"

#define YV_VMMOVE_PORTS 16 /* the forwards one call moves at most */

typedef struct {
    yv_proto proto;
    char address[64];
    int from, to;
} yv_vmmove_port;

typedef struct {
    bool display; /* the display moved: display_from -> display_to */
    int display_from, display_to;
    yv_vmmove_port ports[YV_VMMOVE_PORTS];
    size_t nports;
} yv_vmmove;

/* The VNC display (display: true) and the forward host ports (ports: true) of vm that another
 * program holds now (bind says EADDRINUSE), changed in vm (not saved) to the lowest free display
 * from :1 (not in vnc_table.yaml, no other VM's, its port free) and the lowest free port above the
 * held one (no other VM of the root forwards it, nor vm on another net, and it binds); m says
 * what moved. Under the root lock this is a choice; without it, a proposal (the error that names
 * the option). The caller asks only for a VM that is not running (a running QEMU holds its own).
 * -1 when nothing free is left. */
int yv_vmmove_held(const char *root, const yv_config *cfg, yv_vm *vm, bool display, bool ports,
                   yv_vmmove *m, yv_err *err);

/* {"display": {"from": ":1", "to": ":3"}, "forwards": [{"proto", "address", "from", "to"}]}
 * with only what moved; "options": the run options that move them ("new-display", "new-ports"). */
json_t *yv_vmmove_json(const yv_vmmove *m);

/* Whether what moved is what a question showed (pure): with expect->display, a display moved went
 * to expect->display_to; with expect->nports, each port moved has an expected one of the same proto
 * and from, going to the same to (a port the question did not name: not within). A kind expect
 * does not name is not checked; a move that did not happen (freed meanwhile) is within. */
bool yv_vmmove_within(const yv_vmmove *moved, const yv_vmmove *expect);

/* One line for people: "VNC display :1 -> :3, tcp port 2222 -> 2223" (buf of n bytes). */
void yv_vmmove_text(const yv_vmmove *m, char *buf, size_t n);

#endif
