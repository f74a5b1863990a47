/* actions: the one table of the TUI's actions. The list's dispatch, the key bar, the help screen
 * and the man page's KEYS all read it. An action with a verb is carried out by a child `yave-tui
 * --batch --json VERB ARGS…` whose arguments, confirmation and status texts are the row's
 * templates; one without is carried out inside the TUI (a screen, a mode, quitting). */
#ifndef YV_ACTIONS_H
#define YV_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>

#include "core/monitor.h"

typedef enum {
    ACT_NONE,
    ACT_RUN,
    ACT_SHUTDOWN,
    ACT_FORCE,
    ACT_CREATE,
    ACT_PRESET,
    ACT_DELETE,
    ACT_NET_UP,
    ACT_NET_DOWN,
    ACT_FORWARD,
    ACT_RESIZE,
    ACT_DETAILS,
    ACT_CONSOLE,
    ACT_SSH,
    ACT_VIEW,
    ACT_FILTER,
    ACT_HELP,
    ACT_QUIT,
    ACT_AUTOSTART_ON, /* spec §13: autostart.yaml */
    ACT_AUTOSTART_OFF,
    ACT_SET,       /* spec §13: `set`, a form */
    ACT_SNAPSHOTS, /* spec §13: the snapshots screen (tui/screen_snap.c) */
    ACT_CLONE,     /* spec §13: a form (the new name) */
    ACT_LOGS,      /* spec §15: the logs pager (tui/screen_logs.c) */
    ACT_SORT_PREV, /* spec §15: sort by the column left of the sort column */
    ACT_SORT_NEXT, /* and right of it */
    ACT_SORT_INVERT,
    ACT_COLUMNS, /* the F2 column setup screen (tui/screen_columns.c) */
    ACT_MARK,    /* spec §15 "Select many": marks, kept in the list (tui/marks.c) */
    ACT_MARK_INVERT,
    ACT_MARK_CLEAR,
} yv_action;

/* What the selected row must be for the action to make sense now. */
typedef enum {
    YV_NEED_NOTHING, /* no VM at all: create, help, quit */
    YV_NEED_VM,      /* a VM, whatever its state: details, delete */
    YV_NEED_RUNNING, /* a running VM */
    YV_NEED_STOPPED, /* a VM that is not running */
    YV_NEED_NETWORK, /* a running VM with a network */
    YV_NEED_USERNET, /* a VM with a user network, running or not (its forwards) */
    YV_NEED_DISPLAY, /* a running VM with a VNC display (its screen) */
} yv_need;

#define YV_ACTION_ARGS 8

/* Templates: each {word} is replaced from a yv_action_subst ({vm}, {tap}, {timeout},
 * {stopped_by}, {forward}, {change}, {live}). In a confirmation {vm} is the names of every VM it
 * applies to ("a, b, c"). */
