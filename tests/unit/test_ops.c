/* Unit tests of core/ops.c: create and delete against a temporary root, with the real qemu-img. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "core/config.h"
#include "core/ops.h"
#include "core/proc.h"
#include "core/storage.h"
#include "core/vm.h"
#include "core/vnctable.h"

#define TEST_LISTEN "127.77.0.1"

typedef ut_root fixture;

static int setup(void **state)
{
    fixture *f = ut_root_new();
    if (!f) return -1;
    /* VNC ports on an address of our own: a QEMU on this host listening on 127.0.0.1:5902 must not
     * change which display a test VM gets */
    free(f->cfg.vnc_listen);
    f->cfg.vnc_listen = yv_strdup(TEST_LISTEN);
    *state = f;
    return 0;
}

static yv_create_opts opts(const char *name)
{
    yv_create_opts o;
    yv_ops_create_defaults(&o);
    o.name = name;
    return o;
}

/* Creates name with the defaults; fails the test on error. Returns the generated password. */
static char *create_ok(fixture *f, const yv_create_opts *o)
{
    char *pw = (char *)"unset";
    yv_err err;
    if (yv_ops_create(f->root, &f->cfg, o, &pw, &err) < 0)
        fail_msg("create %s: %s", o->name, err.msg);
    return pw;
}

static void assert_pw_shape(const char *pw)
{
    assert_non_null(pw);
    assert_int_equal(strlen(pw), 8);
    for (const char *p = pw; *p; p++)
        if (!strchr("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", *p))
            fail_msg("password character '%c'", *p);
}

static void test_defaults(void **state)
{
    (void)state;
    yv_create_opts o;
    memset(&o, 0x5a, sizeof o);
    yv_ops_create_defaults(&o);
    assert_null(o.name);
    assert_null(o.image);
    assert_null(o.preset);
    assert_null(o.vnc_password);
    assert_null(o.master);
    assert_int_equal(o.capacity, 0);
    assert_int_equal(o.memory, 1024);
    assert_int_equal(o.vcpu, 1);
    assert_true(o.ovmf);
    assert_null(o.net_kind); /* the default of spec §10 */
    assert_int_equal(o.nforwards, 0);
    assert_false(o.linked);
}

static void test_random_password(void **state)
{
    (void)state;
    char *a = yv_ops_random_password(8), *b = yv_ops_random_password(8);
    assert_pw_shape(a);
    assert_pw_shape(b);
    assert_string_not_equal(a, b); /* 57^8 values: equal only by a bug */
    free(a);
    free(b);
    char *z = yv_ops_random_password(0);
    assert_string_equal(z, "");
    free(z);
    char *l = yv_ops_random_password(32);
    assert_int_equal(strlen(l), 32);
    free(l);
}

