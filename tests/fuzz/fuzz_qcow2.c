/* Fuzz target: the backing file name of a qcow2 header (core/storage.c
 * yv_storage_qcow2_backing_in), which `run` and `delete` of a linked clone's base read from every
 * disk of the root (core/linked.c). Oracles: accepted ⇔ an independent reading accepts (the magic,
 * a big-endian offset at 8 and length at 16, 1 … 1023 bytes inside the input, no NUL in them); the
 * name is exactly those bytes. */
#include "fuzz.h"

#include "core/storage.h"

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *name = yv_storage_qcow2_backing_in(data, size);
    bool ok = size >= 20 && !memcmp(data, "QFI\xfb", 4);
    uint64_t off = ok ? be(data + 8, 8) : 0, len = ok ? be(data + 16, 4) : 0;
    ok = ok && off && len && len <= 1023 && off <= size && off + len <= size &&
         !memchr(data + off, 0, len);
    FUZZ_CHECK((name != NULL) == ok, "accepted %d, by hand %d", name != NULL, ok);
    if (ok) {
        FUZZ_CHECK(strlen(name) == len, "length %zu, by hand %llu", strlen(name),
                   (unsigned long long)len);
        FUZZ_CHECK(!memcmp(name, data + off, len), "not the header's bytes");
    }
    free(name);
    return 0;
}
