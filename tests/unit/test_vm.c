/* Unit tests of core/vm.c: one VM's config.yaml (spec §3). */
#include "unit.h"

#include "core/valid.h"
#include "core/vm.h"

/* The example of spec §3, verbatim. */
static const char spec_example[] = "name: cloud\n"
                                   "hardware:\n"
                                   "  memory: 1024          # MiB\n"
                                   "  vcpu: 1\n"
                                   "  ovmf: true            # boot with UEFI firmware\n"
                                   "vnc:\n"
                                   "  display: ':1'         # port 5900 + 1\n"
                                   "  password: '87654321'  # set over QMP at every start\n"
                                   "drives:\n"
                                   "  hd0:\n"
                                   "    path: hd0.qcow2     # relative to the VM folder\n"
                                   "    device:\n"
                                   "      type: virtio-blk  # or: ide, with media_type: hd | cd\n"
                                   "      boot_index: 0\n"
                                   "networks:\n"
                                   "  net0:\n"
                                   "    type: tap\n"
                                   "    device:\n"
                                   "      mac: '52:54:a1:23:4b:31'\n"
                                   "      master: br0       # optional\n";

static int load(yv_vm *vm, const char *text, const char *expect, yv_err *err)
{
    return yv_vm_load_string(vm, "cloud.vm/config.yaml", text, strlen(text), expect, err);
}

static void assert_spec_vm(const yv_vm *vm)
{
    assert_string_equal(vm->name, "cloud");
    assert_int_equal(vm->memory, 1024);
    assert_int_equal(vm->vcpu, 1);
    assert_true(vm->ovmf);
    assert_string_equal(vm->vnc_display, ":1");
    assert_string_equal(vm->vnc_password, "87654321");
    assert_int_equal(vm->ndrives, 1);
    assert_string_equal(vm->drives[0].id, "hd0");
    assert_string_equal(vm->drives[0].path, "hd0.qcow2");
    assert_int_equal(vm->drives[0].type, YV_DRIVE_VIRTIO_BLK);
    assert_int_equal(vm->drives[0].boot_index, 0);
    assert_int_equal(vm->nnets, 1);
    assert_string_equal(vm->nets[0].id, "net0");
    assert_int_equal(vm->nets[0].type, YV_NET_TAP);
    assert_string_equal(vm->nets[0].mac, "52:54:a1:23:4b:31");
    assert_string_equal(vm->nets[0].master, "br0");
    assert_null(vm->nets[0].ifname);
}

static void test_spec_example(void **state)
{
    (void)state;
    yv_vm vm;
    yv_err err;
    if (load(&vm, spec_example, "cloud", &err) < 0) fail_msg("%s", err.msg);
    assert_spec_vm(&vm);
    yv_vm_done(&vm);
    assert_null(vm.name);
    assert_int_equal(vm.ndrives, 0);
}

static void assert_vm_equal(const yv_vm *a, const yv_vm *b)
{
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->memory, b->memory);
    assert_int_equal(a->vcpu, b->vcpu);
    assert_int_equal(a->ovmf, b->ovmf);
    if (a->vnc_display || b->vnc_display) assert_string_equal(a->vnc_display, b->vnc_display);
    if (a->vnc_password || b->vnc_password) assert_string_equal(a->vnc_password, b->vnc_password);
    assert_int_equal(a->ndrives, b->ndrives);
    for (size_t i = 0; i < a->ndrives; i++) {
        assert_string_equal(a->drives[i].id, b->drives[i].id);
        assert_string_equal(a->drives[i].path, b->drives[i].path);
        assert_int_equal(a->drives[i].type, b->drives[i].type);
        if (a->drives[i].type == YV_DRIVE_IDE)
            assert_int_equal(a->drives[i].media, b->drives[i].media);
        assert_int_equal(a->drives[i].boot_index, b->drives[i].boot_index);
    }
    assert_int_equal(a->nnets, b->nnets);
    for (size_t i = 0; i < a->nnets; i++) {
        assert_string_equal(a->nets[i].id, b->nets[i].id);
        assert_int_equal(a->nets[i].type, b->nets[i].type);
        assert_string_equal(a->nets[i].mac, b->nets[i].mac);
        if (a->nets[i].master || b->nets[i].master)
            assert_string_equal(a->nets[i].master, b->nets[i].master);
        if (a->nets[i].ifname || b->nets[i].ifname)
            assert_string_equal(a->nets[i].ifname, b->nets[i].ifname);
        assert_int_equal(a->nets[i].nforwards, b->nets[i].nforwards);
        for (size_t j = 0; j < a->nets[i].nforwards; j++) {
            const yv_forward *f = &a->nets[i].forwards[j], *g = &b->nets[i].forwards[j];
            assert_int_equal(f->proto, g->proto);
            assert_string_equal(f->address, g->address);
            assert_int_equal(f->host, g->host);
            assert_int_equal(f->guest, g->guest);
        }
    }
}