static void test_create_empty_disk(void **state)
{
    fixture *f = *state;
    yv_create_opts o = opts("alpha");
    char *pw = create_ok(f, &o);
    assert_pw_shape(pw);

    ut_assert_ls(f->root, "alpha.vm run vnc_table.yaml");
    char *dir = yv_root_vm_dir(f->root, "alpha");
    ut_assert_ls(dir, "config.yaml hd0.qcow2");
    assert_int_equal(ut_mode(dir, "config.yaml"), 0600);
    char *disk = yv_root_join(dir, "hd0.qcow2");
    assert_int_equal(yv_storage_qcow2_size(disk), 15360ULL * 1024 * 1024);
    free(disk);
    char *table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':1': alpha\n");
    free(table);

    yv_vm vm;
    yv_err err;
    assert_int_equal(yv_vm_load(&vm, f->root, "alpha", &err), 0);
    assert_string_equal(vm.name, "alpha");
    assert_int_equal(vm.memory, 1024);
    assert_int_equal(vm.vcpu, 1);
    assert_true(vm.ovmf);
    assert_string_equal(vm.vnc_display, ":1");
    assert_string_equal(vm.vnc_password, pw);
    assert_int_equal(vm.ndrives, 1);
    assert_string_equal(vm.drives[0].id, "hd0");
    assert_string_equal(vm.drives[0].path, "hd0.qcow2");
    assert_int_equal(vm.drives[0].type, YV_DRIVE_VIRTIO_BLK);
    assert_int_equal(vm.drives[0].boot_index, 0);
    assert_int_equal(vm.nnets, 1);
    assert_string_equal(vm.nets[0].id, "net0");
    char mac[18];
    yv_vm_mac_for("alpha", 0, mac);
    assert_string_equal(vm.nets[0].mac, mac);
    assert_null(vm.nets[0].master);
    /* no bridge configured: a user network with an SSH forward (spec §10) */
    assert_int_equal(vm.nets[0].type, YV_NET_USER);
    assert_int_equal(vm.nets[0].nforwards, 1);
    assert_int_equal(vm.nets[0].forwards[0].guest, 22);
    assert_true(vm.nets[0].forwards[0].host >= 2200);
    assert_string_equal(vm.nets[0].forwards[0].address, "127.0.0.1");
    yv_vm_done(&vm);
    yv_free_secret(pw);
    free(dir);
}

static void assert_create_fails(fixture *f, const yv_create_opts *o, yv_code code,
                                const char *msg_part);

static int ssh_port(fixture *f, const char *name)
{
    yv_vm vm;
    yv_err err;
    assert_int_equal(yv_vm_load(&vm, f->root, name, &err), 0);
    assert_int_equal(vm.nets[0].type, YV_NET_USER);
    int port = vm.nets[0].forwards[0].host;
    yv_vm_done(&vm);
    return port;
}

static void test_create_ssh_ports(void **state)
{
    fixture *f = *state;
    yv_create_opts o = opts("alpha");
    f->cfg.network_ssh_port_base = 41000;
    yv_free_secret(create_ok(f, &o));
    int p1 = ssh_port(f, "alpha");
    assert_true(p1 >= 41000);
    /* the next port is held by a listener: skipped, as is alpha's */
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(p1 + 1))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool held = bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0;
    o = opts("beta");
    yv_free_secret(create_ok(f, &o));
    int p2 = ssh_port(f, "beta");
    assert_true(p2 > p1);
    if (held) assert_true(p2 > p1 + 1);
    close(l);
    /* a bridge configured: tap, no forwards */
    f->cfg.network_master = yv_strdup("br9");
    o = opts("gamma");
    yv_free_secret(create_ok(f, &o));
    yv_vm vm;
    yv_err err;
    assert_int_equal(yv_vm_load(&vm, f->root, "gamma", &err), 0);
    assert_int_equal(vm.nets[0].type, YV_NET_TAP);
    assert_int_equal(vm.nets[0].nforwards, 0);
    yv_vm_done(&vm);
    /* another VM's port, given by hand: refused, nothing made */
    char spec[32];
    snprintf(spec, sizeof spec, "%d:80", p1);
    o = opts("delta");
    o.forwards = (const char *const[]){spec};
    o.nforwards = 1;
    assert_create_fails(f, &o, YV_E_VM_EXISTS, "is already forwarded by VM 'alpha'");
    ut_assert_ls(f->root, "alpha.vm beta.vm gamma.vm run vnc_table.yaml");
}

