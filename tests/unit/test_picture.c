/* picture: the fit, what a terminal allows, the pair pool (alone, no curses), which cells a
 * changed region renders again, and real renders with the real libchafa into the cells a real
 * ncurses SCREEN on a pty shows (read back with mvwin_wch), and the truecolor bytes written around
 * ncurses. */
#define UT_TERM
#include "unit.h"

#include <curses.h>
#include <locale.h>
#include <pty.h>
#include <sys/mman.h>

/* The widgets are not in the unit tests' link line: compiled in here. */
#include "../../widgets/picture.c"

/* ---- fit ---- */

static void test_fit(void **state)
{
    (void)state;
    /* 4:3 into 80×24: the height limits; 2·24·4/3 = 64 columns, centred */
    yv_pic_rect r = yv_picture_fit(1024, 768, 80, 24);
    assert_int_equal(r.w, 64);
    assert_int_equal(r.h, 24);
    assert_int_equal(r.x, 8);
    assert_int_equal(r.y, 0);
    /* wide: 1000×100 into 80×24 → the width limits, 80·100/2000 = 4 rows, centred */
    r = yv_picture_fit(1000, 100, 80, 24);
    assert_int_equal(r.w, 80);
    assert_int_equal(r.h, 4);
    assert_int_equal(r.x, 0);
    assert_int_equal(r.y, 10);
    /* tall: 100×1000 into 80×24 → 24 rows, 2·24·100/1000 ≈ 5 columns */
    r = yv_picture_fit(100, 1000, 80, 24);
    assert_int_equal(r.h, 24);
    assert_int_equal(r.w, 5);
    assert_int_equal(r.x, 37);
    /* exact: 160×96 pixels have the aspect of 80 cells × 24 rows */
    r = yv_picture_fit(160, 96, 80, 24);
    assert_int_equal(r.w, 80);
    assert_int_equal(r.h, 24);
    assert_int_equal(r.x, 0);
    assert_int_equal(r.y, 0);
    /* tiny areas: never a zero size while there is room, never beyond the area */
    r = yv_picture_fit(1024, 768, 1, 1);
    assert_int_equal(r.w, 1);
    assert_int_equal(r.h, 1);
    r = yv_picture_fit(10000, 1, 3, 2);
    assert_int_equal(r.w, 3);
    assert_int_equal(r.h, 1);
    r = yv_picture_fit(1, 10000, 3, 2);
    assert_int_equal(r.w, 1);
    assert_int_equal(r.h, 2);
    /* zero or negative sizes: nothing */
    int z[][4] = {{0, 768, 80, 24},
                  {1024, 0, 80, 24},
                  {1024, 768, 0, 24},
                  {1024, 768, 80, 0},
                  {-5, 768, 80, 24}};
    for (size_t i = 0; i < sizeof z / sizeof z[0]; i++) {
        r = yv_picture_fit(z[i][0], z[i][1], z[i][2], z[i][3]);
        assert_int_equal(r.w, 0);
        assert_int_equal(r.h, 0);
    }
}

/* ---- detection ---- */

static void test_colors_for(void **state)
{
    (void)state;
    assert_int_equal(yv_picture_colors_for("1", "truecolor", 256), YV_PIC_MONO);
    assert_int_equal(yv_picture_colors_for("", "truecolor", 8), YV_PIC_TRUECOLOR);
    assert_int_equal(yv_picture_colors_for(NULL, "24bit", 0), YV_PIC_TRUECOLOR);
    assert_int_equal(yv_picture_colors_for(NULL, "yes", 256), YV_PIC_256);
    assert_int_equal(yv_picture_colors_for(NULL, NULL, 88), YV_PIC_16);
    assert_int_equal(yv_picture_colors_for(NULL, NULL, 16), YV_PIC_16);
    assert_int_equal(yv_picture_colors_for(NULL, NULL, 8), YV_PIC_8);
    assert_int_equal(yv_picture_colors_for(NULL, NULL, 2), YV_PIC_MONO);
    assert_int_equal(yv_picture_colors_for(NULL, NULL, -1), YV_PIC_MONO);
    assert_string_equal(yv_picture_colors_name(YV_PIC_TRUECOLOR), "truecolor");
    assert_string_equal(yv_picture_colors_name(YV_PIC_256), "256");
    assert_string_equal(yv_picture_colors_name(YV_PIC_MONO), "mono");
}

static void test_symbols_for(void **state)
{
    (void)state;
    assert_int_equal(yv_picture_symbols_for("xterm-256color", true), YV_PIC_SEXTANT);
    assert_int_equal(yv_picture_symbols_for(NULL, true), YV_PIC_SEXTANT);
    assert_int_equal(yv_picture_symbols_for("linux", true), YV_PIC_HALF);
    assert_int_equal(yv_picture_symbols_for("linux-16color", true), YV_PIC_HALF);
    assert_int_equal(yv_picture_symbols_for("xterm", false), YV_PIC_ASCII);
    assert_int_equal(yv_picture_symbols_for("linux", false), YV_PIC_ASCII);
}

