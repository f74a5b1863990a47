/* attach: the terminal side of `console` (spec §11). On a terminal: raw mode, a one-line hint,
 * Ctrl-] detaches, and the terminal is restored on every way out (Ctrl-], the VM stopping, a
 * signal such as the SIGHUP of a dropped SSH session). Without one: standard input to the console
 * and the console to standard output, for scripts. No curses: a plain module, unit-testable. */
#ifndef YV_ATTACH_H
#define YV_ATTACH_H

#include "core/err.h"

/* Pumps the open console con (yv_console_open) between the caller's standard input and output for
 * VM name. timeout_s < 0: no timeout (a terminal until Ctrl-]; a pipe until its end and then
 * the console's quiet); else it ends after timeout_s seconds whatever the input does. 0 when it
 * ended as it should (detached, the timeout, the input's end, the VM stopping); -1 with err when
 * a signal stopped it. */
int yv_attach_run(int con, const char *name, long timeout_s, yv_err *err);

#endif