typedef struct {
    yv_action act;
    /* the key */
    wint_t ch;         /* a character, or 0 */
    int code;          /* a curses KEY_* code, or 0 */
    const char *shown; /* "r", "Enter", "/" */
    const char *label; /* for the key bar */
    const char *help;  /* for the help screen and the man page */
    bool in_bar;
    /* what it applies to */
    yv_need need;
    bool many;           /* applies to every marked row (spec §15 "Select many") */
    yv_action overtakes; /* a job of the VM it may overtake (force stop a counting shutdown) */
    /* the question first (destructive: upper-case key); any key but confirm_key cancels */
    const char *confirm_title;   /* NULL: no question */
    const char *confirm;         /* the question, {vm} */
    const char *confirm_running; /* instead when a VM it applies to runs; NULL: confirm */
    wint_t confirm_key;
    /* a many row that does not ask for one VM asks this (key y) for several marked ones, titled
     * by its label; NULL: confirm */
    const char *confirm_many;
    /* the child: `VERB ARGS…`; NULL verb = carried out inside the TUI */
    const char *verb;
    const char *args[YV_ACTION_ARGS];         /* NULL-ended; none: a screen builds them (create) */
    const char *args_running[YV_ACTION_ARGS]; /* instead when the VM runs; none: args */
    /* the child runs in the foreground on the terminal (a console, ssh): the TUI leaves curses,
     * the child has the terminal until it ends, the list comes back; one VM at a time */
    bool foreground;
    /* spec §14: also for a VM of a remote host, as `yave-tui --batch …` there over its ssh
     * connection (or, verb NULL, a screen that only shows the row); false: refused there (a
     * form filled from the VM's files, a secret through a descriptor, a local file or socket) */
    bool remote;
    /* a NULL verb's child for a VM of a remote host, whose answer the TUI then uses (the view:
     * vnc-endpoint, where the display listens there and its password) */
    const char *remote_verb;
    /* why a row that is not remote stays on this machine: said when it is refused on a VM of a
     * remote host (every such row that applies to a VM has one: test_actions) */
    const char *local_why;
    /* the status line */
    const char *started; /* when the child starts; NULL: nothing */
    const char *done;    /* when it succeeds */
} yv_action_row;

typedef struct {
    const char *vm;
    const char *tap;        /* the VM's first TAP, "" when none */
    const char *timeout;    /* shutdown.timeout in seconds */
    const char *stopped_by; /* from the child's answer */
    /* forward add|remove, from the child's answer: "tcp 127.0.0.1:2201 -> 22", "added to" or
     * "removed from", and whether the running QEMU changed too (in words, never empty) */
    const char *forward;
    const char *change;
    const char *live;
} yv_action_subst;

extern const yv_action_row yv_actions[];
extern const int yv_nactions;

/* The row of a key (is_key: a curses KEY_* code), or NULL. */
const yv_action_row *yv_actions_key(wint_t ch, bool is_key);
yv_action yv_actions_lookup(wint_t ch, bool is_key);
const yv_action_row *yv_actions_of(yv_action act);
/* Expands tmpl into buf. -1 when a {word} is unknown or empty (an argument that cannot be built:
 * no TAP), or when buf is too small. */
int yv_actions_expand(const char *tmpl, const yv_action_subst *s, char *buf, size_t n);
/* The question r asks before it acts on the n VMs (n > 1: the marked rows, spec §15): every name
 * joined by ", " into names, the text into text, its title and confirming key. A row that asks
 * nothing for one VM asks its confirm_many (key y) for several. -1 when r asks nothing here, or
 * when the names or the text do not fit: a question never acts on a VM it does not name.
 * running (NULL: none) says which VMs run: several with some running get them named after the
 * question of a row with confirm_running ("Running (stopped first): b"). */
#define YV_QUESTION_NAMES 17000 /* 256 names of 64 bytes and their ", " */
typedef struct {
    char names[YV_QUESTION_NAMES];
    char text[YV_QUESTION_NAMES + 2048]; /* the names twice at worst (the running ones) */
    const char *title;
    wint_t key;
} yv_action_question;
int yv_actions_question(const yv_action_row *r, const char *const *vms, int n, const bool *running,
                        yv_action_question *q);
/* Why v cannot take r now (expanded into buf), or NULL when it can. */
const char *yv_actions_refusal(const yv_action_row *r, const yv_monitor_vm *v, char *buf, size_t n);
/* The substitutions of v (or, v NULL, of a VM known only by name); tap must hold 16 bytes. */
yv_action_subst yv_actions_subst(const char *name, const yv_monitor_vm *v, char tap[16]);
/* The child's arguments after the verb for the VM of s (running or not): argv gets pointers into
 * store; NULL-ended. -1 when one cannot be built (see expand). */
int yv_actions_argv(const yv_action_row *r, const yv_action_subst *s, bool running,
                    char store[YV_ACTION_ARGS][128], const char *argv[YV_ACTION_ARGS + 1]);

#endif