/* ---- the pool, without curses ---- */

/* The test's own record of the pairs: what each was defined as and how many live cells hold it. */
static struct {
    int fg[65536], bg[65536];
    int live[65536];
    int redefined_live; /* definitions of a pair a live cell held: must stay 0 */
} PM;

static int model_define(void *ctx, int pair, int fg, int bg)
{
    (void)ctx;
    if (PM.live[pair]) PM.redefined_live++;
    PM.fg[pair] = fg;
    PM.bg[pair] = bg;
    return 0;
}

typedef struct {
    int fg, bg, pair;
} cellk;

/* ncells cells re-coloured at random rounds times with pens in [lo, lo+npens); returns the
 * stand-ins given. Every exact pair must show its cell's colours. */
static unsigned long pool_churn(pic_pool *pl, int ncells, int rounds, int lo, int npens)
{
    cellk *cells = calloc((size_t)ncells, sizeof *cells);
    unsigned seed = 12345;
    memset(&PM, 0, sizeof PM);
    for (int round = 0; round < rounds; round++)
        for (int i = 0; i < ncells; i++) {
            if (round && rand_r(&seed) % 3) continue; /* a third changes each round */
            cellk *c = &cells[i];
            if (c->pair) {
                pic_pool_release(pl, c->pair);
                PM.live[c->pair]--;
            }
            c->fg = lo + rand_r(&seed) % npens;
            c->bg = lo + rand_r(&seed) % npens;
            unsigned long before = pl->standins;
            c->pair = pic_pool_acquire(pl, c->fg, c->bg);
            assert_true(c->pair >= pl->first && c->pair < pl->first + pl->n);
            PM.live[c->pair]++;
            if (pl->standins == before) {
                assert_int_equal(PM.fg[c->pair], c->fg);
                assert_int_equal(PM.bg[c->pair], c->bg);
            }
        }
    assert_int_equal(PM.redefined_live, 0);
    for (int i = 0; i < ncells; i++) pic_pool_release(pl, cells[i].pair);
    for (int s = 0; s < pl->n; s++) assert_int_equal(pl->refs[s], 0);
    free(cells);
    return pl->standins;
}

static void test_pool_never_runs_out_at_256(void **state)
{
    (void)state;
    pic_pool pl;
    pic_pool_init(&pl, 1, 65535, model_define, NULL); /* xterm-256color: COLOR_PAIRS 65536 */
    /* 200×60 cells of random 256-colour pairs: 12000 < 65535, so never a stand-in */
    assert_int_equal(pool_churn(&pl, 12000, 20, 16, 240), 0);
    assert_true(pl.defined > 12000);
    pic_pool_free(&pl);
}

static void test_pool_linux_64_pairs(void **state)
{
    (void)state;
    pic_pool pl;
    /* TERM=linux: 8 colours, 64 pairs, the theme's take 1..8: 55 pairs for 64 combinations */
    pic_pool_init(&pl, 9, 64 - 9, model_define, NULL);
    unsigned long standins = pool_churn(&pl, 80 * 24, 10, 0, 8);
    assert_true(standins > 0); /* 64 combinations do not fit in 55 pairs */
    pic_pool_free(&pl);
    /* with room for all 64, no stand-in */
    pic_pool_init(&pl, 1, 64, model_define, NULL);
    assert_int_equal(pool_churn(&pl, 80 * 24, 10, 0, 8), 0);
    pic_pool_free(&pl);
}

static void test_pool_reuses_and_falls_back_to_nearest(void **state)
{
    (void)state;
    pic_pool pl;
    memset(&PM, 0, sizeof PM);
    pic_pool_init(&pl, 10, 2, model_define, NULL);
    int red = pic_pool_acquire(&pl, 196, 16); /* ff0000 on black */
    int blue = pic_pool_acquire(&pl, 21, 16); /* 0000ff on black */
    assert_int_not_equal(red, blue);
    assert_int_equal(pic_pool_acquire(&pl, 196, 16), red); /* the same colours: the same pair */
    assert_int_equal(pl.refs[red - 10], 2);
    /* full: dark red on black gets the red pair, not the blue one, and nothing is redefined */
    unsigned long defined = pl.defined;
    assert_int_equal(pic_pool_acquire(&pl, 124, 16), red);
    assert_int_equal(pic_pool_acquire(&pl, 19, 232), blue);
    assert_int_equal(pl.defined, defined);
    assert_int_equal(pl.standins, 2);
    /* freed pairs keep their colours: taken again without a definition */
    for (int i = 0; i < 3; i++) pic_pool_release(&pl, red);
    assert_int_equal(pl.refs[red - 10], 0);
    assert_int_equal(pic_pool_acquire(&pl, 196, 16), red);
    assert_int_equal(pl.defined, defined);
    /* a new combination takes the free pair only when one is free */
    pic_pool_release(&pl, red);
    assert_int_equal(pic_pool_acquire(&pl, 46, 16), red);
    assert_int_equal(pl.defined, defined + 1);
    assert_int_equal(PM.fg[red], 46);
    /* an empty pool (no pairs left for the picture) gives pair 0 */
    pic_pool_free(&pl);
    pic_pool_init(&pl, 10, 0, model_define, NULL);
    assert_int_equal(pic_pool_acquire(&pl, 46, 16), 0);
    pic_pool_free(&pl);
}

