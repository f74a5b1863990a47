/* Unit tests of core/snapshot.c: snapshot names, the merge of `qemu-img info --output=json`'s
 * snapshots of a VM's images (complete, incomplete, twice in one image, names yave could not
 * target, a hostile shape), and a stopped VM's create/list/revert/delete with the real qemu-img
 * (one name on every image, refusals change nothing). The running case needs a QEMU:
 * tests/integration/test-snapshot.sh. */
#include "unit.h"

#include <sys/stat.h>
#include <time.h>

#include "core/config.h"
#include "core/root.h"
#include "core/snapshot.h"
#include "core/storage.h"
#include "core/vm.h"

typedef ut_root fixture;

static void test_names(void **state)
{
    (void)state;
    yv_err e;
    const char *good[] = {"a", "before-upgrade", "v1.2_rc", "2026-12-05", "x9", "A"};
    const char *bad[] = {"",    "-a",  ".a",        "_a", "a/b",  "../x", "a b", "12",
                         "007", "a,b", "tab\there", "é",  "a\nb", "a:b",  "a=b", NULL};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(yv_snapshot_valid_name(good[i], &e), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(yv_snapshot_valid_name(bad[i], &e), -1);
        assert_int_equal(e.code, YV_E_USAGE);
    }
    char longest[YV_SNAPSHOT_NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[YV_SNAPSHOT_NAME_MAX] = '\0';
    assert_int_equal(yv_snapshot_valid_name(longest, &e), 0);
    longest[YV_SNAPSHOT_NAME_MAX] = 'a';
    longest[YV_SNAPSHOT_NAME_MAX + 1] = '\0';
    assert_int_equal(yv_snapshot_valid_name(longest, &e), -1);
}

/* What qemu-img 7.2 prints (trimmed to the fields read). */
#define HD0                                                                                        \
    "{\"snapshots\": [{\"icount\": 0, \"vm-clock-nsec\": 0, \"name\": \"s1\", \"date-sec\": "      \
    "1796453118, \"date-nsec\": 1, \"vm-clock-sec\": 0, \"id\": \"1\", \"vm-state-size\": "        \
    "45613056}, {\"name\": \"only-hd0\", \"date-sec\": 1796453200, \"id\": \"2\", "                \
    "\"vm-state-size\": 0}, {\"name\": \"s1\", \"id\": \"3\"}, {\"name\": \".yave-undo\"}, "       \
    "{\"name\": \"7\"}, {\"id\": \"9\"}, 5], \"virtual-size\": 16777216, \"format\": \"qcow2\"}"
#define VARS "{\"snapshots\": [{\"name\": \"s1\", \"date-sec\": 1796453119, \"vm-state-size\": 0}]}"

static void test_merge(void **state)
{
    (void)state;
    yv_err e;
    yv_snapshot_list l = {.images = 2};
    assert_int_equal(yv_snapshot_parse_info(&l, HD0, strlen(HD0), 0, &e), 0);
    assert_int_equal(yv_snapshot_parse_info(&l, VARS, strlen(VARS), 1, &e), 0);
    assert_int_equal(l.n, 2); /* the undo snapshot, "7" and the nameless ones are not listed */
    const yv_snapshot *s = yv_snapshot_find(&l, "s1");
    assert_non_null(s);
    assert_int_equal(s->on, 2); /* twice in hd0 counts once */
    assert_int_equal(s->date, 1796453118);
    assert_int_equal(s->vm_state_size, 45613056);
    s = yv_snapshot_find(&l, "only-hd0");
    assert_non_null(s);
    assert_int_equal(s->on, 1); /* incomplete: on 1 of 2 images */
    assert_int_equal(s->vm_state_size, 0);
    assert_null(yv_snapshot_find(&l, ".yave-undo"));
    assert_string_equal(l.v[0].name, "s1"); /* in the first image's order */
    assert_int_equal(yv_snapshot_parse_info(&l, "[1]", 3, 0, &e), -1);
    assert_int_equal(e.code, YV_E_TOOL_FAILED);
    assert_int_equal(yv_snapshot_parse_info(&l, "{\"snapshots\": {\"a\": 1}}", 23, 0, &e), 0);
    assert_int_equal(yv_snapshot_parse_info(&l, "{\"a\": 1, \"a\": 2}", 16, 0, &e), -1);
    assert_int_equal(l.n, 2);
    yv_snapshot_list_done(&l);
    assert_int_equal(l.n, 0);
}

/* VM "vm": hd0 and hd1 2 MiB qcow2 disks, a cdrom (left out: read-only), no UEFI. */
static void make_vm(fixture *f, const char *hd1)
{
    yv_err err;
    assert_int_equal(yv_root_ensure(f->root, &err), 0);
    char *dir = yv_root_vm_dir(f->root, "vm"), *d0 = yv_root_join(dir, "hd0.qcow2"),
         *d1 = yv_root_join(dir, hd1);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(yv_storage_create(&f->cfg, d0, 2, NULL, &err), 0);
    assert_int_equal(yv_storage_create(&f->cfg, d1, 2, NULL, &err), 0);
    yv_vm vm = {.name = yv_strdup("vm"), .memory = 64, .vcpu = 1};
    yv_vm_add_drive(&vm, "hd0", "hd0.qcow2", YV_DRIVE_VIRTIO_BLK, YV_MEDIA_HD, 0);
    yv_vm_add_drive(&vm, "hd1", hd1, YV_DRIVE_VIRTIO_BLK, YV_MEDIA_HD, -1);
    yv_vm_add_drive(&vm, "cd0", "cd.iso", YV_DRIVE_IDE, YV_MEDIA_CD, -1);
    assert_int_equal(yv_vm_save(&vm, dir, &err), 0);
    yv_vm_done(&vm);
    free(d0);
    free(d1);
    free(dir);
}

static size_t count(fixture *f)
{
    yv_err err;
    yv_snapshot_list l;
    assert_int_equal(yv_snapshot_list_vm(f->root, &f->cfg, "vm", &l, &err), 0);
    assert_int_equal(l.images, 2);
    size_t n = l.n;
    for (size_t i = 0; i < l.n; i++) assert_int_equal(l.v[i].on, 2);
    yv_snapshot_list_done(&l);
    return n;
}

static int op(fixture *f, const char *vm, yv_snapshot_op o, const char *snap, yv_err *err)
{
    yv_snapshot_result r;
    return yv_snapshot_do(f->root, &f->cfg, vm, o, snap, 0, NULL, NULL, &r, err);
}

static void test_offline(void **state)
{
    fixture *f = *state;
    yv_err err;
    make_vm(f, "hd1.qcow2");
    assert_int_equal(count(f), 0);
    assert_int_equal(op(f, "vm", YV_SNAPSHOT_CREATE, "s1", &err), 0);
    assert_int_equal(count(f), 1);
    assert_int_equal(op(f, "vm", YV_SNAPSHOT_CREATE, "s1", &err), -1);
    assert_int_equal(err.code, YV_E_SNAPSHOT_EXISTS);
    assert_int_equal(op(f, "vm", YV_SNAPSHOT_REVERT, "s2", &err), -1);
    assert_int_equal(err.code, YV_E_SNAPSHOT_NOT_FOUND);
    assert_int_equal(op(f, "vm", YV_SNAPSHOT_DELETE, "s2", &err), -1);
    assert_int_equal(err.code, YV_E_SNAPSHOT_NOT_FOUND);
    assert_int_equal(op(f, "vm", YV_SNAPSHOT_CREATE, "../x", &err), -1);
    assert_int_equal(err.code, YV_E_USAGE);
    assert_int_equal(op(f, "nosuch", YV_SNAPSHOT_CREATE, "s1", &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_FOUND);
    assert_int_equal(op(f, "vm", YV_SNAPSHOT_REVERT, "s1", &err), 0);
    assert_int_equal(count(f), 1);
    assert_int_equal(op(f, "vm", YV_SNAPSHOT_DELETE, "s1", &err), 0);
    assert_int_equal(count(f), 0);
}

static void test_raw_disk_refused(void **state)
{
    fixture *f = *state;
    yv_err err;
    yv_snapshot_list l;
    make_vm(f, "hd1.img");
    assert_int_equal(op(f, "vm", YV_SNAPSHOT_CREATE, "s1", &err), -1);
    assert_int_equal(err.code, YV_E_USAGE);
    ut_assert_contains(err.msg, "drive hd1 of VM 'vm' is a raw disk");
    ut_assert_contains(err.msg, "cannot hold internal snapshots");
    assert_int_equal(yv_snapshot_list_vm(f->root, &f->cfg, "vm", &l, &err), -1);
}

/* Each invocation's job id is its own; a running yave job of another command is reported (the
 * caller refuses), concluded ones are dismissed only when their command is gone, others' jobs and
 * hostile entries are left alone. */
static bool alive_only_7(pid_t pid)
{
    return pid == 7;
}

static void test_jobs(void **state)
{
    (void)state;
    char a[YV_SNAPSHOT_JOB_ID_MAX], b[YV_SNAPSHOT_JOB_ID_MAX];
    yv_snapshot_job_id(a);
    yv_snapshot_job_id(b);
    assert_int_equal(strncmp(a, "yave-snapshot-", 14), 0);
    assert_string_not_equal(a, b);
    json_error_t je;
    json_t *jobs = json_loads("[{\"id\": \"yave-snapshot-7-1\", \"status\": \"concluded\"},"
                              " {\"id\": \"yave-snapshot-9-2\", \"status\": \"concluded\"},"
                              " {\"id\": \"yave-snapshot\", \"status\": \"concluded\"},"
                              " {\"id\": \"backup\", \"status\": \"concluded\"},"
                              " {\"id\": 3}, 4]",
                              0, &je);
    json_t *dismiss = json_array();
    assert_null(yv_snapshot_jobs_scan(jobs, alive_only_7, dismiss));
    assert_int_equal(json_array_size(dismiss), 2); /* 9's, and the fixed id of a yave before */
    assert_string_equal(json_string_value(json_array_get(dismiss, 0)), "yave-snapshot-9-2");
    json_decref(dismiss);
    json_array_append_new(jobs,
                          json_pack("{s:s, s:s}", "id", "yave-snapshot-7-3", "status", "running"));
    dismiss = json_array();
    assert_string_equal(yv_snapshot_jobs_scan(jobs, alive_only_7, dismiss), "yave-snapshot-7-3");
    json_decref(dismiss);
    json_decref(jobs);
}

/* A row as `snapshot list` and the TUI show it: the header and the rows share their columns; the
 * date is local time, the size in MiB or "-" for a disk-only one, "incomplete" when not on every
 * image. */
static void test_row_text(void **state)
{
    (void)state;
    char buf[160], head[160];
    const char *tz = getenv("TZ");
    char *was = tz ? strdup(tz) : NULL;
    setenv("TZ", "UTC", 1); /* the date in UTC; put back below for the tests after this one */
    tzset();
    yv_snapshot s = {.name = "s1", .date = 1796453118, .vm_state_size = 45613056, .on = 2};
    yv_snapshot_row_text(NULL, 0, head, sizeof head);
    assert_string_equal(head,
                        "NAME                     DATE                 VM-STATE       SIZE  ");
    yv_snapshot_row_text(&s, 2, buf, sizeof buf);
    assert_string_equal(buf, "s1                       2026-12-05 06:45:18  yes        43.5 MiB  ");
    assert_int_equal(strstr(buf, "2026") - buf, strstr(head, "DATE") - head);
    s.vm_state_size = 0;
    yv_snapshot_row_text(&s, 3, buf, sizeof buf);
    assert_string_equal(
        buf, "s1                       2026-12-05 06:45:18  no                -  incomplete");
    if (was) setenv("TZ", was, 1);
    else unsetenv("TZ");
    free(was);
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_row_text),
        cmocka_unit_test_setup_teardown(test_offline, ut_setup_root, ut_teardown_root),
        cmocka_unit_test_setup_teardown(test_raw_disk_refused, ut_setup_root, ut_teardown_root),
    };
    return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
