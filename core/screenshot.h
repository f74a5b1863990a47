/* screenshot: a running VM's display as a PNG (spec §12, `screenshot --name VM --file F.png`),
 * taken by QEMU itself (QMP `screendump`, format png) into a temporary file of run/ that is read
 * back, checked and removed. The temporary file is ours from before QEMU writes it until it is
 * gone: made without following a symlink and locked (flock) before it has a name, for the whole
 * exchange. One whose lock is free was left by a killed screenshot (as run/<vm>.starting's lock
 * tells a killed run, vmstate.c): the next screenshot of the root removes it, and so do batch list
 * and status, which tidy the whole root. */
#ifndef YV_SCREENSHOT_H
#define YV_SCREENSHOT_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "vmstate.h"

/* The most a screenshot may weigh: a 4096x2160 screen of noise is ~27 MiB as PNG. */
#define YV_SCREENSHOT_MAX (32u << 20)
/* The largest width or height a PNG header may claim (QEMU's displays stay far below). */
#define YV_SCREENSHOT_DIM_MAX 16384u
/* The whole exchange with QEMU: connect, greeting, screendump (a PNG of a big screen is encoded
 * in QEMU's main loop: tens of milliseconds, more under a loaded TCG guest). */
#define YV_SCREENSHOT_QMP_MS 10000
/* The prefix of the temporary files in run/ (hidden: not a VM's runtime file, never a VM name). */
#define YV_SCREENSHOT_TMP_PREFIX ".screendump-"

typedef struct {
    unsigned char *png; /* the PNG file's bytes, malloc'd (yv_screenshot_done frees) */
    size_t len;
    unsigned width, height; /* from its IHDR */
} yv_screenshot;

/* The screenshot of VM name, whose QEMU p proved live (yv_vmstate_tidy): NOT_FOUND when there is
 * no such VM, VM_NOT_RUNNING when p holds no pid, TOOL_FAILED when QEMU refuses (a QEMU without
 * PNG support says so), TIMEOUT when QMP does not answer, IO when the file is not a sane PNG. */
int yv_screenshot_take_proven(const char *root, const char *name, const yv_vmstate_proof *p,
                              yv_screenshot *out, yv_err *err);
/* The same, proving the VM first (the web API; batch proves once per command). */
int yv_screenshot_take(const char *root, const yv_config *cfg, const char *name, yv_screenshot *out,
                       yv_err *err);
void yv_screenshot_done(yv_screenshot *s);

/* Checks that buf starts as a PNG file: the 8-byte signature, then an IHDR chunk of 13 bytes with
 * a width and height from 1 to YV_SCREENSHOT_DIM_MAX. 0 with *w, *h; -1 (IO) naming what is wrong.
 */
int yv_screenshot_png_size(const unsigned char *buf, size_t len, unsigned *w, unsigned *h,
                           yv_err *err);

/* Removes the temporary files of run/ that killed screenshots left (their lock is free). Cheap when
 * there are none: one read of run/. */
void yv_screenshot_sweep(const char *root);

#endif