static void test_nearest_pen(void **state)
{
    (void)state;
    assert_int_equal(pic_nearest_pen(0xff0000, 256), 196);
    assert_int_equal(pic_nearest_pen(0x0000ff, 256), 21);
    assert_int_equal(pic_nearest_pen(0x000000, 256), 16);
    assert_int_equal(pic_nearest_pen(0xffffff, 256), 231);
    assert_int_equal(pic_nearest_pen(0x808080, 256), 244);
    assert_int_equal(pic_nearest_pen(0xff0000, 16), 9);
    assert_int_equal(pic_nearest_pen(0xe00000, 8), 1);
    for (int pen = 16; pen < 256; pen++)
        assert_int_equal(pic_nearest_pen(pic_pen_rgb(pen), 256), pen);
}

/* ---- the dirty rectangle ---- */

static void test_dirty_cells(void **state)
{
    (void)state;
    /* 1024×768 in 64×24 cells: 16 × 32 pixels per cell */
    yv_pic_rect d = {0, 0, 10, 10}, r = pic_dirty_cells(&d, 1024, 768, 64, 24);
    assert_int_equal(r.x, 0);
    assert_int_equal(r.y, 0);
    assert_int_equal(r.w, 1);
    assert_int_equal(r.h, 1);
    d = (yv_pic_rect){1014, 758, 10, 10};
    r = pic_dirty_cells(&d, 1024, 768, 64, 24);
    assert_int_equal(r.x, 63);
    assert_int_equal(r.y, 23);
    assert_int_equal(r.w, 1);
    assert_int_equal(r.h, 1);
    /* on a cell border: both neighbours (conservative) */
    d = (yv_pic_rect){16, 32, 1, 1};
    r = pic_dirty_cells(&d, 1024, 768, 64, 24);
    assert_int_equal(r.x, 0);
    assert_int_equal(r.y, 0);
    assert_int_equal(r.w, 2);
    assert_int_equal(r.h, 2);
    /* the whole picture and more: every cell, clamped */
    d = (yv_pic_rect){-50, -50, 5000, 5000};
    r = pic_dirty_cells(&d, 1024, 768, 64, 24);
    assert_int_equal(r.x, 0);
    assert_int_equal(r.y, 0);
    assert_int_equal(r.w, 64);
    assert_int_equal(r.h, 24);
    /* empty or outside: nothing */
    d = (yv_pic_rect){5, 5, 0, 3};
    r = pic_dirty_cells(&d, 1024, 768, 64, 24);
    assert_true(r.w == 0 || r.h == 0);
    d = (yv_pic_rect){2000, 5, 3, 3};
    r = pic_dirty_cells(&d, 1024, 768, 64, 24);
    assert_true(r.w == 0 || r.h == 0);
    /* a picture smaller than its cells: a pixel touches several cells */
    d = (yv_pic_rect){1, 1, 1, 1};
    r = pic_dirty_cells(&d, 4, 4, 8, 4);
    assert_true(r.x <= 2 && r.x + r.w >= 4);
}

/* ---- renders on a real terminal ---- */

static struct {
    ut_term t;
} T;

static int term_setup(void **state)
{
    (void)state;
    ut_term_open(&T.t, "xterm-256color");
    start_color();
    use_default_colors();
    assert_int_equal(COLORS, 256);
    assert_true(COLOR_PAIRS > 32768); /* the extended pairs */
    return 0;
}

static int term_teardown(void **state)
{
    (void)state;
    ut_term_close(&T.t);
    memset(&T, 0, sizeof T);
    return 0;
}

/* A w × h picture, left half red and right half blue; alpha 0 as a VNC framebuffer's padding. */
static uint8_t *red_blue(int w, int h)
{
    uint8_t *px = calloc((size_t)w * (size_t)h, 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * (size_t)w + (size_t)x) * 4;
            if (x < w / 2) p[0] = 0xff;
            else p[2] = 0xff;
        }
    return px;
}

static yv_picture *new_picture(yv_pic_colors c, yv_pic_symbols s)
{
    char err[256] = "";
    yv_picture *p = yv_picture_new(c, s, 1, err, sizeof err);
    if (!p) fail_msg("yv_picture_new: %s", err);
    return p;
}

/* The colour a cell shows most of: its background for a space, else its foreground. */
static uint32_t cell_rgb(const yv_picture *p, const pic_cell *c)
{
    int32_t v = c->ch == ' ' ? c->bg : c->fg;
    return p->colors == YV_PIC_TRUECOLOR ? (uint32_t)v : pic_pen_rgb(v);
}

static bool reddish(uint32_t rgb)
{
    return (rgb >> 16 & 255) > 0x80 && (rgb >> 16 & 255) > 2 * (rgb & 255);
}