static void test_create_second_takes_next_display(void **state)
{
    fixture *f = *state;
    yv_create_opts o = opts("alpha");
    yv_free_secret(create_ok(f, &o));
    o = opts("beta");
    o.vnc_password = "12345678";
    o.memory = 2048;
    o.vcpu = 4;
    o.ovmf = false;
    o.master = "br1";
    o.capacity = 64;
    char *pw = create_ok(f, &o);
    assert_null(pw); /* given, not generated */
    char *table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':1': alpha\n  ':2': beta\n");
    free(table);
    ut_assert_ls(f->root, "alpha.vm beta.vm run vnc_table.yaml");

    yv_vm vm;
    yv_err err;
    assert_int_equal(yv_vm_load(&vm, f->root, "beta", &err), 0);
    assert_string_equal(vm.vnc_display, ":2");
    assert_string_equal(vm.vnc_password, "12345678");
    assert_int_equal(vm.memory, 2048);
    assert_int_equal(vm.vcpu, 4);
    assert_false(vm.ovmf);
    assert_string_equal(vm.nets[0].master, "br1");
    yv_vm_done(&vm);
    /* the all-digit password is quoted on disk */
    char *text = ut_read(f->root, "beta.vm/config.yaml");
    ut_assert_contains(text, "password: '12345678'\n");
    ut_assert_contains(text, "display: ':2'\n");
    free(text);
    char *disk = yv_root_join(f->root, "beta.vm/hd0.qcow2");
    assert_int_equal(yv_storage_qcow2_size(disk), 64ULL * 1024 * 1024);
    free(disk);

    /* without a network there is no MAC */
    o = opts("gamma");
    o.net_kind = "none";
    yv_free_secret(create_ok(f, &o));
    assert_int_equal(yv_vm_load(&vm, f->root, "gamma", &err), 0);
    assert_int_equal(vm.nnets, 0);
    assert_string_equal(vm.vnc_display, ":3");
    yv_vm_done(&vm);
}

/* Everything in the root, file contents included, as one string (to compare before and after). */
static char *snapshot(const char *root)
{
    char *ls = ut_ls(root);
    char *table = ut_read(root, "vnc_table.yaml");
    char *s = yv_asprintf("%s\n--\n%s", ls ? ls : "(none)", table ? table : "(no table)");
    free(ls);
    free(table);
    return s;
}

static void assert_create_fails(fixture *f, const yv_create_opts *o, yv_code code,
                                const char *msg_part)
{
    char *before = snapshot(f->root);
    char *pw = (char *)"unset";
    yv_err err = {0};
    if (yv_ops_create(f->root, &f->cfg, o, &pw, &err) != -1) fail_msg("create %s worked", o->name);
    assert_null(pw);
    if (err.code != code)
        fail_msg("code %s, want %s: %s", yv_err_code_name(err.code), yv_err_code_name(code),
                 err.msg);
    ut_assert_contains(err.msg, msg_part);
    char *after = snapshot(f->root);
    assert_string_equal(after, before);
    free(after);
    free(before);
}

static void test_create_existing(void **state)
{
    fixture *f = *state;
    yv_create_opts o = opts("alpha");
    yv_free_secret(create_ok(f, &o));
    char *config = ut_read(f->root, "alpha.vm/config.yaml");
    o.memory = 4096;
    assert_create_fails(f, &o, YV_E_VM_EXISTS, "a VM named 'alpha' already exists");
    char *config2 = ut_read(f->root, "alpha.vm/config.yaml");
    assert_string_equal(config2, config);
    free(config);
    free(config2);
}

