/* Fuzz target: the PNG header check of a screendump (core/screenshot.c yv_screenshot_png_size),
 * which reads what QEMU wrote into run/. Oracles: accepted ⇔ an independent reading accepts (the
 * 8-byte signature, a first chunk of length 13 named IHDR, the whole of it present with its CRC,
 * width and height 1 … YV_SCREENSHOT_DIM_MAX); the size is the one that reading finds; a refusal
 * says why. */
#include "fuzz.h"

#include "core/screenshot.h"

static unsigned be32(const uint8_t *p)
{
    return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

static bool by_hand(const uint8_t *d, size_t n, unsigned *w, unsigned *h)
{
    static const uint8_t sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    if (n < 33 || memcmp(d, sig, 8) != 0 || be32(d + 8) != 13) return false;
    if (d[12] != 'I' || d[13] != 'H' || d[14] != 'D' || d[15] != 'R') return false;
    *w = be32(d + 16);
    *h = be32(d + 20);
    return *w >= 1 && *h >= 1 && *w <= YV_SCREENSHOT_DIM_MAX && *h <= YV_SCREENSHOT_DIM_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned w = 0, h = 0, ww = 0, hh = 0;
    yv_err e = {0};
    int rc = yv_screenshot_png_size(data, size, &w, &h, &e);
    bool ok = by_hand(data, size, &ww, &hh);
    FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
    FUZZ_CHECK((rc == 0) == ok, "accepted %d, by hand %d", rc == 0, ok);
    if (ok) FUZZ_CHECK(w == ww && h == hh, "%ux%u, by hand %ux%u", w, h, ww, hh);
    else FUZZ_CHECK(e.code == YV_E_IO && e.msg[0], "a refusal without a reason");
    return 0;
}