static bool blueish(uint32_t rgb)
{
    return (rgb & 255) > 0x80 && (rgb & 255) > 2 * (rgb >> 16 & 255);
}

static void check_red_blue(yv_pic_colors colors)
{
    yv_picture *p = new_picture(colors, YV_PIC_SEXTANT);
    uint8_t *px = red_blue(320, 240);
    yv_picture_update(p, px, 320, 240, 320 * 4, NULL, 80, 24);
    assert_int_equal(p->fit.w, 64);
    assert_int_equal(p->rendered, 64 * 24);
    for (int r = 0; r < p->fit.h; r++)
        for (int c = 0; c < p->fit.w; c++) {
            const pic_cell *cell = &p->cells[r * p->fit.w + c];
            assert_int_not_equal(cell->ch, 0);
            if (c < 31) assert_true(reddish(cell_rgb(p, cell)));
            if (c > 32) assert_true(blueish(cell_rgb(p, cell)));
            assert_true(cell->pair >= 1 && cell->pair < COLOR_PAIRS);
        }
    /* what the terminal gets: the window holds the cells with their pairs */
    yv_picture_draw(p, stdscr, 0, 0);
    cchar_t cc;
    wchar_t wc[4];
    attr_t a;
    short sp;
    int pair = -1;
    assert_int_equal(mvwin_wch(stdscr, 5, 8 + 3, &cc), OK);
    getcchar(&cc, wc, &a, &sp, &pair);
    assert_int_equal((uint32_t)wc[0], p->cells[5 * 64 + 3].ch);
    assert_int_equal(pair, p->cells[5 * 64 + 3].pair);
    int efg, ebg;
    extended_pair_content(pair, &efg, &ebg);
    assert_true(reddish(pic_pen_rgb(wc[0] == ' ' ? ebg : efg)));
    free(px);
    yv_picture_free(p);
}

static void test_red_blue_truecolor(void **state)
{
    (void)state;
    check_red_blue(YV_PIC_TRUECOLOR);
}

static void test_red_blue_256(void **state)
{
    (void)state;
    check_red_blue(YV_PIC_256);
}

static void test_red_blue_16(void **state)
{
    (void)state;
    check_red_blue(YV_PIC_16);
}

static void test_red_blue_8(void **state)
{
    (void)state;
    check_red_blue(YV_PIC_8);
}

/* 256 colours draw with the fixed pens 16..255 only (0..15 are the user's to redefine). */
static void test_256_avoids_redefinable_pens(void **state)
{
    (void)state;
    yv_picture *p = new_picture(YV_PIC_256, YV_PIC_SEXTANT);
    int w = 256, h = 192;
    uint8_t *px = malloc((size_t)w * (size_t)h * 4);
    for (int i = 0; i < w * h; i++) {
        px[i * 4] = (uint8_t)(i % w), px[i * 4 + 1] = (uint8_t)(i / w), px[i * 4 + 2] = (uint8_t)i;
        px[i * 4 + 3] = 255;
    }
    yv_picture_update(p, px, w, h, (size_t)w * 4, NULL, 80, 24);
    for (int i = 0; i < p->fit.w * p->fit.h; i++) {
        assert_true(p->cells[i].fg >= 16 && p->cells[i].fg <= 255);
        assert_true(p->cells[i].bg >= 16 && p->cells[i].bg <= 255);
    }
    free(px);
    yv_picture_free(p);
}

static void test_mono_has_no_pairs(void **state)
{
    (void)state;
    yv_picture *p = new_picture(YV_PIC_MONO, YV_PIC_HALF);
    uint8_t *px = red_blue(320, 240);
    /* a white square in the middle of black: shapes in the default colours */
    memset(px, 0, 320 * 240 * 4);
    for (int y = 80; y < 160; y++) memset(px + (y * 320 + 100) * 4, 0xff, 120 * 4);
    yv_picture_update(p, px, 320, 240, 320 * 4, NULL, 80, 24);
    int lit = 0, dark = 0;
    for (int i = 0; i < p->fit.w * p->fit.h; i++) {
        assert_int_equal(p->cells[i].pair, 0);
        lit += p->cells[i].ch == 0x2588;
        dark += p->cells[i].ch == ' ';
    }
    assert_true(lit > 50);
    assert_true(dark > 500);
    assert_int_equal(p->pool.defined, 0);
    free(px);
    yv_picture_free(p);
}

/* Fine detail in every cell: 2×3 blocks of random black and white, a sextant's own grid. */
static uint8_t *detail(int cols, int rows, int *w, int *h)
{
    *w = cols * 2 * 3, *h = rows * 3 * 4; /* 6 × 12 pixels a cell: the 1:2 cell */
    uint8_t *px = malloc((size_t)*w * (size_t)*h * 4);
    unsigned seed = 7;
    for (int by = 0; by < rows * 3; by++)
        for (int bx = 0; bx < cols * 2; bx++) {
            uint8_t v = rand_r(&seed) % 2 ? 0xff : 0;
            for (int y = by * 4; y < by * 4 + 4; y++)
                for (int x = bx * 3; x < bx * 3 + 3; x++)
                    memset(px + ((size_t)y * (size_t)*w + (size_t)x) * 4, v, 4);
        }
    return px;
}

