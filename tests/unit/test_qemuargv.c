/* Unit tests of core/qemuargv.c: QEMU's argv (spec §6), pinned by golden files.
 *
 * Every tests/golden/<case>.yaml is a VM config (spec §3); tests/golden/<case>.args is exactly the
 * argv yv_qemuargv_build returns for it, one argument per line (argv[0] first). The host facts are
 * fixed (see host_for); cases whose file name ends in "-kvm.yaml" use KVM, all others TCG. Each
 * case is one cmocka test named after its file; a mismatch prints a line diff (- expected, +
 * actual).
 *
 *   YV_GOLDEN_DIR=dir      where the cases are (default "tests/golden": tests run from the repo
 * root) YV_GOLDEN_UPDATE=1     rewrite the .args files from the builder instead of comparing. Read
 * every changed file against spec §6 before committing it: the files are the spec.
 */
#include "unit.h"

#include "core/qemuargv.h"
#include "core/vm.h"

#define QEMU "/usr/bin/qemu-system-x86_64"

static const char *golden_dir(void)
{
    const char *d = getenv("YV_GOLDEN_DIR");
    return d && *d ? d : "tests/golden";
}

static bool updating(void)
{
    const char *u = getenv("YV_GOLDEN_UPDATE");
    return u && !strcmp(u, "1");
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t l = strlen(s), m = strlen(suffix);
    return l >= m && !strcmp(s + l - m, suffix);
}

/* ---- the argv helpers ---- */

static void test_escape(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"", ""},          {"a", "a"},     {"a,b", "a,,b"},
        {",", ",,"},       {",,", ",,,,"}, {"/data/a,b.qcow2", "/data/a,,b.qcow2"},
        {"x,=y", "x,,=y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = yv_qemuargv_escape(cases[i][0]);
        assert_string_equal(e, cases[i][1]);
        free(e);
    }
}

static void test_argv_grows(void **state)
{
    (void)state;
    yv_argv a = {0};
    for (int i = 0; i < 100; i++) yv_argv_addf(&a, "arg%d", i);
    yv_argv_add(&a, "last");
    assert_int_equal(a.n, 101);
    assert_string_equal(a.v[0], "arg0");
    assert_string_equal(a.v[99], "arg99");
    assert_string_equal(a.v[100], "last");
    assert_null(a.v[101]); /* execv-ready */
    yv_argv_free(&a);
    assert_null(a.v);
    assert_int_equal(a.n, 0);
}

/* ---- golden cases ---- */

static yv_qemuargv_host host_for(const char *file, const char *vm_dir)
{
    return (yv_qemuargv_host){
        .qemu = QEMU,
        .root = "/srv/yave",
        .vm_dir = vm_dir,
        .accel = ends_with(file, "-kvm.yaml") ? YV_ACCEL_KVM : YV_ACCEL_TCG,
        .vnc_listen = "127.0.0.1",
        .ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.fd",
        .netdevup = "/opt/yave/netdevup",
        .netdevdown = "/opt/yave/netdevdown",
    };
}

/* Splits text into lines (the pieces point into text, which is modified). */
static char **split_lines(char *text, size_t *n)
{
    size_t cap = 16;
    char **v = yv_malloc(cap * sizeof *v);
    *n = 0;
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        if (*n == cap) v = yv_realloc(v, (cap *= 2) * sizeof *v);
        v[(*n)++] = p;
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    return v;
}

/* A line diff by longest common subsequence (argv are short), to stderr. */
static void print_diff(const char *path, char *want_text, char *got_text)
{
    size_t na, nb;
    char **a = split_lines(want_text, &na), **b = split_lines(got_text, &nb);
    size_t *L = yv_calloc((na + 1) * (nb + 1), sizeof *L);
#define LCS(i, j) L[(i) * (nb + 1) + (j)]
    for (size_t i = na; i-- > 0;)
        for (size_t j = nb; j-- > 0;)
            LCS(i, j) = !strcmp(a[i], b[j])              ? LCS(i + 1, j + 1) + 1
                        : LCS(i + 1, j) >= LCS(i, j + 1) ? LCS(i + 1, j)
                                                         : LCS(i, j + 1);
    fprintf(stderr, "--- %s (expected)\n+++ yv_qemuargv_build (actual)\n", path);
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        if (i < na && j < nb && !strcmp(a[i], b[j])) {
            fprintf(stderr, "  %s\n", a[i]);
            i++;
            j++;
        } else if (j == nb || (i < na && LCS(i + 1, j) >= LCS(i, j + 1))) {
            fprintf(stderr, "- %s\n", a[i++]);
        } else {
            fprintf(stderr, "+ %s\n", b[j++]);
        }
    }
#undef LCS
    free(L);
    free(a);
    free(b);
}

