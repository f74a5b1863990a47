/* Fuzz target: a VM's config.yaml (core/vm.c). Oracles: no crash or leak; a loaded VM is valid
 * (ranges, enums, ids, MACs, displays); it loads again under its own name and not under another;
 * and yv_vm_to_yaml → yv_vm_load_string gives back an equal VM (writing never loses or changes a
 * value the loader accepted). */
#include "fuzz.h"

#include "core/valid.h"
#include "core/vm.h"

static void check_valid(const yv_vm *vm)
{
    char why[128];
    FUZZ_CHECK(vm->name, "no name");
    FUZZ_CHECK(vm->memory >= 16 && vm->memory <= 16L * 1024 * 1024, "memory %ld", vm->memory);
    FUZZ_CHECK(vm->vcpu >= 1 && vm->vcpu <= 1024, "vcpu %ld", vm->vcpu);
    FUZZ_CHECK(!vm->vnc_display || yv_valid_display_number(vm->vnc_display) >= 0, "display '%s'",
               vm->vnc_display);
    for (size_t i = 0; i < vm->ndrives; i++) {
        const yv_drive *d = &vm->drives[i];
        FUZZ_CHECK(yv_valid_ifname_check(d->id, why, sizeof why) == 0 && !strchr(d->id, '.'),
                   "drive id '%s'", d->id);
        FUZZ_CHECK(d->path && *d->path, "drive %s: empty path", d->id);
        FUZZ_CHECK(d->type == YV_DRIVE_VIRTIO_BLK || d->type == YV_DRIVE_IDE, "type %d", d->type);
        FUZZ_CHECK(d->media == YV_MEDIA_HD || d->media == YV_MEDIA_CD, "media %d", d->media);
        FUZZ_CHECK(d->boot_index >= -1 && d->boot_index <= 1000, "boot_index %ld", d->boot_index);
    }
    for (size_t i = 0; i < vm->nnets; i++) {
        const yv_net *n = &vm->nets[i];
        FUZZ_CHECK(yv_valid_ifname_check(n->id, why, sizeof why) == 0 && !strchr(n->id, '.'),
                   "net id '%s'", n->id);
        FUZZ_CHECK(n->mac && yv_valid_mac_check(n->mac, why, sizeof why) == 0, "mac '%s'",
                   fuzz_show(n->mac));
        FUZZ_CHECK(!n->master || yv_valid_ifname_check(n->master, why, sizeof why) == 0,
                   "master '%s'", n->master);
        FUZZ_CHECK(!n->ifname || yv_valid_ifname_check(n->ifname, why, sizeof why) == 0,
                   "ifname '%s'", n->ifname);
        FUZZ_CHECK(n->type == YV_NET_USER || !n->nforwards, "forwards on a tap network");
        for (size_t j = 0; j < n->nforwards; j++) {
            const yv_forward *f = &n->forwards[j];
            FUZZ_CHECK(f->host >= 1 && f->host <= 65535 && f->guest >= 1 && f->guest <= 65535,
                       "ports %d %d", f->host, f->guest);
            FUZZ_CHECK(yv_valid_ipv4_check(f->address, why, sizeof why) == 0, "address '%s'",
                       f->address);
            FUZZ_CHECK(yv_vm_find_forward(vm, f->proto, f->host) == f, "port %d twice", f->host);
        }
    }
}

static void check_equal(const yv_vm *a, const yv_vm *b)
{
    FUZZ_CHECK(fuzz_streq(a->name, b->name), "name '%s' != '%s'", fuzz_show(a->name),
               fuzz_show(b->name));
    FUZZ_CHECK(a->memory == b->memory && a->vcpu == b->vcpu && a->ovmf == b->ovmf, "hardware");
    FUZZ_CHECK(fuzz_streq(a->vnc_display, b->vnc_display), "vnc.display '%s' != '%s'",
               fuzz_show(a->vnc_display), fuzz_show(b->vnc_display));
    FUZZ_CHECK(fuzz_streq(a->vnc_password, b->vnc_password), "vnc.password differs");
    FUZZ_CHECK(a->ndrives == b->ndrives, "%zu drives != %zu", a->ndrives, b->ndrives);
    for (size_t i = 0; i < a->ndrives; i++) {
        const yv_drive *x = &a->drives[i], *y = &b->drives[i];
        FUZZ_CHECK(fuzz_streq(x->id, y->id) && fuzz_streq(x->path, y->path), "drive %zu", i);
        FUZZ_CHECK(x->type == y->type && x->boot_index == y->boot_index, "drive %s device", x->id);
        /* media_type means something (and is written) for ide drives only */
        FUZZ_CHECK(x->type != YV_DRIVE_IDE || x->media == y->media, "drive %s media", x->id);
    }
    FUZZ_CHECK(a->nnets == b->nnets, "%zu networks != %zu", a->nnets, b->nnets);
    for (size_t i = 0; i < a->nnets; i++) {
        const yv_net *x = &a->nets[i], *y = &b->nets[i];
        FUZZ_CHECK(fuzz_streq(x->id, y->id) && x->type == y->type, "network %zu", i);
        FUZZ_CHECK(fuzz_streq(x->mac, y->mac) && fuzz_streq(x->master, y->master) &&
                       fuzz_streq(x->ifname, y->ifname),
                   "network %s device", x->id);
        FUZZ_CHECK(x->nforwards == y->nforwards, "network %s forwards", x->id);
        for (size_t j = 0; j < x->nforwards; j++)
            FUZZ_CHECK(x->forwards[j].proto == y->forwards[j].proto &&
                           x->forwards[j].host == y->forwards[j].host &&
                           x->forwards[j].guest == y->forwards[j].guest &&
                           !strcmp(x->forwards[j].address, y->forwards[j].address),
                       "network %s forward %zu", x->id, j);
    }
}

static void round_trip(const yv_vm *vm)
{
    char *text;
    size_t len;
    yv_err err = {0};
    FUZZ_CHECK(yv_vm_to_yaml(vm, &text, &len, &err) == 0, "cannot write a loaded VM: %s", err.msg);
    FUZZ_CHECK(strlen(text) == len, "written length");
    yv_vm again;
    if (yv_vm_load_string(&again, "written.yaml", text, len, vm->name, &err) < 0) {
        fprintf(stderr, "---- written:\n%s----\n", text);
        FUZZ_CHECK(0, "the written VM does not load: %s", err.msg);
    }
    check_equal(vm, &again);
    yv_vm_done(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data; /* sized: no NUL terminator needed */
    yv_vm vm, named;
    yv_err err = {0};
    if (yv_vm_load_string(&vm, "fuzz.yaml", text, size, NULL, &err) < 0) {
        FUZZ_CHECK(err.code != YV_OK && err.msg[0], "failure without a message");
        FUZZ_CHECK(!vm.name && !vm.drives && !vm.nets, "a failed load kept values");
        return 0;
    }
    check_valid(&vm);
    /* the same text under the folder name it declares: loads, and equally */
    FUZZ_CHECK(yv_vm_load_string(&named, "fuzz.yaml", text, size, vm.name, &err) == 0,
               "does not load under its own name: %s", err.msg);
    check_equal(&vm, &named);
    yv_vm_done(&named);
    /* … and under any other name it fails */
    char *other = malloc(strlen(vm.name) + 2);
    sprintf(other, "%sx", vm.name);
    FUZZ_CHECK(yv_vm_load_string(&named, "fuzz.yaml", text, size, other, &err) < 0,
               "loads under a foreign name");
    free(other);
    round_trip(&vm);
    yv_vm_done(&vm);
    return 0;
}