static void test_create_invalid_options(void **state)
{
    fixture *f = *state;
    yv_create_opts o = opts("../x");
    assert_create_fails(f, &o, YV_E_INVALID_NAME, "invalid VM name");
    /* nothing at all was written: not even run/ */
    ut_assert_ls(f->root, "");
    o = opts("a b");
    assert_create_fails(f, &o, YV_E_INVALID_NAME, "' ' is not allowed");
    o = opts("x");
    o.linked = true;
    assert_create_fails(f, &o, YV_E_USAGE, "--linked needs --image");
    o = opts("x");
    o.master = "x\";flush ruleset;#";
    assert_create_fails(f, &o, YV_E_USAGE, "invalid bridge name");
    o = opts("x");
    o.master = "br0";
    o.net_kind = "none";
    assert_create_fails(f, &o, YV_E_USAGE, "--master needs a tap network (not --network none)");
    o = opts("x");
    o.net_kind = "bridge";
    assert_create_fails(f, &o, YV_E_USAGE, "invalid network 'bridge': give user, tap or none");
    o = opts("x");
    o.forwards = (const char *const[]){"2201:22", "tcp:127.0.0.1:2201:23"};
    o.nforwards = 2;
    assert_create_fails(f, &o, YV_E_USAGE, "--forward: tcp port 2201 is given twice");
    o.forwards = (const char *const[]){"2201:22", "1:0"};
    assert_create_fails(f, &o, YV_E_USAGE, "invalid forward '1:0'");
    o.net_kind = "tap";
    o.nforwards = 1;
    assert_create_fails(f, &o, YV_E_USAGE, "--forward needs a user network");
    o = opts("x");
    o.vnc_password = "";
    assert_create_fails(f, &o, YV_E_USAGE, "the VNC password is empty");
    ut_assert_ls(f->root, "");
}

static void test_create_image_missing(void **state)
{
    fixture *f = *state;
    yv_create_opts o = opts("x");
    o.image = "nope";
    char *want = yv_asprintf("base image 'nope' not found (looked for %s/nope.qcow2)", f->root);
    assert_create_fails(f, &o, YV_E_IMAGE_NOT_FOUND, want);
    free(want);
    ut_assert_ls(f->root, "");

    /* with other VMs around: no x.vm, no .x.vm.part, the table as it was */
    o = opts("alpha");
    yv_free_secret(create_ok(f, &o));
    o = opts("x");
    o.image = "nope.qcow2";
    assert_create_fails(f, &o, YV_E_IMAGE_NOT_FOUND, "base image 'nope.qcow2' not found");
    o.image = "/nonexistent/base.qcow2";
    assert_create_fails(f, &o, YV_E_IMAGE_NOT_FOUND, "(looked for /nonexistent/base.qcow2)");
    o.image = "alpha.vm"; /* a folder is not an image */
    assert_create_fails(f, &o, YV_E_IMAGE_NOT_FOUND, "base image 'alpha.vm' not found");
    ut_assert_ls(f->root, "alpha.vm run vnc_table.yaml");
}

static void test_create_tool_fails(void **state)
{
    fixture *f = *state;
    yv_create_opts o = opts("alpha");
    yv_free_secret(create_ok(f, &o));
    free(f->cfg.cli_img);
    f->cfg.cli_img = yv_strdup("/bin/false");
    o = opts("beta");
    assert_create_fails(f, &o, YV_E_TOOL_FAILED, "false failed (exit 1)");
    ut_assert_ls(f->root, "alpha.vm run vnc_table.yaml");
    char *table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':1': alpha\n");
    free(table);

    /* a program that is not there */
    free(f->cfg.cli_img);
    f->cfg.cli_img = yv_strdup("/nonexistent/qemu-img");
    assert_create_fails(f, &o, YV_E_TOOL_FAILED, "program not found");

    /* the display the failed create held is free again */
    free(f->cfg.cli_img);
    f->cfg.cli_img = NULL;
    yv_free_secret(create_ok(f, &o));
    table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':1': alpha\n  ':2': beta\n");
    free(table);
}

static void test_create_tool_fails_on_fresh_root(void **state)
{
    fixture *f = *state;
    yv_err err;
    free(f->cfg.cli_img);
    f->cfg.cli_img = yv_strdup("/bin/false");
    yv_create_opts o = opts("beta");
    char *pw = NULL;
    assert_int_equal(yv_ops_create(f->root, &f->cfg, &o, &pw, &err), -1);
    assert_int_equal(err.code, YV_E_TOOL_FAILED);
    /* the root now exists (run/ is made on first use), but nothing of the VM does */
    char *ls = ut_ls(f->root);
    ut_assert_not_contains(ls, "beta");
    free(ls);
    yv_vnctable t;
    assert_int_equal(yv_vnctable_load(&t, f->root, &err), 0);
    assert_int_equal(t.n, 0);
    yv_vnctable_done(&t);
}