/* Spec §6 rules every case must keep, whatever its .args say. */
static void check_invariants(const char *file, const yv_vm *vm, const yv_argv *a)
{
    bool kvm = ends_with(file, "-kvm.yaml");
    assert_string_equal(a->v[0], QEMU);
    assert_null(a->v[a->n]);
    size_t drives = 0, pflash = 0;
    for (size_t i = 1; i < a->n; i++) {
        const char *arg = a->v[i], *val = i + 1 < a->n ? a->v[i + 1] : "";
        if (vm->vnc_password && *vm->vnc_password) {
            char *esc = yv_qemuargv_escape(vm->vnc_password);
            if (strstr(arg, vm->vnc_password) || strstr(arg, esc))
                fail_msg("%s: the VNC password is on the command line: %s", file, arg);
            free(esc);
        }
        if (!strcmp(arg, "-drive")) {
            if (!strstr(val, "format=")) fail_msg("%s: -drive without format=: %s", file, val);
            if (!strncmp(val, "if=pflash", 9)) pflash++;
            else drives++;
        }
        if (!strcmp(arg, "-accel")) assert_string_equal(val, kvm ? "kvm" : "tcg");
        if (!strcmp(arg, "-cpu")) assert_string_equal(val, kvm ? "host" : "max");
        if (!strcmp(arg, "-vnc")) ut_assert_contains(val, ",password=on");
    }
    assert_int_equal(drives, vm->ndrives);
    assert_int_equal(pflash, vm->ovmf ? 2 : 0);
}

static void test_golden_case(void **state)
{
    const char *file = *state; /* <case>.yaml */
    char *path = yv_asprintf("%s/%s", golden_dir(), file);
    char *args_path = yv_asprintf("%.*s.args", (int)(strlen(path) - 5), path);
    yv_err err;
    size_t len;
    char *text = yv_root_read_file(path, &len, YV_E_IO, &err);
    if (!text) fail_msg("%s", err.msg);
    yv_vm vm;
    if (yv_vm_load_string(&vm, path, text, len, NULL, &err) < 0) fail_msg("%s", err.msg);
    char *vm_dir = yv_asprintf("/srv/yave/%s.vm", vm.name);
    yv_qemuargv_host h = host_for(file, vm_dir);
    yv_argv a;
    yv_qemuargv_build(&vm, &h, &a);
    check_invariants(file, &vm, &a);

    size_t glen = 1;
    for (size_t i = 0; i < a.n; i++) {
        if (strchr(a.v[i], '\n')) fail_msg("%s: argument %zu holds a newline", file, i);
        glen += strlen(a.v[i]) + 1;
    }
    char *got = yv_malloc(glen), *w = got;
    for (size_t i = 0; i < a.n; i++) w += sprintf(w, "%s\n", a.v[i]);

    if (updating()) {
        if (yv_root_write_atomic(args_path, got, strlen(got), 0644, &err) < 0)
            fail_msg("%s", err.msg);
        fprintf(stderr, "updated %s\n", args_path);
    } else {
        char *want = yv_root_read_file(args_path, NULL, YV_E_IO, &err);
        if (!want) fail_msg("%s (create it with YV_GOLDEN_UPDATE=1, then review it)", err.msg);
        bool same = !strcmp(want, got);
        if (!same) print_diff(args_path, want, got);
        free(want);
        if (!same) {
            static char msg[512];
            snprintf(msg, sizeof msg, "%s: the argv differs from %s (diff above)", file, args_path);
            free(got);
            yv_argv_free(&a);
            free(vm_dir);
            yv_vm_done(&vm);
            free(text);
            free(args_path);
            free(path);
            fail_msg("%s", msg);
        }
    }
    free(got);
    yv_argv_free(&a);
    free(vm_dir);
    yv_vm_done(&vm);
    free(text);
    free(args_path);
    free(path);
}

/* Host paths with commas: escaped inside option strings (-qmp, -drive, -netdev), verbatim where
 * QEMU takes a plain path (-pidfile) or the rest of the value (-serial file:). IPv6 listen in
 * brackets. */