static void test_round_trip_spec(void **state)
{
    (void)state;
    yv_vm vm, back;
    yv_err err;
    char *text;
    size_t len;
    assert_int_equal(load(&vm, spec_example, "cloud", &err), 0);
    assert_int_equal(yv_vm_to_yaml(&vm, &text, &len, &err), 0);
    assert_int_equal(strlen(text), len);
    /* the values a YAML 1.1 reader would retype are quoted */
    ut_assert_contains(text, "mac: '52:54:a1:23:4b:31'\n");
    ut_assert_contains(text, "display: ':1'\n");
    ut_assert_contains(text, "password: '87654321'\n");
    ut_assert_contains(text, "name: cloud\n");
    ut_assert_contains(text, "path: hd0.qcow2\n");
    ut_assert_contains(text, "memory: 1024\n");
    ut_assert_contains(text, "ovmf: true\n");
    if (yv_vm_load_string(&back, "rt", text, len, "cloud", &err) < 0)
        fail_msg("%s\n%s", err.msg, text);
    assert_vm_equal(&vm, &back);
    assert_spec_vm(&back);
    yv_vm_done(&back);
    yv_vm_done(&vm);
    free(text);
}

static void test_round_trip_built(void **state)
{
    (void)state;
    yv_vm vm = {0}, back;
    yv_err err;
    char *text;
    size_t len;
    vm.name = yv_strdup("web-1.x");
    vm.memory = 4096;
    vm.vcpu = 8;
    vm.ovmf = false;
    vm.vnc_display = yv_strdup(":12");
    vm.vnc_password = yv_strdup("it's a \"pw\": #1");
    yv_vm_add_drive(&vm, "hd0", "/abs/disk one.qcow2", YV_DRIVE_VIRTIO_BLK, YV_MEDIA_HD, 0);
    yv_vm_add_drive(&vm, "cd0", "yes", YV_DRIVE_IDE, YV_MEDIA_CD, 1);
    yv_vm_add_drive(&vm, "hd1", "hd1.qcow2", YV_DRIVE_IDE, YV_MEDIA_HD, -1);
    yv_net *n = yv_vm_add_net(&vm, "net0", "52:54:00:12:34:56", NULL);
    n->ifname = yv_strdup("tap7");
    yv_vm_add_net(&vm, "net1", "52:54:00:00:00:01", "br-lan");
    assert_int_equal(yv_vm_to_yaml(&vm, &text, &len, &err), 0);
    ut_assert_contains(text, "ovmf: false\n");
    ut_assert_contains(text, "path: 'yes'\n");
    ut_assert_contains(text, "media_type: cd\n");
    ut_assert_contains(text, "ifname: tap7\n");
    /* an absent boot index is not written */
    ut_assert_contains(text, "  hd1:\n    path: hd1.qcow2\n    device:\n      type: ide\n"
                             "      media_type: hd\nnetworks:\n");
    assert_int_equal(yv_vm_load_string(&back, "rt", text, len, NULL, &err), 0);
    assert_vm_equal(&vm, &back);
    assert_int_equal(back.drives[2].boot_index, -1);
    yv_vm_done(&back);
    yv_vm_done(&vm);
    free(text);
}

/* `preset:` (what clone needs to know): written when set, read back, absent = NULL, and only a
 * name. */