static void check_symbols(yv_pic_symbols s, bool (*ok)(uint32_t), int *sextants)
{
    yv_picture *p = new_picture(YV_PIC_256, s);
    int w, h;
    uint8_t *px = detail(40, 12, &w, &h);
    yv_picture_update(p, px, w, h, (size_t)w * 4, NULL, 40, 12);
    assert_int_equal(p->fit.w, 40);
    assert_int_equal(p->fit.h, 12);
    *sextants = 0;
    for (int i = 0; i < p->fit.w * p->fit.h; i++) {
        uint32_t ch = p->cells[i].ch;
        if (!ok(ch)) fail_msg("symbol U+%04X in mode %d", ch, (int)s);
        *sextants += ch >= 0x1FB00 && ch <= 0x1FB3B;
    }
    free(px);
    yv_picture_free(p);
}

static bool is_sextant_set(uint32_t c)
{
    return (c >= 0x1FB00 && c <= 0x1FB3B) || c == ' ' || c == 0x2588 || c == 0x2580 ||
           c == 0x2584 || c == 0x258C || c == 0x2590;
}

static bool is_half_set(uint32_t c)
{
    return c == ' ' || c == 0x2588 || c == 0x2580 || c == 0x2584 || c == 0x258C || c == 0x2590;
}

static bool is_ascii(uint32_t c)
{
    return c >= 0x20 && c < 0x7f;
}

static void test_symbol_sets(void **state)
{
    (void)state;
    int n;
    check_symbols(YV_PIC_SEXTANT, is_sextant_set, &n);
    assert_true(n > 100); /* most of 480 cells are sextants */
    check_symbols(YV_PIC_HALF, is_half_set, &n);
    assert_int_equal(n, 0);
    check_symbols(YV_PIC_ASCII, is_ascii, &n);
    assert_int_equal(n, 0);
}

/* A change in one corner renders again only the cells there; a new size renders all. */
static void test_update_renders_only_dirty_cells(void **state)
{
    (void)state;
    yv_picture *p = new_picture(YV_PIC_256, YV_PIC_SEXTANT);
    uint8_t *px = red_blue(1024, 768);
    yv_picture_update(p, px, 1024, 768, 1024 * 4, NULL, 80, 24);
    assert_int_equal(p->rendered, 64 * 24);
    pic_cell before[64 * 24];
    memcpy(before, p->cells, sizeof before);
    /* the bottom-right 12×12 pixels turn white: one cell (16 × 32 pixels) */
    for (int y = 756; y < 768; y++) memset(px + (y * 1024 + 1012) * 4, 0xff, 12 * 4);
    yv_pic_rect d = {1012, 756, 12, 12};
    p->rendered = 0;
    yv_picture_update(p, px, 1024, 768, 1024 * 4, &d, 80, 24);
    assert_int_equal(p->rendered, 1);
    assert_memory_equal(before, p->cells, sizeof before - sizeof before[0]);
    assert_memory_not_equal(&before[64 * 24 - 1], &p->cells[64 * 24 - 1], sizeof before[0]);
    /* a change in the top-left 40×40: the 3×2 cells it touches (and the conservative border) */
    p->rendered = 0;
    d = (yv_pic_rect){0, 0, 40, 40};
    yv_picture_update(p, px, 1024, 768, 1024 * 4, &d, 80, 24);
    assert_true(p->rendered >= 6 && p->rendered <= 12);
    /* the area or the picture changes size: everything again */
    p->rendered = 0;
    yv_picture_update(p, px, 1024, 768, 1024 * 4, &d, 100, 24);
    assert_int_equal(p->rendered, (unsigned long)p->fit.w * (unsigned long)p->fit.h);
    p->rendered = 0;
    yv_picture_update(p, px, 1024, 700, 1024 * 4, &d, 100, 24);
    assert_int_equal(p->rendered, (unsigned long)p->fit.w * (unsigned long)p->fit.h);
    /* no picture: no cells, nothing drawn, pairs given back */
    yv_picture_update(p, NULL, 0, 0, 0, NULL, 100, 24);
    assert_int_equal(p->fit.w, 0);
    for (int s = 0; s < p->pool.n; s++) assert_int_equal(p->pool.refs[s], 0);
    free(px);
    yv_picture_free(p);
}