static void test_host_paths_with_commas(void **state)
{
    (void)state;
    yv_vm vm;
    yv_err err;
    const char *y = "name: c\n"
                    "hardware: {memory: 64, vcpu: 1, ovmf: true}\n"
                    "vnc: {display: ':4', password: secret}\n"
                    "drives:\n"
                    "  hd0: {path: hd0.qcow2, device: {type: virtio-blk}}\n"
                    "networks:\n"
                    "  net0: {type: tap, device: {mac: '52:54:00:00:00:01'}}\n";
    if (yv_vm_load_string(&vm, "c.yaml", y, strlen(y), NULL, &err) < 0) fail_msg("%s", err.msg);
    yv_qemuargv_host h = {
        .qemu = "/opt/q,emu/qemu",
        .root = "/srv/ya,ve",
        .vm_dir = "/srv/ya,ve/c.vm",
        .accel = YV_ACCEL_TCG,
        .vnc_listen = "::1",
        .ovmf_code = "/fw/CODE,4M.fd",
        .netdevup = "/opt/y,a/up",
        .netdevdown = "/opt/y,a/down",
    };
    yv_argv a;
    yv_qemuargv_build(&vm, &h, &a);
    char *all = yv_strdup("");
    for (size_t i = 0; i < a.n; i++) {
        char *t = yv_asprintf("%s%s\n", all, a.v[i]);
        free(all);
        all = t;
    }
    ut_assert_contains(all, "/opt/q,emu/qemu\n"); /* argv[0] is a path, not an option */
    ut_assert_contains(all, "\n-qmp\nunix:/srv/ya,,ve/run/c.sock,server=on,wait=off\n");
    ut_assert_contains(all, "\n-qmp\nunix:/srv/ya,,ve/run/c.events,server=on,wait=off\n");
    ut_assert_contains(all, "\n-pidfile\n/srv/ya,ve/run/c.pid\n");
    /* node-name: what the QMP snapshot jobs name the drives by (core/snapshot.c) */
    ut_assert_contains(all, "\nfile=/srv/ya,,ve/c.vm/hd0.qcow2,format=qcow2,if=none,id=hd0,"
                            "node-name=node-hd0\n");
    ut_assert_contains(all, "\nif=pflash,format=raw,readonly=on,file=/fw/CODE,,4M.fd\n");
    /* the UEFI variables in qcow2 (core/uefivars.c): they take part in internal snapshots */
    ut_assert_contains(
        all,
        "\nif=pflash,format=qcow2,node-name=node-vars,file=/srv/ya,,ve/c.vm/OVMF_VARS.qcow2\n");
    ut_assert_contains(all, "\n-vnc\n[::1]:4,password=on\n");
    ut_assert_contains(all, ",script=/opt/y,,a/up,downscript=/opt/y,,a/down\n");
    ut_assert_contains(all,
                       "\n-chardev\nsocket,id=console0,path=/srv/ya,,ve/run/c.console,server=on,"
                       "wait=off,logfile=/srv/ya,,ve/c.vm/serial.log\n");
    ut_assert_contains(
        all, "\n-chardev\nsocket,id=qga0,path=/srv/ya,,ve/run/c.qga,server=on,wait=off\n");
    ut_assert_not_contains(all, "secret");
    free(all);
    yv_argv_free(&a);
    yv_vm_done(&vm);
}

/* The sorted *.yaml names in the golden folder (malloc'd). */
static char **list_cases(size_t *n)
{
    char *ls = ut_ls(golden_dir());
    size_t cap = 16;
    char **v = yv_malloc(cap * sizeof *v), *save = NULL;
    *n = 0;
    if (!ls) return v;
    for (char *t = strtok_r(ls, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (!ends_with(t, ".yaml")) continue;
        if (*n == cap) v = yv_realloc(v, (cap *= 2) * sizeof *v);
        v[(*n)++] = yv_strdup(t);
    }
    free(ls);
    return v;
}

/* The cases the spec needs are there, each with its .args, and no .args is orphaned. */
static void test_cases_present(void **state)
{
    (void)state;
    static const char *const want[] = {"minimal",   "minimal-kvm", "ovmf",
                                       "ide-cdrom", "multi",       "comma-path"};
    const char *dir = golden_dir();
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *y = yv_asprintf("%s.yaml", want[i]), *g = yv_asprintf("%s.args", want[i]);
        if (!ut_exists(dir, y)) fail_msg("missing golden case %s/%s", dir, y);
        if (!updating() && !ut_exists(dir, g)) fail_msg("missing %s/%s", dir, g);
        free(y);
        free(g);
    }
    char *ls = ut_ls(dir), *save = NULL;
    assert_non_null(ls);
    for (char *t = strtok_r(ls, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (!ends_with(t, ".args")) continue;
        char *y = yv_asprintf("%.*s.yaml", (int)(strlen(t) - 5), t);
        if (!ut_exists(dir, y)) fail_msg("%s/%s has no %s", dir, t, y);
        free(y);
    }
    free(ls);
}

int main(void)
{
    size_t ncases;
    char **cases = list_cases(&ncases);
    struct CMUnitTest *tests = yv_calloc(ncases + 4, sizeof *tests);
    size_t n = 0;
    tests[n++] = (struct CMUnitTest){.name = "test_escape", .test_func = test_escape};
    tests[n++] = (struct CMUnitTest){.name = "test_argv_grows", .test_func = test_argv_grows};
    tests[n++] = (struct CMUnitTest){.name = "test_cases_present", .test_func = test_cases_present};
    tests[n++] = (struct CMUnitTest){.name = "test_host_paths_with_commas",
                                     .test_func = test_host_paths_with_commas};
    for (size_t i = 0; i < ncases; i++)
        tests[n++] = (struct CMUnitTest){
            .name = cases[i], .test_func = test_golden_case, .initial_state = cases[i]};
    int rc = _cmocka_run_group_tests("qemuargv", tests, n, NULL, NULL);
    for (size_t i = 0; i < ncases; i++) free(cases[i]);
    free(cases);
    free(tests);
    return rc;
}