static void test_preset_key(void **state)
{
    (void)state;
    yv_vm vm = {0}, back;
    yv_err err;
    char *text;
    size_t len;
    vm.name = yv_strdup("p1");
    vm.memory = 64;
    vm.vcpu = 1;
    assert_int_equal(yv_vm_to_yaml(&vm, &text, &len, &err), 0);
    assert_null(strstr(text, "preset"));
    assert_int_equal(yv_vm_load_string(&back, "rt", text, len, NULL, &err), 0);
    assert_null(back.preset);
    yv_vm_done(&back);
    free(text);
    vm.preset = yv_strdup("debian");
    assert_int_equal(yv_vm_to_yaml(&vm, &text, &len, &err), 0);
    ut_assert_contains(text, "preset: debian\n");
    assert_int_equal(yv_vm_load_string(&back, "rt", text, len, NULL, &err), 0);
    assert_string_equal(back.preset, "debian");
    yv_vm_done(&back);
    free(text);
    static const char bad[] = "name: p1\nhardware: {memory: 64, vcpu: 1}\npreset: ../x\n";
    assert_int_equal(yv_vm_load_string(&back, "b", bad, sizeof bad - 1, NULL, &err), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    ut_assert_contains(err.msg, "must be the name of a preset");
    yv_vm_done(&vm);
}

static void test_all_digit_password_quoted(void **state)
{
    (void)state;
    yv_vm vm = {0};
    yv_err err;
    char *text;
    vm.name = yv_strdup("on");
    vm.memory = 512;
    vm.vcpu = 2;
    vm.vnc_display = yv_strdup(":0");
    vm.vnc_password = yv_strdup("00001234");
    assert_int_equal(yv_vm_to_yaml(&vm, &text, NULL, &err), 0);
    assert_string_equal(text, "name: 'on'\n"
                              "hardware:\n"
                              "  memory: 512\n"
                              "  vcpu: 2\n"
                              "  ovmf: false\n"
                              "vnc:\n"
                              "  display: ':0'\n"
                              "  password: '00001234'\n");
    yv_vm_done(&vm);
    free(text);
}

static void assert_vm_fails(const char *text, const char *expect, const char *msg)
{
    yv_vm vm;
    yv_err err;
    if (load(&vm, text, expect, &err) != -1) fail_msg("accepted:\n%s", text);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    assert_string_equal(err.msg, msg);
    assert_null(vm.name);
    assert_null(vm.drives);
}

static void test_name_mismatch(void **state)
{
    (void)state;
    assert_vm_fails(spec_example, "other",
                    "cloud.vm/config.yaml:1:7: name 'cloud' does not match the folder name "
                    "'other.vm'");
    assert_vm_fails("hardware: {memory: 64, vcpu: 1}\n\nname:   'Cloud'\n", "cloud",
                    "cloud.vm/config.yaml:3:9: name 'Cloud' does not match the folder name "
                    "'cloud.vm'");
}

/* The spec example with one line replaced. */
static char *with(const char *from, const char *to)
{
    const char *at = strstr(spec_example, from);
    assert_non_null(at);
    return yv_asprintf("%.*s%s%s", (int)(at - spec_example), spec_example, to, at + strlen(from));
}

static void assert_variant_fails(const char *from, const char *to, const char *msg)
{
    char *text = with(from, to);
    assert_vm_fails(text, "cloud", msg);
    free(text);
}

static void test_bad_values(void **state)
{
    (void)state;
    assert_variant_fails("'52:54:a1:23:4b:31'", "'53:54:a1:23:4b:31'",
                         "cloud.vm/config.yaml:19:12: networks.net0.device.mac must be a unicast "
                         "MAC address like 52:54:00:12:34:56, not '53:54:a1:23:4b:31'");
    assert_variant_fails("'52:54:a1:23:4b:31'", "52-54-a1-23-4b-31",
                         "cloud.vm/config.yaml:19:12: networks.net0.device.mac must be a unicast "
                         "MAC address like 52:54:00:12:34:56, not '52-54-a1-23-4b-31'");
    assert_variant_fails("type: virtio-blk", "type: scsi",
                         "cloud.vm/config.yaml:13:13: drives.hd0.device.type must be one of "
                         "virtio-blk, ide, not 'scsi'");
    assert_variant_fails("type: tap", "type: user",
                         "cloud.vm/config.yaml:16:3: networks.net0: a user network has no master");
    assert_variant_fails("type: tap", "type: bridge",
                         "cloud.vm/config.yaml:17:11: networks.net0.type must be one of tap, user, "
                         "not 'bridge'");
    assert_variant_fails("display: ':1'", "display: ':01'",
                         "cloud.vm/config.yaml:7:12: vnc.display must be a VNC display ':N' with N "
                         "from 0 to 59635, not ':01'");
    assert_variant_fails("display: ':1'", "display: 5901",
                         "cloud.vm/config.yaml:7:12: vnc.display must be a VNC display ':N' with N "
                         "from 0 to 59635, not '5901'");
    assert_variant_fails("memory: 1024", "memory: 1G",
                         "cloud.vm/config.yaml:3:11: hardware.memory must be an integer from 16 to "
                         "16777216, not '1G'");
    assert_variant_fails("vcpu: 1", "vcpu: 0",
                         "cloud.vm/config.yaml:4:9: hardware.vcpu must be an integer from 1 to "
                         "1024, not '0'");
    assert_variant_fails(
        "ovmf: true", "ovmf: uefi",
        "cloud.vm/config.yaml:5:9: hardware.ovmf must be true or false, not 'uefi'");
    assert_variant_fails("master: br0", "master: 'x\";flush ruleset;#'",
                         "cloud.vm/config.yaml:20:15: networks.net0.device.master must be 1 to 15 "
                         "characters of A-Z a-z 0-9 _ . -, not 'x\";flush ruleset;#'");
    assert_variant_fails("boot_index: 0", "boot_index: -1",
                         "cloud.vm/config.yaml:14:19: drives.hd0.device.boot_index must be an "
                         "integer from 0 to 1000, not '-1'");
    assert_variant_fails("  hd0:\n", "  ../hd0:\n",
                         "cloud.vm/config.yaml:10:3: drives: the id '../hd0' must be 1 to 15 "
                         "characters of A-Z a-z 0-9 _ -");
    assert_variant_fails("  net0:\n", "  net.0:\n",
                         "cloud.vm/config.yaml:16:3: networks: the id 'net.0' must be 1 to 15 "
                         "characters of A-Z a-z 0-9 _ -");
    assert_variant_fails("path: hd0.qcow2", "path: ''",
                         "cloud.vm/config.yaml:10:3: drives.hd0.path is empty");
    assert_variant_fails("path: hd0.qcow2", "size: 1",
                         "cloud.vm/config.yaml:11:5: unknown key 'size' in drives.hd0 (known: "
                         "path, device)");
    assert_variant_fails("      mac: '52:54:a1:23:4b:31'\n", "",
                         "cloud.vm/config.yaml:19:7: networks.net0.device.mac is missing");
    assert_variant_fails("drives:\n", "drives: []\ndisks:\n",
                         "cloud.vm/config.yaml:9:9: drives must be a mapping (key: value lines)");
}

static void test_missing_required(void **state)
{
    (void)state;
    assert_vm_fails("", NULL, "cloud.vm/config.yaml:1:1: name is missing");
    assert_vm_fails("name: a\n", NULL, "cloud.vm/config.yaml:1:1: hardware is missing");
    assert_vm_fails("name: a\nhardware:\n  vcpu: 1\n", NULL,
                    "cloud.vm/config.yaml:3:3: hardware.memory is missing");
    assert_vm_fails("name: a\nhardware: {memory: 64, vcpu: 1}\ndrives:\n  hd0: {path: x}\n", NULL,
                    "cloud.vm/config.yaml:4:8: drives.hd0.device is missing");
    assert_vm_fails("name: a\nhardware: {memory: 64, vcpu: 1}\nvnc: {display: ':1', port: 1}\n",
                    NULL,
                    "cloud.vm/config.yaml:3:22: unknown key 'port' in vnc (known: display, "
                    "password)");
}

static void test_ide_cd(void **state)
{
    (void)state;
    yv_vm vm;
    yv_err err;
    const char *text = "name: a\n"
                       "hardware: {memory: 64, vcpu: 1}\n"
                       "drives:\n"
                       "  cd0:\n"
                       "    path: /isos/x.iso\n"
                       "    device: {type: ide, media_type: cd, boot_index: 2}\n"
                       "  hd0:\n"
                       "    path: hd0.qcow2\n"
                       "    device: {type: ide}\n";
    if (load(&vm, text, "a", &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(vm.ndrives, 2);
    assert_int_equal(vm.drives[0].type, YV_DRIVE_IDE);
    assert_int_equal(vm.drives[0].media, YV_MEDIA_CD);
    assert_int_equal(vm.drives[0].boot_index, 2);
    assert_int_equal(vm.drives[1].type, YV_DRIVE_IDE);
    assert_int_equal(vm.drives[1].media, YV_MEDIA_HD);
    assert_int_equal(vm.drives[1].boot_index, -1);
    assert_false(vm.ovmf);
    assert_null(vm.vnc_display);
    assert_null(vm.vnc_password);
    assert_string_equal(yv_vm_drive_type_name(vm.drives[0].type), "ide");
    assert_string_equal(yv_vm_media_name(vm.drives[0].media), "cd");
    char *p = yv_vm_drive_path(&vm, "/r/a.vm", &vm.drives[0]);
    assert_string_equal(p, "/isos/x.iso");
    free(p);
    p = yv_vm_drive_path(&vm, "/r/a.vm", &vm.drives[1]);
    assert_string_equal(p, "/r/a.vm/hd0.qcow2");
    free(p);
    yv_vm_done(&vm);
    assert_variant_fails("type: virtio-blk", "type: ide\n      media_type: dvd",
                         "cloud.vm/config.yaml:14:19: drives.hd0.device.media_type must be one of "
                         "hd, cd, not 'dvd'");
}

/* The user network of spec §10, verbatim (with the spec §3 head). */
static const char user_example[] =
    "name: cloud\n"
    "hardware: {memory: 1024, vcpu: 1}\n"
    "networks:\n"
    "  net0:\n"
    "    type: user                      # QEMU user-mode networking (NAT)\n"
    "    forwards:                       # host → guest port forwards\n"
    "      - {proto: tcp, host: 2201, guest: 22}          # address defaults to 127.0.0.1\n"
    "      - {proto: udp, host: 5353, guest: 53, address: 127.0.0.1}\n"
    "      - {host: 8080, guest: 80, address: 0.0.0.0}\n"
    "    device:\n"
    "      mac: '52:54:a1:23:4b:31'\n";

static void test_user_network(void **state)
{
    (void)state;
    yv_vm vm, back;
    yv_err err;
    char *text;
    size_t len;
    if (load(&vm, user_example, "cloud", &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(vm.nnets, 1);
    assert_int_equal(vm.nets[0].type, YV_NET_USER);
    assert_int_equal(vm.nets[0].nforwards, 3);
    const yv_forward *f = vm.nets[0].forwards;
    assert_int_equal(f[0].proto, YV_PROTO_TCP);
    assert_string_equal(f[0].address, "127.0.0.1");
    assert_int_equal(f[0].host, 2201);
    assert_int_equal(f[0].guest, 22);
    assert_int_equal(f[1].proto, YV_PROTO_UDP);
    assert_int_equal(f[2].proto, YV_PROTO_TCP); /* the default */
    assert_string_equal(f[2].address, "0.0.0.0");
    assert_false(yv_vm_has_tap(&vm));
    assert_ptr_equal(yv_vm_first_user_net(&vm), &vm.nets[0]);
    assert_ptr_equal(yv_vm_find_forward(&vm, YV_PROTO_UDP, 5353), &f[1]);
    assert_null(yv_vm_find_forward(&vm, YV_PROTO_TCP, 5353));
    assert_int_equal(yv_vm_to_yaml(&vm, &text, &len, &err), 0);
    ut_assert_contains(text, "    type: user\n    forwards:\n    - proto: tcp\n");
    if (yv_vm_load_string(&back, "rt", text, len, "cloud", &err) < 0)
        fail_msg("%s\n%s", err.msg, text);
    assert_vm_equal(&vm, &back);
    yv_vm_remove_forward(&back.nets[0], 0);
    assert_int_equal(back.nets[0].nforwards, 2);
    assert_int_equal(back.nets[0].forwards[0].host, 5353);
    yv_vm_done(&back);
    yv_vm_done(&vm);
    free(text);
}

static void assert_user_fails(const char *from, const char *to, const char *msg)
{
    const char *at = strstr(user_example, from);
    assert_non_null(at);
    char *text =
        yv_asprintf("%.*s%s%s", (int)(at - user_example), user_example, to, at + strlen(from));
    assert_vm_fails(text, "cloud", msg);
    free(text);
}

static void test_user_network_bad(void **state)
{
    (void)state;
    assert_user_fails("host: 2201", "host: 0",
                      "cloud.vm/config.yaml:7:28: networks.net0.forwards.host must be an integer "
                      "from 1 to 65535, not '0'");
    assert_user_fails("guest: 22}", "guest: 65536}",
                      "cloud.vm/config.yaml:7:41: networks.net0.forwards.guest must be an integer "
                      "from 1 to 65535, not '65536'");
    assert_user_fails("proto: udp", "proto: sctp",
                      "cloud.vm/config.yaml:8:17: networks.net0.forwards.proto must be one of "
                      "tcp, udp, not 'sctp'");
    assert_user_fails("address: 0.0.0.0", "address: localhost",
                      "cloud.vm/config.yaml:9:42: networks.net0.forwards.address must be an IPv4 "
                      "address like 127.0.0.1, not 'localhost'");
    assert_user_fails("address: 0.0.0.0", "address: 127.1",
                      "cloud.vm/config.yaml:9:42: networks.net0.forwards.address must be an IPv4 "
                      "address like 127.0.0.1, not '127.1'");
    assert_user_fails("proto: udp, host: 5353", "proto: tcp, host: 2201",
                      "cloud.vm/config.yaml:8:9: networks.net0.forwards: tcp host port 2201 is "
                      "forwarded twice");
    assert_user_fails("{host: 8080, guest: 80,", "{guest: 80,",
                      "cloud.vm/config.yaml:9:9: networks.net0.forwards.host is missing");
    assert_user_fails("type: user", "type: tap",
                      "cloud.vm/config.yaml:4:3: networks.net0: forwards need type: user");
    assert_user_fails("type: user", "type: nat",
                      "cloud.vm/config.yaml:5:11: networks.net0.type must be one of tap, user, not "
                      "'nat'");
    assert_user_fails("      mac: '52:54:a1:23:4b:31'\n",
                      "      mac: '52:54:a1:23:4b:31'\n      master: br0\n",
                      "cloud.vm/config.yaml:4:3: networks.net0: a user network has no master");
    assert_user_fails("    forwards:   ", "    forwards: 3\n    x:",
                      "cloud.vm/config.yaml:6:15: networks.net0.forwards must be a list of "
                      "{proto, host, guest, address}");
}

static void test_mac_for(void **state)
{
    (void)state;
    char mac[18];
    /* printf cloud | md5sum → a1234b3161b4fbfdfb96dd576b65bbea */
    yv_vm_mac_for("cloud", 0, mac);
    assert_string_equal(mac, "52:54:a1:23:4b:31");
    yv_vm_mac_for("cloud", 1, mac);
    assert_string_equal(mac, "52:54:a1:23:4b:32");
    yv_vm_mac_for("cloud", 0x100, mac);
    assert_string_equal(mac, "52:54:a1:23:4c:31");
    /* printf n595 | md5sum → 0b8ba7ff…: the bump carries */
    yv_vm_mac_for("n595", 0, mac);
    assert_string_equal(mac, "52:54:0b:8b:a7:ff");
    yv_vm_mac_for("n595", 1, mac);
    assert_string_equal(mac, "52:54:0b:8b:a8:00");
    /* printf m34728 | md5sum → 8010ffff… */
    yv_vm_mac_for("m34728", 1, mac);
    assert_string_equal(mac, "52:54:80:11:00:00");
    char why[128];
    assert_int_equal(yv_valid_mac_check(mac, why, sizeof why), 0);
}

static void test_tap_name(void **state)
{
    (void)state;
    yv_vm vm = {0};
    char tap[16];
    vm.name = yv_strdup("cloud");
    yv_vm_add_net(&vm, "net0", "52:54:a1:23:4b:31", NULL);
    yv_net *n = yv_vm_add_net(&vm, "net1", "52:54:a1:23:4b:32", NULL);
    n->ifname = yv_strdup("mytap");
    /* "yv" + the MAC's hash prefix + the network's index: stable, unique, at most 15 bytes */
    yv_vm_tap_name(&vm, 0, tap);
    assert_string_equal(tap, "yva1234b31n0");
    yv_vm_tap_name(&vm, 1, tap);
    assert_string_equal(tap, "mytap");
    yv_vm_done(&vm);
}

static void test_save_and_load(void **state)
{
    char *root = *state;
    yv_vm vm, back;
    yv_err err;
    assert_int_equal(load(&vm, spec_example, "cloud", &err), 0);
    ut_mkdir(root, "cloud.vm");
    char *dir = yv_root_vm_dir(root, "cloud");
    umask(022);
    assert_int_equal(yv_vm_save(&vm, dir, &err), 0);
    assert_int_equal(ut_mode(dir, "config.yaml"), 0600);
    ut_assert_ls(dir, "config.yaml");
    /* saving again replaces the file, still 0600, still no temp file */
    free(vm.vnc_password);
    vm.vnc_password = yv_strdup("changed");
    assert_int_equal(yv_vm_save(&vm, dir, &err), 0);
    assert_int_equal(ut_mode(dir, "config.yaml"), 0600);
    ut_assert_ls(dir, "config.yaml");

    assert_int_equal(yv_vm_load(&back, root, "cloud", &err), 0);
    assert_string_equal(back.vnc_password, "changed");
    assert_vm_equal(&vm, &back);
    yv_vm_done(&back);
    yv_vm_done(&vm);
    free(dir);
}

static void test_load_errors(void **state)
{
    char *root = *state;
    yv_vm vm;
    yv_err err;
    assert_int_equal(yv_vm_load(&vm, root, "ghost", &err), -1);
    assert_int_equal(err.code, YV_E_VM_NOT_FOUND);
    assert_string_equal(err.msg, "no VM named 'ghost'");

    /* the folder exists but holds no config: the VM is broken, not missing */
    ut_mkdir(root, "empty.vm");
    assert_int_equal(yv_vm_load(&vm, root, "empty", &err), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    ut_assert_contains(err.msg, "empty.vm/config.yaml");

    /* a config copied from another VM names the wrong VM */
    ut_mkdir(root, "copy.vm");
    ut_write(root, "copy.vm/config.yaml", spec_example);
    assert_int_equal(yv_vm_load(&vm, root, "copy", &err), -1);
    assert_int_equal(err.code, YV_E_CONFIG_INVALID);
    char *want = yv_asprintf("%s/copy.vm/config.yaml:1:7: name 'cloud' does not match the folder "
                             "name 'copy.vm'",
                             root);
    assert_string_equal(err.msg, want);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_example),
        cmocka_unit_test(test_round_trip_spec),
        cmocka_unit_test(test_round_trip_built),
        cmocka_unit_test(test_preset_key),
        cmocka_unit_test(test_all_digit_password_quoted),
        cmocka_unit_test(test_name_mismatch),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_ide_cd),
        cmocka_unit_test(test_user_network),
        cmocka_unit_test(test_user_network_bad),
        cmocka_unit_test(test_mac_for),
        cmocka_unit_test(test_tap_name),
        cmocka_unit_test_setup_teardown(test_save_and_load, ut_setup_tmp, ut_teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_errors, ut_setup_tmp, ut_teardown_tmp),
    };
    return cmocka_run_group_tests_name("vm", tests, NULL, NULL);
}