/* A partial render over a sub-rectangle gives the cells a full render gives (same pixels). */
static void test_partial_equals_full(void **state)
{
    (void)state;
    yv_picture *a = new_picture(YV_PIC_TRUECOLOR, YV_PIC_SEXTANT);
    yv_picture *b = new_picture(YV_PIC_TRUECOLOR, YV_PIC_SEXTANT);
    uint8_t *px = red_blue(640, 480);
    yv_picture_update(a, px, 640, 480, 640 * 4, NULL, 80, 24);
    yv_picture_update(b, px, 640, 480, 640 * 4, NULL, 80, 24);
    for (int y = 100; y < 200; y++) memset(px + (y * 640 + 50) * 4, 0xff, 100 * 4);
    yv_pic_rect d = {50, 100, 100, 100};
    yv_picture_update(a, px, 640, 480, 640 * 4, &d, 80, 24);
    yv_picture_update(b, px, 640, 480, 640 * 4, NULL, 80, 24);
    int differ = 0;
    for (int i = 0; i < a->fit.w * a->fit.h; i++)
        differ += a->cells[i].ch != b->cells[i].ch || a->cells[i].fg != b->cells[i].fg;
    assert_true(differ <= 4); /* edges may round differently, never the inside */
    free(px);
    yv_picture_free(a);
    yv_picture_free(b);
}

/* Flat tiles of a dozen colours, not aligned to the cells, and a few tiles of noise. */
static uint8_t *tiles(int w, int h)
{
    static const uint32_t pal[12] = {0x000000, 0xffffff, 0x3465a4, 0xcc0000, 0x4e9a06, 0xc4a000,
                                     0x75507b, 0x06989a, 0xd3d7cf, 0x555753, 0xef2929, 0x8ae234};
    uint8_t *px = malloc((size_t)w * (size_t)h * 4);
    unsigned seed = 3;
    for (int ty = 0; ty * 61 < h; ty++)
        for (int tx = 0; tx * 233 < w; tx++) {
            uint32_t c = pal[rand_r(&seed) % 12];
            bool noise = rand_r(&seed) % 8 == 0;
            for (int y = ty * 61; y < h && y < ty * 61 + 61; y++)
                for (int x = tx * 233; x < w && x < tx * 233 + 233; x++) {
                    uint32_t v = noise && rand_r(&seed) % 2 ? ~c : c;
                    uint8_t *q = px + ((size_t)y * (size_t)w + (size_t)x) * 4;
                    q[0] = (uint8_t)(v >> 16), q[1] = (uint8_t)(v >> 8), q[2] = (uint8_t)v,
                    q[3] = 0;
                }
        }
    return px;
}

/* A flat desktop with one window of text-like noise: the window is one band for chafa. */
static uint8_t *window_pic(int w, int h)
{
    uint8_t *px = malloc((size_t)w * (size_t)h * 4);
    unsigned seed = 5;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = px + ((size_t)y * (size_t)w + (size_t)x) * 4;
            bool in = x > w / 4 && x < w / 2 && y > h / 4 && y < h / 2;
            uint8_t v = in && rand_r(&seed) % 3 == 0 ? 0x10 : 0xf0;
            q[0] = in ? v : 0x20, q[1] = in ? v : 0x4a, q[2] = in ? v : 0x87, q[3] = 255;
        }
    return px;
}

static void check_flat_same(yv_pic_colors colors, yv_pic_symbols symbols, bool window)
{
    yv_picture *a = new_picture(colors, symbols), *b = new_picture(colors, symbols);
    b->no_flat = true;
    a->threads = 1; /* the choice between both ways counts chafa's threads: one, to be sure */
    uint8_t *px = window ? window_pic(640, 480) : tiles(640, 480);
    yv_picture_update(a, px, 640, 480, 640 * 4, NULL, 100, 40);
    yv_picture_update(b, px, 640, 480, 640 * 4, NULL, 100, 40);
    int n = a->fit.w * a->fit.h, differ = 0, flat = 0;
    for (int i = 0; i < n; i++) {
        const pic_cell *x = &a->cells[i], *y = &b->cells[i];
        bool same = x->ch == y->ch && x->fg == y->fg && x->bg == y->bg; /* as they look */
        flat += a->flatrgb[i] != 0;
        if (a->flatrgb[i] && !same)
            fail_msg("flat cell %d: U+%04X %06X/%06X, chafa U+%04X %06X/%06X", i, x->ch, x->fg,
                     x->bg, y->ch, y->fg, y->bg);
        differ += !same;
    }
    assert_true(flat > n / 2);
    /* the others (noise, tile borders) went through chafa by runs, whose scale may sample a pixel
     * apart from the whole block's: some differ, none is missing */
    assert_true(differ < n - flat);
    for (int i = 0; i < n; i++) assert_int_not_equal(a->cells[i].ch, 0);
    assert_int_equal(b->chafa_cells, (unsigned long)n);
    assert_true(a->chafa_cells < (unsigned long)n / 2);
    assert_int_equal(a->rendered, (unsigned long)n);
    free(px);
    yv_picture_free(a);
    yv_picture_free(b);
}

/* A flat cell from the cache is what chafa makes of it, in every mode and symbol set. */
static void test_flat_cells_as_chafa(void **state)
{
    (void)state;
    yv_pic_colors c[] = {YV_PIC_TRUECOLOR, YV_PIC_256, YV_PIC_16, YV_PIC_8, YV_PIC_MONO};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        check_flat_same(c[i], YV_PIC_SEXTANT, false);
        check_flat_same(c[i], YV_PIC_SEXTANT, true);
    }
    check_flat_same(YV_PIC_256, YV_PIC_HALF, false);
    check_flat_same(YV_PIC_16, YV_PIC_ASCII, true);
}