static void test_create_rolls_back_after_disk(void **state)
{
    fixture *f = *state;
    yv_create_opts o = opts("alpha");
    yv_free_secret(create_ok(f, &o));
    /* the disk is made, then the config cannot be written: the disk goes too */
    o = opts("beta");
    o.vnc_password = "caf\xe9-pw";
    assert_create_fails(f, &o, YV_E_IO, "not valid UTF-8");
    ut_assert_ls(f->root, "alpha.vm run vnc_table.yaml");
}

static void make_base(fixture *f, const char *rel, long mib)
{
    yv_err err;
    char *path = yv_root_join(f->root, rel);
    if (yv_storage_create(&f->cfg, path, mib, NULL, &err) < 0) fail_msg("%s", err.msg);
    free(path);
}

/* The JSON of `qemu-img info` (malloc'd). */
static char *img_info(fixture *f, const char *rel)
{
    char *path = yv_root_join(f->root, rel), *out = NULL;
    yv_err err;
    char *argv[] = {"qemu-img", "info", "--output=json", "-U", path, NULL};
    if (yv_proc_run_output(argv, NULL, NULL, &out, &err) < 0) fail_msg("%s", err.msg);
    free(path);
    return out;
}

static void test_create_from_image(void **state)
{
    fixture *f = *state;
    make_base(f, "base.qcow2", 2);
    yv_create_opts o = opts("copy");
    o.image = "base";
    yv_free_secret(create_ok(f, &o));
    char *disk = yv_root_join(f->root, "copy.vm/hd0.qcow2");
    assert_int_equal(yv_storage_qcow2_size(disk), 2ULL * 1024 * 1024);
    free(disk);
    char *info = img_info(f, "copy.vm/hd0.qcow2");
    ut_assert_not_contains(info, "backing-filename");
    free(info);

    o = opts("grown");
    o.image = "base.qcow2";
    o.capacity = 5;
    yv_free_secret(create_ok(f, &o));
    disk = yv_root_join(f->root, "grown.vm/hd0.qcow2");
    assert_int_equal(yv_storage_qcow2_size(disk), 5ULL * 1024 * 1024);
    free(disk);

    o = opts("linked");
    o.image = "base";
    o.linked = true;
    yv_free_secret(create_ok(f, &o));
    info = img_info(f, "linked.vm/hd0.qcow2");
    /* relative to the VM folder, so the root can move */
    ut_assert_contains(info, "\"backing-filename\": \"../base.qcow2\"");
    free(info);

    /* disks are never shrunk: nothing is left of the attempt */
    o = opts("small");
    o.image = "base";
    o.capacity = 1;
    assert_create_fails(f, &o, YV_E_USAGE, "capacity 1 MiB is smaller than the base image (2 MiB)");
    o.linked = true;
    assert_create_fails(f, &o, YV_E_USAGE, "capacity 1 MiB is smaller than the base image (2 MiB)");
    ut_assert_ls(f->root, "base.qcow2 copy.vm grown.vm linked.vm run vnc_table.yaml");
}

static void write_vm(fixture *f, const char *name, const char *display, const char *mac)
{
    char *dir = yv_asprintf("%s.vm", name);
    char *file = yv_asprintf("%s.vm/config.yaml", name);
    char *text = yv_asprintf("name: %s\nhardware: {memory: 64, vcpu: 1}\nvnc: {display: '%s'}\n"
                             "networks:\n  net0:\n    type: tap\n    device: {mac: '%s'}\n",
                             name, display, mac);
    ut_mkdir(f->root, dir);
    ut_write(f->root, file, text);
    free(text);
    free(file);
    free(dir);
}