/* The caller's stride is followed: a picture inside a wider buffer whose padding is green. */
static void test_stride_and_offset(void **state)
{
    (void)state;
    int w = 320, h = 240, pad = 64;
    size_t stride = (size_t)(w + pad) * 4;
    uint8_t *px = malloc(stride * (size_t)h), *rb = red_blue(w, h);
    for (int y = 0; y < h; y++) {
        memcpy(px + (size_t)y * stride, rb + (size_t)y * (size_t)w * 4, (size_t)w * 4);
        for (int x = w; x < w + pad; x++)
            memcpy(px + (size_t)y * stride + (size_t)x * 4, "\0\xff\0\xff", 4);
    }
    yv_picture *p = new_picture(YV_PIC_TRUECOLOR, YV_PIC_SEXTANT);
    yv_picture_update(p, px, w, h, stride, NULL, 80, 24);
    yv_pic_rect d = {w - 20, h - 20, 20, 20}; /* a block at the right edge, next to the padding */
    yv_picture_update(p, px, w, h, stride, &d, 80, 24);
    for (int i = 0; i < p->fit.w * p->fit.h; i++) {
        assert_int_equal(p->cells[i].fg >> 8 & 255, 0); /* never any green */
        assert_int_equal(p->cells[i].bg >> 8 & 255, 0);
    }
    assert_true(blueish(cell_rgb(p, &p->cells[p->fit.w * p->fit.h - 1])));
    /* a stride too small for the width: no picture rather than a read out of bounds */
    yv_picture_update(p, px, w, h, (size_t)w * 4 - 4, NULL, 80, 24);
    assert_int_equal(p->fit.w, 0);
    free(rb);
    free(px);
    yv_picture_free(p);
}

/* What this process's terminal allows, from its environment and its terminfo. */
static void test_detect(void **state)
{
    (void)state;
    yv_pic_colors c;
    yv_pic_symbols s;
    char *term = getenv("TERM") ? strdup(getenv("TERM")) : NULL;
    unsetenv("NO_COLOR");
    unsetenv("COLORTERM");
    setenv("TERM", "xterm-256color", 1);
    yv_picture_detect(&c, &s);
    assert_int_equal(c, YV_PIC_256);     /* COLORS of the pty's xterm-256color */
    assert_int_equal(s, YV_PIC_SEXTANT); /* main set a UTF-8 locale */
    setenv("COLORTERM", "truecolor", 1);
    setenv("TERM", "linux", 1);
    yv_picture_detect(&c, &s);
    assert_int_equal(c, YV_PIC_TRUECOLOR);
    assert_int_equal(s, YV_PIC_HALF);
    setenv("NO_COLOR", "1", 1);
    yv_picture_detect(&c, &s);
    assert_int_equal(c, YV_PIC_MONO);
    unsetenv("NO_COLOR");
    unsetenv("COLORTERM");
    if (term) setenv("TERM", term, 1);
    else unsetenv("TERM");
    free(term);
}

/* ---- truecolor written around ncurses ---- */

static size_t count(const char *hay, size_t n, const char *needle)
{
    size_t k = 0, l = strlen(needle);
    for (size_t i = 0; i + l <= n; i++) k += !memcmp(hay + i, needle, l);
    return k;
}

static void test_flush_direct(void **state)
{
    (void)state;
    yv_picture *p = new_picture(YV_PIC_TRUECOLOR, YV_PIC_SEXTANT);
    uint8_t *px = red_blue(320, 240);
    yv_picture_update(p, px, 320, 240, 320 * 4, NULL, 80, 24);
    yv_picture_draw(p, stdscr, 0, 0);
    move(3, 5);
    refresh();
    int fd = memfd_create("flush", 0);
    assert_true(fd >= 0);
    size_t n = yv_picture_flush_direct(p, fd, 0, 0, false);
    assert_true(n > 0);
    char *out = malloc(n + 1);
    assert_int_equal(pread(fd, out, n, 0), (ssize_t)n);
    if (getenv("PIC_DUMP")) fwrite(out, 1, n, stderr);
    /* every row starts with a cursor move to its first cell (column 9: the fit's offset) */
    for (int r = 1; r <= 24; r++) {
        char cup[32];
        snprintf(cup, sizeof cup, "\033[%d;9H", r);
        assert_int_equal(count(out, n, cup), 1);
    }
    /* pure red and pure blue, each set once per row at most: SGR only when colours change */
    size_t red = count(out, n, "48;2;255;0;0m"), blue = count(out, n, "48;2;0;0;255m");
    assert_true(red >= 1 && red <= 24);
    assert_true(blue >= 1 && blue <= 24);
    /* starts plain (ncurses's last cell may have left reverse or bold on), only the colours a
     * glyph shows: a space sets no foreground */
    assert_memory_equal(out, "\033[0m\033[1;9H\033[48;2;255;0;0m ", 21);
    /* ends plain with the cursor where ncurses left it */
    const char *tail = "\033[0m\033[4;6H";
    assert_memory_equal(out + n - strlen(tail), tail, strlen(tail));
    /* nothing new: nothing written; all: everything again */
    assert_int_equal(yv_picture_flush_direct(p, fd, 0, 0, false), 0);
    assert_int_equal(yv_picture_flush_direct(p, fd, 0, 0, true), n);
    /* one changed cell: once ncurses has put it on the terminal, one cursor move, one glyph */
    for (int y = 0; y < 10; y++) memset(px + (y * 320) * 4, 0x40, 5 * 4);
    yv_pic_rect d = {0, 0, 1, 1};
    yv_picture_update(p, px, 320, 240, 320 * 4, &d, 80, 24);
    assert_int_equal(yv_picture_flush_direct(p, fd, 0, 0, false), 0); /* not drawn yet */
    yv_picture_draw(p, stdscr, 0, 0);
    move(3, 5);
    refresh();
    size_t m = yv_picture_flush_direct(p, fd, 0, 0, false);
    assert_true(m > 0 && m < 80);
    /* the other modes write nothing */
    yv_picture *q = new_picture(YV_PIC_256, YV_PIC_SEXTANT);
    yv_picture_update(q, px, 320, 240, 320 * 4, NULL, 80, 24);
    assert_int_equal(yv_picture_flush_direct(q, fd, 0, 0, true), 0);
    yv_picture_free(q);
    close(fd);
    free(out);
    free(px);
    yv_picture_free(p);
}