static void test_create_avoids_used_display_and_mac(void **state)
{
    fixture *f = *state;
    /* a VM written by hand: not in vnc_table.yaml, but its display and MAC are taken */
    char mac[18], mac1[18];
    yv_vm_mac_for("cloud", 0, mac);
    yv_vm_mac_for("cloud", 1, mac1);
    write_vm(f, "other", ":1", mac);
    yv_create_opts o = opts("cloud");
    yv_free_secret(create_ok(f, &o));
    yv_vm vm;
    yv_err err;
    assert_int_equal(yv_vm_load(&vm, f->root, "cloud", &err), 0);
    assert_string_equal(vm.vnc_display, ":2");
    assert_string_equal(vm.nets[0].mac, mac1);
    assert_string_equal(mac1, "52:54:a1:23:4b:32");
    yv_vm_done(&vm);
}

static void test_create_skips_listening_port(void **state)
{
    fixture *f = *state;
    /* another program listens on :1's port */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5901)};
    assert_int_equal(inet_pton(AF_INET, TEST_LISTEN, &a.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    yv_create_opts o = opts("alpha");
    yv_free_secret(create_ok(f, &o));
    close(fd);
    char *table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':2': alpha\n");
    free(table);
    o = opts("beta");
    yv_free_secret(create_ok(f, &o));
    table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':1': beta\n  ':2': alpha\n");
    free(table);
}

/* A .part folder whose creator is at work: it holds the folder's lock (close the fd to end). */
static int hold_part(fixture *f, const char *name)
{
    ut_mkdir(f->root, name);
    char *path = yv_root_join(f->root, name);
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    free(path);
    return fd;
}

static void test_create_reaps_stale_part(void **state)
{
    fixture *f = *state;
    yv_err err;
    /* a creator that died left its .part folder and its display */
    ut_mkdir(f->root, ".ghost.vm.part");
    ut_write(f->root, ".ghost.vm.part/hd0.qcow2", "partial");
    assert_int_equal(yv_root_ensure(f->root, &err), 0);
    ut_write(f->root, "vnc_table.yaml", "table:\n  ':1': ghost\n");
    int fd = hold_part(f, ".busy.vm.part"); /* a creator that is still at work */
    ut_write(f->root, "vnc_table.yaml", "table:\n  ':1': ghost\n  ':2': busy\n");

    yv_create_opts o = opts("alpha");
    yv_free_secret(create_ok(f, &o));
    char *table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':1': alpha\n  ':2': busy\n");
    free(table);
    ut_assert_ls(f->root, ".busy.vm.part alpha.vm run vnc_table.yaml");
    /* the name of a VM under construction is taken */
    o = opts("busy");
    assert_create_fails(f, &o, YV_E_VM_EXISTS, "a VM named 'busy' already exists");
    close(fd);
}

/* A verb naming one VM reaps only that name's leftovers: the named .part goes with its display,
 * another dead creator's .part stays (for create, list and status), a live creator's is untouched,
 * and an invalid name touches nothing. */
static void test_reap_one_reaps_that_name_only(void **state)
{
    fixture *f = *state;
    yv_err err;
    assert_int_equal(yv_root_ensure(f->root, &err), 0);
    ut_mkdir(f->root, ".ghost.vm.part");
    ut_write(f->root, ".ghost.vm.part/hd0.qcow2", "partial");
    ut_mkdir(f->root, ".other.vm.part");
    int fd = hold_part(f, ".busy.vm.part");
    ut_write(f->root, "vnc_table.yaml", "table:\n  ':1': ghost\n  ':2': busy\n  ':3': other\n");

    yv_ops_reap_one(f->root, &f->cfg, "busy");
    yv_ops_reap_one(f->root, &f->cfg, "../.other");
    yv_ops_reap_one(f->root, &f->cfg, "nothing");
    ut_assert_ls(f->root, ".busy.vm.part .ghost.vm.part .other.vm.part run vnc_table.yaml");
    yv_ops_reap_one(f->root, &f->cfg, "ghost");
    ut_assert_ls(f->root, ".busy.vm.part .other.vm.part run vnc_table.yaml");
    char *table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':2': busy\n  ':3': other\n");
    free(table);
    close(fd);
}

/* Every command reaps through yv_ops_in_creation(root, cfg): a .part whose lock is free goes with
 * its display; one whose creator still works is listed and untouched. Without cfg nothing goes. */
static void test_in_creation_reaps(void **state)
{
    fixture *f = *state;
    yv_err err;
    size_t n;
    assert_int_equal(yv_root_ensure(f->root, &err), 0);
    ut_mkdir(f->root, ".ghost.vm.part");
    ut_mkdir(f->root, ".ghost.vm.part/seed");
    ut_write(f->root, ".ghost.vm.part/seed/user-data", "#cloud-config\n");
    ut_mkdir(f->root, ".busy.vm.part");
    char *busy = yv_root_join(f->root, ".busy.vm.part");
    int fd = open(busy, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    free(busy);
    ut_write(f->root, "vnc_table.yaml", "table:\n  ':1': ghost\n  ':2': busy\n");

    char **names = yv_ops_in_creation(f->root, NULL, true, &n, NULL);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "busy");
    yv_root_free_names(names, n);
    ut_assert_ls(f->root, ".busy.vm.part .ghost.vm.part run vnc_table.yaml");

    names = yv_ops_in_creation(f->root, &f->cfg, true, &n, NULL);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "busy");
    yv_root_free_names(names, n);
    ut_assert_ls(f->root, ".busy.vm.part run vnc_table.yaml");
    char *table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':2': busy\n");
    free(table);
    close(fd);
}