/* What the bytes of one flush_direct call are, from the end of fd. */
static char *flush_bytes(yv_picture *p, int fd, bool all, size_t *k)
{
    off_t at = lseek(fd, 0, SEEK_END);
    *k = yv_picture_flush_direct(p, fd, 0, 0, all);
    char *out = malloc(*k + 1);
    assert_int_equal(pread(fd, out, *k, at), (ssize_t)*k);
    return out;
}

/* A window over the picture (a dialog): its cells are never written, even with all; once it is
 * gone and the caller says all, they are. */
static void test_flush_direct_leaves_windows_over_it(void **state)
{
    (void)state;
    yv_picture *p = new_picture(YV_PIC_TRUECOLOR, YV_PIC_SEXTANT);
    uint8_t *px = red_blue(320, 240);
    yv_picture_update(p, px, 320, 240, 320 * 4, NULL, 80, 24);
    yv_picture_draw(p, stdscr, 0, 0);
    refresh();
    WINDOW *dlg = newwin(4, 20, 10, 30);
    wbkgd(dlg, ' ' | A_REVERSE);
    werase(dlg);
    wnoutrefresh(dlg);
    doupdate();
    int fd = memfd_create("flush", 0);
    size_t k;
    char *out = flush_bytes(p, fd, true, &k);
    for (int r = 1; r <= 24; r++) {
        char cup[32];
        snprintf(cup, sizeof cup, "\033[%d;9H", r);
        assert_int_equal(count(out, k, cup), 1); /* every row from its first cell */
        snprintf(cup, sizeof cup, "\033[%d;51H", r);
        assert_int_equal(count(out, k, cup), r >= 11 && r <= 14); /* a new run after the dialog */
    }
    free(out);
    delwin(dlg);
    touchwin(stdscr);
    refresh();
    out = flush_bytes(p, fd, true, &k); /* every cell again: one run a row */
    for (int r = 1; r <= 24; r++) {
        char cup[32];
        snprintf(cup, sizeof cup, "\033[%d;9H", r);
        assert_int_equal(count(out, k, cup), 1);
        snprintf(cup, sizeof cup, "\033[%d;51H", r);
        assert_int_equal(count(out, k, cup), 0);
    }
    free(out);
    close(fd);
    free(px);
    yv_picture_free(p);
}

int main(void)
{
    if (!setlocale(LC_ALL, "C.UTF-8")) setlocale(LC_ALL, "en_US.UTF-8");
    unsetenv("LINES");
    unsetenv("COLUMNS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_colors_for),
        cmocka_unit_test(test_symbols_for),
        cmocka_unit_test(test_pool_never_runs_out_at_256),
        cmocka_unit_test(test_pool_linux_64_pairs),
        cmocka_unit_test(test_pool_reuses_and_falls_back_to_nearest),
        cmocka_unit_test(test_nearest_pen),
        cmocka_unit_test(test_dirty_cells),
        cmocka_unit_test_setup_teardown(test_red_blue_truecolor, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_red_blue_256, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_red_blue_16, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_red_blue_8, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_256_avoids_redefinable_pens, term_setup,
                                        term_teardown),
        cmocka_unit_test_setup_teardown(test_mono_has_no_pairs, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_symbol_sets, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_update_renders_only_dirty_cells, term_setup,
                                        term_teardown),
        cmocka_unit_test_setup_teardown(test_partial_equals_full, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_flat_cells_as_chafa, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_stride_and_offset, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_detect, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_flush_direct, term_setup, term_teardown),
        cmocka_unit_test_setup_teardown(test_flush_direct_leaves_windows_over_it, term_setup,
                                        term_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