typedef struct {
    volatile sig_atomic_t *flag;
    const char *part; /* set once the create's .part exists */
} canceller;

static void *cancel_later(void *arg)
{
    canceller *c = arg;
    struct stat st;
    for (int i = 0; i < 3000 && stat(c->part, &st) < 0; i++) usleep(10 * 1000);
    usleep(200 * 1000);
    *c->flag = 1;
    return NULL;
}

/* A front end with threads (yave-web's stop) cancels a create through its flag from another
 * thread: the tool (here one that would run for a minute) is stopped and nothing is left. */
static void test_create_cancelled_from_another_thread(void **state)
{
    fixture *f = *state;
    yv_err err;
    static volatile sig_atomic_t flag;
    char *tool = yv_root_join(f->root, "slow-img");
    ut_write(f->root, "slow-img", "#!/bin/sh\nexec sleep 60\n");
    assert_int_equal(chmod(tool, 0755), 0);
    free(f->cfg.cli_img);
    f->cfg.cli_img = tool;
    yv_create_opts o = opts("alpha");
    flag = 0;
    o.cancel = &flag;
    char *part = yv_root_join(f->root, ".alpha.vm.part"), *pw = NULL;
    canceller c = {&flag, part};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, cancel_later, &c), 0);
    assert_int_equal(yv_ops_create(f->root, &f->cfg, &o, &pw, &err), -1);
    pthread_join(th, NULL);
    assert_int_equal(flag, 1);
    assert_string_equal(err.msg, "interrupted");
    assert_null(pw);
    ut_assert_ls(f->root, "run slow-img");
    free(part);
}

static void test_delete(void **state)
{
    fixture *f = *state;
    yv_err err;
    yv_create_opts o = opts("alpha");
    yv_free_secret(create_ok(f, &o));
    o = opts("beta");
    yv_free_secret(create_ok(f, &o));
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "alpha", false, &err), 0);
    ut_assert_ls(f->root, "beta.vm run vnc_table.yaml");
    char *table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':2': beta\n");
    free(table);
    /* its display is free for the next VM */
    o = opts("gamma");
    yv_free_secret(create_ok(f, &o));
    table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':1': gamma\n  ':2': beta\n");
    free(table);
    /* a name can be reused after delete */
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "beta", false, &err), 0);
    o = opts("beta");
    yv_free_secret(create_ok(f, &o));
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "beta", true, &err), 0);
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "gamma", false, &err), 0);
    ut_assert_ls(f->root, "run vnc_table.yaml");
    table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table: {}\n");
    free(table);
}

static void test_delete_missing(void **state)
{
    fixture *f = *state;
    yv_err err;
    /* on a root that was never used, too */
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "ghost", false, &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_FOUND);
    assert_string_equal(err.msg, "no VM named 'ghost'");
    ut_assert_ls(f->root, "");
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "../x", true, &err), -1);
    assert_int_equal(err.code, YV_E_INVALID_NAME);
    yv_create_opts o = opts("alpha");
    yv_free_secret(create_ok(f, &o));
    char *before = snapshot(f->root);
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "alph", false, &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_FOUND);
    char *after = snapshot(f->root);
    assert_string_equal(after, before);
    free(after);
    free(before);
}

static void test_delete_keeps_other_entries(void **state)
{
    fixture *f = *state;
    yv_err err;
    /* a VM without a table entry (hand-written) is deleted; the table keeps the others */
    yv_create_opts o = opts("alpha");
    yv_free_secret(create_ok(f, &o));
    write_vm(f, "hand", ":7", "52:54:00:00:00:07");
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "hand", false, &err), 0);
    ut_assert_ls(f->root, "alpha.vm run vnc_table.yaml");
    char *table = ut_read(f->root, "vnc_table.yaml");
    assert_string_equal(table, "table:\n  ':1': alpha\n");
    free(table);
}

/* A stand-in for a running QEMU: a child that holds the VM's pidfile lock, as QEMU does. The
 * configured QEMU binary is this test program, so the child's /proc/PID/exe matches it. */
static pid_t fake_qemu(fixture *f, const char *name)
{
    char *pidfile = yv_asprintf("%s/run/%s.pid", f->root, name);
    pid_t pid = ut_child(pidfile, false);
    free(pidfile);
    return pid;
}

static void test_delete_running_refused(void **state)
{
    fixture *f = *state;
    yv_err err;
    yv_create_opts o = opts("alpha");
    yv_free_secret(create_ok(f, &o));
    pid_t pid = fake_qemu(f, "alpha");
    free(f->cfg.cli_bin);
    f->cfg.cli_bin = ut_exe_of(pid); /* the child stands in for QEMU */
    assert_non_null(f->cfg.cli_bin);
    char *before = snapshot(f->root);
    int rc = yv_ops_delete(f->root, &f->cfg, "alpha", false, &err);
    char *after = snapshot(f->root);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, YV_E_VM_RUNNING);
    ut_assert_contains(err.msg, "VM 'alpha' is running");
    assert_string_equal(after, before);
    free(after);
    free(before);
    /* once the process is gone, the stale pidfile does not block the delete */
    assert_int_equal(yv_ops_delete(f->root, &f->cfg, "alpha", false, &err), 0);
    char *ls = ut_ls(f->root);
    ut_assert_not_contains(ls, "alpha");
    free(ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_random_password),
        cmocka_unit_test_setup_teardown(test_create_empty_disk, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_ssh_ports, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_second_takes_next_display, setup,
                                        ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_existing, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_invalid_options, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_image_missing, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_tool_fails, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_tool_fails_on_fresh_root, setup,
                                        ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_rolls_back_after_disk, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_from_image, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_avoids_used_display_and_mac, setup,
                                        ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_skips_listening_port, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_reaps_stale_part, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_in_creation_reaps, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_reap_one_reaps_that_name_only, setup,
                                        ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_create_cancelled_from_another_thread, setup,
                                        ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_delete, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_delete_missing, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_delete_keeps_other_entries, setup, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_delete_running_refused, setup, ut_teardown_root),
    };
    return cmocka_run_group_tests_name("ops", tests, NULL, NULL);
}
