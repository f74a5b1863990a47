#include "picture.h"

#include <chafa.h>
#include <dlfcn.h>
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

/* ---- libchafa, loaded on first use ----
 * Not linked: it pulls GLib, and only the screen view needs it (a batch command never maps it).
 * The pointers keep the header's types, so a changed prototype still fails the build. */
#define CHAFA_FUNCS(X)                                                                             \
    X(chafa_canvas_config_new)                                                                     \
    X(chafa_canvas_config_unref)                                                                   \
    X(chafa_canvas_config_set_geometry)                                                            \
    X(chafa_canvas_config_set_canvas_mode)                                                         \
    X(chafa_canvas_config_set_symbol_map)                                                          \
    X(chafa_canvas_config_set_work_factor)                                                         \
    X(chafa_canvas_config_set_transparency_threshold)                                              \
    X(chafa_canvas_config_set_preprocessing_enabled)                                               \
    X(chafa_symbol_map_new)                                                                        \
    X(chafa_symbol_map_add_by_tags)                                                                \
    X(chafa_symbol_map_unref)                                                                      \
    X(chafa_canvas_new)                                                                            \
    X(chafa_canvas_unref)                                                                          \
    X(chafa_canvas_draw_all_pixels)                                                                \
    X(chafa_canvas_get_char_at)                                                                    \
    X(chafa_canvas_get_raw_colors_at)                                                              \
    X(chafa_set_n_threads)

#define PIC_SONAME "libchafa.so.0"
#define PIC_PTR(f) __typeof__(f) *f; /* NOLINT(bugprone-macro-parentheses): f names a member */
static struct {
    CHAFA_FUNCS(PIC_PTR)
    char error[256]; /* why it could not be loaded; empty when loaded */
} pic_lib;
#undef PIC_PTR

/* chafa's worker threads for a block of at least PIC_THREAD_CELLS cells (measured with
 * build/tools/picbench, HACKING.md): two halve a full frame (200×60: 19 → 11 ms), but starting
 * them costs more than a small block takes alone (a line of text: 0.27 → 0.39 ms), and more than
 * two would take cores from the guest the view shows. */
#define PIC_THREADS      2
#define PIC_THREAD_CELLS 512
/* Symbol candidates tried per cell (chafa's 0..1 scale; 0.1 = one candidate): enough for a
 * guest's screen, cheap enough for a frame in a few milliseconds. */
#define PIC_WORK 0.1f

static void pic_load_once(void)
{
    void *h = dlopen(PIC_SONAME, RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
#define PIC_SYM(f)                                                                                 \
    if (h && !missing && !(pic_lib.f = (__typeof__(f) *)dlsym(h, #f))) missing = #f;
    CHAFA_FUNCS(PIC_SYM)
#undef PIC_SYM
    if (!h)
        snprintf(pic_lib.error, sizeof pic_lib.error, "cannot load %s: %s", PIC_SONAME, dlerror());
    else if (missing)
        snprintf(pic_lib.error, sizeof pic_lib.error, "%s has no %s", PIC_SONAME, missing);
}

static const char *pic_load(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, pic_load_once);
    return pic_lib.error[0] ? pic_lib.error : NULL;
}

/* ---- what the terminal allows ---- */

yv_pic_colors yv_picture_colors_for(const char *no_color, const char *colorterm, int ncolors)
{
    if (no_color && *no_color) return YV_PIC_MONO;
    if (colorterm && (!strcmp(colorterm, "truecolor") || !strcmp(colorterm, "24bit")))
        return YV_PIC_TRUECOLOR;
    if (ncolors >= 256) return YV_PIC_256;
    if (ncolors >= 16) return YV_PIC_16;
    if (ncolors >= 8) return YV_PIC_8;
    return YV_PIC_MONO;
}

yv_pic_symbols yv_picture_symbols_for(const char *term, bool utf8)
{
    if (!utf8) return YV_PIC_ASCII;
    if (term && !strncmp(term, "linux", 5))
        return YV_PIC_HALF; /* the console font has no sextant */
    return YV_PIC_SEXTANT;
}

void yv_picture_detect(yv_pic_colors *colors, yv_pic_symbols *symbols)
{
    const char *cs = nl_langinfo(CODESET);
    *colors =
        yv_picture_colors_for(getenv("NO_COLOR"), getenv("COLORTERM"), has_colors() ? COLORS : 0);
    *symbols = yv_picture_symbols_for(getenv("TERM"), cs && !strcmp(cs, "UTF-8"));
}

const char *yv_picture_colors_name(yv_pic_colors c)
{
    switch (c) {
    case YV_PIC_TRUECOLOR: return "truecolor";
    case YV_PIC_256: return "256";
    case YV_PIC_16: return "16";
    case YV_PIC_8: return "8";
    case YV_PIC_MONO: break;
    }
    return "mono";
}

/* ---- the fit ---- */

/* a / b rounded to the nearest, b > 0 */
static long long pic_div_round(long long a, long long b)
{
    return (a + b / 2) / b;
}

yv_pic_rect yv_picture_fit(int w, int h, int cols, int rows)
{
    yv_pic_rect r = {0, 0, 0, 0};
    if (w <= 0 || h <= 0 || cols <= 0 || rows <= 0) return r;
    /* c cells wide by r cells tall shows c by 2r units: c / 2r = w / h */
    long long fr = pic_div_round((long long)cols * h, 2LL * w);
    if (fr <= rows) {
        r.w = cols;
        r.h = fr < 1 ? 1 : (int)fr;
    } else {
        long long fc = pic_div_round(2LL * rows * w, h);
        r.h = rows;
        r.w = fc < 1 ? 1 : fc > cols ? cols : (int)fc;
    }
    r.x = (cols - r.w) / 2;
    r.y = (rows - r.h) / 2;
    return r;
}

/* The cells [x, x+w) × [y, y+h) of a fw × fh fit whose rendering a change of the pixels in d (of a
 * pw × ph picture) can alter; empty (w or h 0) when none. Conservative: a cell's pixels are
 * [c·pw/fw, (c+1)·pw/fw), a block is drawn from that range rounded outwards and chafa's scaler
 * blends a neighbouring pixel when it enlarges, so d grows by 2 pixels each way first. */
static yv_pic_rect pic_dirty_cells(const yv_pic_rect *d, int pw, int ph, int fw, int fh)
{
    yv_pic_rect r = {0, 0, 0, 0};
    if (d->w <= 0 || d->h <= 0 || pw <= 0 || ph <= 0 || fw <= 0 || fh <= 0) return r;
    long long x0 = d->x - 2, x1 = (long long)d->x + d->w + 2;
    long long y0 = d->y - 2, y1 = (long long)d->y + d->h + 2;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > pw ? pw : x1;
    y1 = y1 > ph ? ph : y1;
    if (x0 >= x1 || y0 >= y1) return r;
    r.x = (int)(x0 * fw / pw);
    r.y = (int)(y0 * fh / ph);
    r.w = (int)((x1 * fw + pw - 1) / pw) - r.x;
    r.h = (int)((y1 * fh + ph - 1) / ph) - r.y;
    return r;
}

/* ---- colours ---- */

/* The xterm palette: 16 named colours, a 6×6×6 cube, 24 greys (ncurses's model of a 256-colour
 * terminal; the 16 first are redefinable, so 256 colours draw with 16..255 only). */
static uint32_t pic_pen_rgb(int pen)
{
    static const uint32_t named[16] = {0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd,
                                       0x00cdcd, 0xe5e5e5, 0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00,
                                       0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff};
    static const int level[6] = {0, 95, 135, 175, 215, 255};
    if (pen < 0) return 0x000000;
    if (pen < 16) return named[pen];
    if (pen < 232) {
        int i = pen - 16;
        return (uint32_t)(level[i / 36] << 16 | level[i / 6 % 6] << 8 | level[i % 6]);
    }
    int g = 8 + 10 * (pen - 232);
    return (uint32_t)(g << 16 | g << 8 | g);
}

static int pic_dist(uint32_t a, uint32_t b)
{
    int dr = (int)(a >> 16 & 255) - (int)(b >> 16 & 255);
    int dg = (int)(a >> 8 & 255) - (int)(b >> 8 & 255);
    int db = (int)(a & 255) - (int)(b & 255);
    return 2 * dr * dr + 4 * dg * dg + 3 * db * db; /* eyes weigh green most */
}

static int pic_cube_step(int v)
{
    return v < 48 ? 0 : v < 115 ? 1 : (v - 35) / 40;
}

/* The nearest pen of a palette of n (256: the 240 fixed ones; 16 or 8: the named ones). */
static int pic_nearest_pen(uint32_t rgb, int n)
{
    if (n >= 256) {
        int r = (int)(rgb >> 16 & 255), g = (int)(rgb >> 8 & 255), b = (int)(rgb & 255);
        int cube = 16 + 36 * pic_cube_step(r) + 6 * pic_cube_step(g) + pic_cube_step(b);
        int avg = (r + g + b) / 3;
        int grey = avg < 8 ? 232 : avg > 238 ? 255 : 232 + (avg - 3) / 10;
        grey = grey > 255 ? 255 : grey;
        return pic_dist(rgb, pic_pen_rgb(grey)) < pic_dist(rgb, pic_pen_rgb(cube)) ? grey : cube;
    }
    int best = 0, bd = INT_MAX;
    for (int i = 0; i < n; i++) {
        int d = pic_dist(rgb, pic_pen_rgb(i));
        if (d < bd) bd = d, best = i;
    }
    return best;
}

/* ---- the pair pool ----
 * Pairs first .. first+n-1, each counted by the cells that use it. A pair is (re)defined only when
 * no cell uses it, so what is on the screen never changes colour under a cell. The free pairs are
 * a list, oldest freed first, so a pair freed a moment ago keeps its colours a while and is found
 * again by (fg, bg) without a redefinition. With every pair in use, the nearest one stands in. */
typedef int (*pic_define_fn)(void *ctx, int pair, int fg, int bg);

typedef struct {
    int first, n;
    int *fg, *bg;         /* per slot; fg == INT_MIN: never defined */
    unsigned *refs;       /* cells using the slot */
    int *prev, *next;     /* the free list (slots whose refs are 0) */
    int head, tail;       /* -1: empty */
    int *bucket, *chain;  /* (fg, bg) → defined slot */
    unsigned mask;        /* buckets - 1 */
    pic_define_fn define; /* tells the terminal; the pool itself knows no curses */
    void *ctx;
    unsigned long defined; /* definitions made, stand-ins given: for the tests */
    unsigned long standins;
} pic_pool;

static unsigned pic_pool_hash(const pic_pool *pl, int fg, int bg)
{
    return ((unsigned)(fg + 1) * 2654435761u ^ (unsigned)(bg + 1) * 40503u) & pl->mask;
}

static void pic_pool_unlink(pic_pool *pl, int s)
{
    if (pl->prev[s] >= 0) pl->next[pl->prev[s]] = pl->next[s];
    else pl->head = pl->next[s];
    if (pl->next[s] >= 0) pl->prev[pl->next[s]] = pl->prev[s];
    else pl->tail = pl->prev[s];
    pl->prev[s] = pl->next[s] = -1;
}

static void pic_pool_append(pic_pool *pl, int s)
{
    pl->prev[s] = pl->tail;
    pl->next[s] = -1;
    if (pl->tail >= 0) pl->next[pl->tail] = s;
    else pl->head = s;
    pl->tail = s;
}

static void *pic_alloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

static void pic_pool_init(pic_pool *pl, int first, int n, pic_define_fn define, void *ctx)
{
    memset(pl, 0, sizeof *pl);
    pl->first = first;
    pl->n = n > 0 ? n : 0;
    pl->define = define;
    pl->ctx = ctx;
    size_t nb = 16;
    while (nb < (size_t)pl->n) nb *= 2;
    pl->mask = (unsigned)nb - 1;
    pl->fg = pic_alloc((size_t)pl->n, sizeof *pl->fg);
    pl->bg = pic_alloc((size_t)pl->n, sizeof *pl->bg);
    pl->refs = pic_alloc((size_t)pl->n, sizeof *pl->refs);
    pl->prev = pic_alloc((size_t)pl->n, sizeof *pl->prev);
    pl->next = pic_alloc((size_t)pl->n, sizeof *pl->next);
    pl->chain = pic_alloc((size_t)pl->n, sizeof *pl->chain);
    pl->bucket = pic_alloc(nb, sizeof *pl->bucket);
    for (size_t i = 0; i < nb; i++) pl->bucket[i] = -1;
    pl->head = pl->tail = -1;
    for (int s = 0; s < pl->n; s++) {
        pl->fg[s] = INT_MIN;
        pic_pool_append(pl, s);
    }
}

static void pic_pool_free(pic_pool *pl)
{
    free(pl->fg);
    free(pl->bg);
    free(pl->refs);
    free(pl->prev);
    free(pl->next);
    free(pl->chain);
    free(pl->bucket);
    memset(pl, 0, sizeof *pl);
}

static int pic_pool_find(const pic_pool *pl, int fg, int bg)
{
    for (int s = pl->bucket[pic_pool_hash(pl, fg, bg)]; s >= 0; s = pl->chain[s])
        if (pl->fg[s] == fg && pl->bg[s] == bg) return s;
    return -1;
}

static void pic_pool_unhash(pic_pool *pl, int s)
{
    int *at = &pl->bucket[pic_pool_hash(pl, pl->fg[s], pl->bg[s])];
    while (*at != s) at = &pl->chain[*at];
    *at = pl->chain[s];
}

/* The pair in use nearest to (fg, bg): only when every pair is taken. */
static int pic_pool_nearest(const pic_pool *pl, int fg, int bg)
{
    uint32_t f = pic_pen_rgb(fg), b = pic_pen_rgb(bg);
    int best = 0, bd = INT_MAX;
    for (int s = 0; s < pl->n; s++) {
        int d = pic_dist(f, pic_pen_rgb(pl->fg[s])) + pic_dist(b, pic_pen_rgb(pl->bg[s]));
        if (d < bd) bd = d, best = s;
    }
    return best;
}

/* A pair showing (fg, bg), or the nearest stand-in; counted until pic_pool_release. 0: none. */
static int pic_pool_acquire(pic_pool *pl, int fg, int bg)
{
    if (pl->n == 0) return 0;
    int s = pic_pool_find(pl, fg, bg);
    if (s >= 0) {
        if (pl->refs[s]++ == 0) pic_pool_unlink(pl, s);
        return pl->first + s;
    }
    if (pl->head < 0) {
        s = pic_pool_nearest(pl, fg, bg);
        pl->refs[s]++;
        pl->standins++;
        return pl->first + s;
    }
    s = pl->head;
    pic_pool_unlink(pl, s);
    if (pl->fg[s] != INT_MIN) pic_pool_unhash(pl, s);
    pl->fg[s] = fg;
    pl->bg[s] = bg;
    unsigned hb = pic_pool_hash(pl, fg, bg);
    pl->chain[s] = pl->bucket[hb];
    pl->bucket[hb] = s;
    pl->refs[s] = 1;
    pl->defined++;
    if (pl->define) pl->define(pl->ctx, pl->first + s, fg, bg);
    return pl->first + s;
}

static void pic_pool_release(pic_pool *pl, int pair)
{
    int s = pair - pl->first;
    if (pair == 0 || s < 0 || s >= pl->n || pl->refs[s] == 0) return;
    if (--pl->refs[s] == 0) pic_pool_append(pl, s);
}

/* ---- the picture ---- */

#define PIC_USED       0x1000000u /* a flat-colour key in use (above any 0xRRGGBB) */
#define PIC_FLAT_SLOTS 4096

typedef struct {
    uint32_t key; /* 0xRRGGBB | PIC_USED; 0: empty */
    uint32_t ch;
    int32_t fg, bg;
} pic_flat;

typedef struct {
    uint32_t ch;    /* the symbol, a code point; 0: not rendered yet */
    int32_t fg, bg; /* 0xRRGGBB in truecolor, else chafa's pen (-1: the default colour) */
    int pair;       /* the colour pair it is drawn with (0: none) */
} pic_cell;

struct yv_picture {
    yv_pic_colors colors;
    yv_pic_symbols symbols;
    ChafaCanvasConfig *config;
    pic_pool pool;
    int pens;             /* the palette of the pairs: 256, 16, 8, or 0 (no pairs) */
    int w, h, cols, rows; /* the sizes of the last update */
    yv_pic_rect fit;
    pic_cell *cells;        /* fit.w × fit.h */
    pic_cell *shown;        /* truecolor: what flush_direct last wrote per cell (ch 0: unknown) */
    unsigned long rendered; /* cells rendered so far: for the tests and the benchmark */
    int threads;       /* chafa's threads for a big block (PIC_THREADS; the benchmark varies it) */
    uint32_t *flatrgb; /* per cell of the block being rendered: its one colour | PIC_USED */
    pic_flat *flat;    /* what chafa makes of a flat cell, by colour (PIC_FLAT_SLOTS) */
    int nflat;         /* entries in flat */
    bool no_flat;      /* every cell through chafa (the tests compare both ways) */
    unsigned long chafa_cells; /* cells chafa rendered: for the tests and the benchmark */
};

static int pic_define_pair(void *ctx, int pair, int fg, int bg)
{
    (void)ctx;
    return init_extended_pair(pair, fg, bg);
}

static ChafaCanvasMode pic_mode(yv_pic_colors c)
{
    switch (c) {
    case YV_PIC_TRUECOLOR: return CHAFA_CANVAS_MODE_TRUECOLOR;
    case YV_PIC_256: return CHAFA_CANVAS_MODE_INDEXED_240; /* 0..15 are the user's to redefine */
    case YV_PIC_16: return CHAFA_CANVAS_MODE_INDEXED_16;
    case YV_PIC_8: return CHAFA_CANVAS_MODE_INDEXED_8;
    case YV_PIC_MONO: break;
    }
    return CHAFA_CANVAS_MODE_FGBG;
}

static ChafaSymbolTags pic_tags(yv_pic_symbols s)
{
    switch (s) {
    case YV_PIC_SEXTANT:
        return CHAFA_SYMBOL_TAG_SEXTANT | CHAFA_SYMBOL_TAG_HALF | CHAFA_SYMBOL_TAG_SOLID |
               CHAFA_SYMBOL_TAG_SPACE;
    case YV_PIC_HALF:
        return CHAFA_SYMBOL_TAG_HALF | CHAFA_SYMBOL_TAG_SOLID | CHAFA_SYMBOL_TAG_SPACE;
    case YV_PIC_ASCII: break;
    }
    return CHAFA_SYMBOL_TAG_ASCII;
}

/* The palette pairs are made from: the mode's own, or in truecolor the terminfo's (what ncurses
 * can show; the exact colour comes from yv_picture_flush_direct). */
static int pic_pens(yv_pic_colors c)
{
    int have = has_colors() ? COLORS : 0;
    switch (c) {
    case YV_PIC_TRUECOLOR: return have >= 256 ? 256 : have >= 16 ? 16 : have >= 8 ? 8 : 0;
    case YV_PIC_256: return 256;
    case YV_PIC_16: return 16;
    case YV_PIC_8: return 8;
    case YV_PIC_MONO: break;
    }
    return 0;
}

yv_picture *yv_picture_new(yv_pic_colors colors, yv_pic_symbols symbols, int first_pair, char *err,
                           size_t errlen)
{
    const char *why = pic_load();
    if (why) {
        snprintf(err, errlen, "%s", why);
        return NULL;
    }
    yv_picture *p = pic_alloc(1, sizeof *p);
    p->colors = colors;
    p->symbols = symbols;
    p->pens = pic_pens(colors);
    p->threads = PIC_THREADS;
    p->flat = pic_alloc(PIC_FLAT_SLOTS, sizeof *p->flat);
    int npairs = p->pens ? COLOR_PAIRS - first_pair : 0;
    pic_pool_init(&p->pool, first_pair, npairs, pic_define_pair, NULL);
    p->config = pic_lib.chafa_canvas_config_new();
    pic_lib.chafa_canvas_config_set_canvas_mode(p->config, pic_mode(colors));
    pic_lib.chafa_canvas_config_set_work_factor(p->config, PIC_WORK);
    /* a guest's framebuffer has no meaningful alpha (VNC's padding byte may be 0): all opaque */
    pic_lib.chafa_canvas_config_set_transparency_threshold(p->config, 1.0f);
    /* Off: it only boosts 16 and 8 colours, and 1.12 sums its histogram uninitialised at a low work
     * factor (prepare_pixels_1_worker_nearest: g_new, not g_new0; valgrind shows it). */
    pic_lib.chafa_canvas_config_set_preprocessing_enabled(p->config, FALSE);
    ChafaSymbolMap *map = pic_lib.chafa_symbol_map_new();
    pic_lib.chafa_symbol_map_add_by_tags(map, pic_tags(symbols));
    pic_lib.chafa_canvas_config_set_symbol_map(p->config, map); /* copied into the config */
    pic_lib.chafa_symbol_map_unref(map);
    return p;
}

static void pic_drop_cells(yv_picture *p)
{
    if (p->cells)
        for (int i = 0; i < p->fit.w * p->fit.h; i++) pic_pool_release(&p->pool, p->cells[i].pair);
    free(p->cells);
    free(p->shown);
    free(p->flatrgb);
    p->cells = p->shown = NULL;
    p->flatrgb = NULL;
    p->fit = (yv_pic_rect){0, 0, 0, 0};
    p->w = p->h = p->cols = p->rows = 0;
}

void yv_picture_free(yv_picture *p)
{
    if (!p) return;
    pic_drop_cells(p);
    pic_pool_free(&p->pool);
    pic_lib.chafa_canvas_config_unref(p->config);
    free(p->flat);
    free(p);
}

/* Stores what chafa chose for one cell, and moves its pair when its colours changed. */
static void pic_cell_set(yv_picture *p, pic_cell *c, uint32_t ch, int fg, int bg)
{
    c->ch = ch ? ch : ' ';
    /* the colour a space or a full block does not show is whatever chafa had at hand: made the
     * shown one, so equal-looking cells share a pair (and a flat cell is one answer) */
    if (c->ch == ' ' && p->colors != YV_PIC_MONO) fg = bg;
    if (c->ch == 0x2588 && p->colors != YV_PIC_MONO) bg = fg;
    if (c->pair && c->fg == fg && c->bg == bg) return;
    c->fg = fg;
    c->bg = bg;
    pic_pool_release(&p->pool, c->pair);
    c->pair = 0;
    if (!p->pens || p->colors == YV_PIC_MONO) return;
    if (p->colors == YV_PIC_TRUECOLOR) {
        fg = pic_nearest_pen((uint32_t)fg, p->pens);
        bg = pic_nearest_pen((uint32_t)bg, p->pens);
    }
    c->pair = pic_pool_acquire(&p->pool, fg, bg);
}

/* The pixels [*a, *b) under the cells [c0, c1) of n cells over px pixels: rounded outwards. */
static void pic_span(int c0, int c1, int px, int n, long long *a, long long *b)
{
    *a = c0 * (long long)px / n;
    *b = (c1 * (long long)px + n - 1) / n;
}

/* A chafa canvas of cols × rows cells drawn from w × h pixels. */
static ChafaCanvas *pic_canvas(yv_picture *p, int cols, int rows, const uint8_t *px, long long w,
                               long long h, size_t stride)
{
    pic_lib.chafa_canvas_config_set_geometry(p->config, cols, rows);
    pic_lib.chafa_set_n_threads(cols * rows >= PIC_THREAD_CELLS ? p->threads : 1);
    ChafaCanvas *cv = pic_lib.chafa_canvas_new(p->config);
    if (cv)
        pic_lib.chafa_canvas_draw_all_pixels(cv, CHAFA_PIXEL_RGBA8_UNASSOCIATED, px, (int)w, (int)h,
                                             (int)stride);
    return cv;
}

/* Renders the cells b of the fit with chafa from exactly the pixels under them (no copy: an offset
 * into the caller's picture and its stride). */
static void pic_chafa(yv_picture *p, const uint8_t *rgba, size_t stride, yv_pic_rect b)
{
    long long x0, x1, y0, y1;
    pic_span(b.x, b.x + b.w, p->w, p->fit.w, &x0, &x1);
    pic_span(b.y, b.y + b.h, p->h, p->fit.h, &y0, &y1);
    ChafaCanvas *cv = pic_canvas(p, b.w, b.h, rgba + (size_t)y0 * stride + (size_t)x0 * 4, x1 - x0,
                                 y1 - y0, stride);
    if (!cv) return;
    for (int r = 0; r < b.h; r++)
        for (int c = 0; c < b.w; c++) {
            int fg = -1, bg = -1;
            uint32_t ch = pic_lib.chafa_canvas_get_char_at(cv, c, r);
            pic_lib.chafa_canvas_get_raw_colors_at(cv, c, r, &fg, &bg);
            pic_cell_set(p, &p->cells[(b.y + r) * p->fit.w + b.x + c], ch, fg, bg);
        }
    p->chafa_cells += (unsigned long)b.w * (unsigned long)b.h;
    pic_lib.chafa_canvas_unref(cv);
}

/* ---- flat cells ----
 * Most of a guest's screen is flat (a console's background, a desktop's windows), and chafa spends
 * most of a cell's time sorting its 64 pixels per channel to split two colours, flat or not
 * (picbench). A cell whose pixels are all one colour comes out the same wherever it is (no
 * dithering, no preprocessing), so chafa renders each such colour once — a row of 8 × 8 blocks,
 * one per colour not seen yet — and the answer is kept by colour; chafa then renders only the bands
 * of rows with cells that are not flat (each as wide as those cells go), when that is cheaper than
 * the whole block at once. */

#define PIC_CELL_US   15 /* chafa's cost of a cell, and of a canvas, in tenths of µs (picbench) */
#define PIC_CANVAS_US 500

/* The one colour (0xRRGGBB | PIC_USED) of the pixels under cell (c, r), or 0. */
static uint32_t pic_cell_colour(const yv_picture *p, const uint8_t *rgba, size_t stride, int c,
                                int r)
{
    long long x0, x1, y0, y1;
    pic_span(c, c + 1, p->w, p->fit.w, &x0, &x1);
    pic_span(r, r + 1, p->h, p->fit.h, &y0, &y1);
    /* one pixel more each way: chafa samples a cell from its block's scale, up to one beyond */
    x0 = x0 > 0 ? x0 - 1 : 0, y0 = y0 > 0 ? y0 - 1 : 0;
    x1 = x1 < p->w ? x1 + 1 : x1, y1 = y1 < p->h ? y1 + 1 : y1;
    const uint8_t *f = rgba + (size_t)y0 * stride + (size_t)x0 * 4;
    for (long long y = y0; y < y1; y++) {
        const uint8_t *q = rgba + (size_t)y * stride + (size_t)x0 * 4;
        for (long long x = x0; x < x1; x++, q += 4)
            if (q[0] != f[0] || q[1] != f[1] || q[2] != f[2]) return 0;
    }
    return PIC_USED | (uint32_t)f[0] << 16 | (uint32_t)f[1] << 8 | f[2];
}

/* The cache's entry for key: found, else a free one made pending (ch 0); NULL when full. */
static pic_flat *pic_flat_slot(yv_picture *p, uint32_t key)
{
    unsigned i = (key * 2654435761u) >> 20 & (PIC_FLAT_SLOTS - 1);
    for (;; i = (i + 1) & (PIC_FLAT_SLOTS - 1)) {
        if (p->flat[i].key == key) return &p->flat[i];
        if (p->flat[i].key) continue;
        if (p->nflat >= PIC_FLAT_SLOTS * 3 / 4) return NULL;
        p->nflat++;
        p->flat[i] = (pic_flat){key, 0, 0, 0};
        return &p->flat[i];
    }
}

/* Has chafa render the flat colours of block b not yet known, all in one canvas; -1 when the
 * cache cannot hold them (then the block goes to chafa whole). */
static int pic_flat_resolve(yv_picture *p, yv_pic_rect b)
{
    pic_flat **miss = pic_alloc((size_t)b.w * (size_t)b.h, sizeof *miss);
    int n = 0;
    for (int r = b.y; r < b.y + b.h; r++)
        for (int c = b.x; c < b.x + b.w; c++) {
            uint32_t key = p->flatrgb[r * p->fit.w + c];
            pic_flat *e = key ? pic_flat_slot(p, key) : NULL;
            if (key && !e) {
                free(miss);
                memset(p->flat, 0, PIC_FLAT_SLOTS * sizeof *p->flat); /* next time afresh */
                p->nflat = 0;
                return -1;
            }
            if (e && !e->ch && e->fg == 0) e->fg = -2, miss[n++] = e; /* -2: asked for below */
        }
    uint8_t *px = pic_alloc((size_t)n * 64, 4);
    for (int i = 0; i < n; i++)
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
                uint8_t *q = px + ((size_t)y * (size_t)n * 8 + (size_t)i * 8 + (size_t)x) * 4;
                q[0] = (uint8_t)(miss[i]->key >> 16), q[1] = (uint8_t)(miss[i]->key >> 8);
                q[2] = (uint8_t)miss[i]->key, q[3] = 255;
            }
    ChafaCanvas *cv = n ? pic_canvas(p, n, 1, px, n * 8LL, 8, (size_t)n * 32) : NULL;
    for (int i = 0; cv && i < n; i++) {
        miss[i]->ch = pic_lib.chafa_canvas_get_char_at(cv, i, 0);
        pic_lib.chafa_canvas_get_raw_colors_at(cv, i, 0, &miss[i]->fg, &miss[i]->bg);
    }
    if (cv) pic_lib.chafa_canvas_unref(cv);
    free(px);
    free(miss);
    if (!n || cv) return 0;
    memset(p->flat, 0, PIC_FLAT_SLOTS * sizeof *p->flat); /* no canvas: nothing left pending */
    p->nflat = 0;
    return -1;
}

/* Fills flatrgb for the cells of b, and span with the first and last column of each row of b that
 * is not flat (first > last: none). */
static void pic_find_flat(yv_picture *p, const uint8_t *rgba, size_t stride, yv_pic_rect b,
                          int *span)
{
    for (int r = b.y; r < b.y + b.h; r++) {
        int *first = &span[2 * (r - b.y)], *last = first + 1;
        *first = INT_MAX, *last = -1;
        for (int c = b.x; c < b.x + b.w; c++) {
            uint32_t key = pic_cell_colour(p, rgba, stride, c, r);
            p->flatrgb[r * p->fit.w + c] = key;
            if (key) continue;
            *first = c < *first ? c : *first;
            *last = c;
        }
    }
}

/* The bands of b: runs of rows with cells that are not flat, as wide as their spans together. */
static int pic_bands(const int *span, yv_pic_rect b, yv_pic_rect *band)
{
    int n = 0;
    for (int i = 0; i < b.h; i++) {
        int first = span[2 * i], last = span[2 * i + 1];
        if (first > last) continue;
        yv_pic_rect *k = n ? &band[n - 1] : NULL;
        if (k && k->y + k->h == b.y + i) {
            int x1 = k->x + k->w > last + 1 ? k->x + k->w : last + 1;
            k->x = first < k->x ? first : k->x;
            k->w = x1 - k->x;
            k->h++;
        } else {
            band[n++] = (yv_pic_rect){first, b.y + i, last - first + 1, 1};
        }
    }
    return n;
}

/* What chafa takes for n cells in one canvas, in tenths of µs (the estimate picks the way). */
static long pic_cost(const yv_picture *p, long n)
{
    long threads = n >= PIC_THREAD_CELLS && p->threads > 1 ? p->threads : 1;
    return n * PIC_CELL_US / threads + PIC_CANVAS_US;
}

/* What rendering band k by runs of cells that are not flat, row by row, would take (a run takes in
 * a gap of flat cells shorter than a canvas costs, as pic_band_rows does). */
static long pic_runs_cost(const yv_picture *p, yv_pic_rect k)
{
    int gap = PIC_CANVAS_US / PIC_CELL_US;
    long cost = 0;
    for (int r = k.y; r < k.y + k.h; r++) {
        int start = -1, last = -1;
        for (int c = k.x; c <= k.x + k.w; c++) {
            bool end = c == k.x + k.w;
            if (!end && p->flatrgb[r * p->fit.w + c]) continue;
            if (start >= 0 && (end || c - last > gap))
                cost += pic_cost(p, last - start + 1), start = -1;
            if (end) break;
            if (start < 0) start = c;
            last = c;
        }
    }
    return cost;
}

/* Band k by runs, row by row: what pic_runs_cost counted. */
static void pic_band_rows(yv_picture *p, const uint8_t *rgba, size_t stride, yv_pic_rect k)
{
    int gap = PIC_CANVAS_US / PIC_CELL_US;
    for (int r = k.y; r < k.y + k.h; r++) {
        int start = -1, last = -1;
        for (int c = k.x; c <= k.x + k.w; c++) {
            bool end = c == k.x + k.w;
            if (!end && p->flatrgb[r * p->fit.w + c]) continue;
            if (start >= 0 && (end || c - last > gap)) {
                pic_chafa(p, rgba, stride, (yv_pic_rect){start, r, last - start + 1, 1});
                start = -1;
            }
            if (end) break;
            if (start < 0) start = c;
            last = c;
        }
    }
}

/* The flat cells of b from the cache. */
static void pic_set_flat(yv_picture *p, yv_pic_rect b)
{
    for (int r = b.y; r < b.y + b.h; r++)
        for (int c = b.x; c < b.x + b.w; c++) {
            uint32_t key = p->flatrgb[r * p->fit.w + c];
            pic_flat *e = key ? pic_flat_slot(p, key) : NULL;
            if (e && e->ch) pic_cell_set(p, &p->cells[r * p->fit.w + c], e->ch, e->fg, e->bg);
        }
}

/* Renders block b: whole through chafa, or its flat cells from the cache and each band through
 * chafa whole or by runs, whichever the estimate says is faster. */
static void pic_render(yv_picture *p, const uint8_t *rgba, size_t stride, yv_pic_rect b)
{
    p->rendered += (unsigned long)b.w * (unsigned long)b.h;
    if (p->no_flat) {
        pic_chafa(p, rgba, stride, b);
        return;
    }
    int *span = pic_alloc((size_t)b.h * 2, sizeof *span);
    yv_pic_rect *band = pic_alloc((size_t)b.h, sizeof *band);
    bool *by_runs = pic_alloc((size_t)b.h, sizeof *by_runs);
    pic_find_flat(p, rgba, stride, b, span);
    int nb = pic_bands(span, b, band);
    long split = PIC_CANVAS_US; /* the canvas of new flat colours */
    for (int i = 0; i < nb; i++) {
        long whole = pic_cost(p, (long)band[i].w * band[i].h), runs = pic_runs_cost(p, band[i]);
        by_runs[i] = runs < whole;
        split += by_runs[i] ? runs : whole;
    }
    if (split >= pic_cost(p, (long)b.w * b.h) || pic_flat_resolve(p, b) < 0) {
        pic_chafa(p, rgba, stride, b);
    } else {
        pic_set_flat(p, b);
        for (int i = 0; i < nb; i++)
            if (by_runs[i]) pic_band_rows(p, rgba, stride, band[i]);
            else pic_chafa(p, rgba, stride, band[i]);
    }
    free(span);
    free(band);
    free(by_runs);
}

void yv_picture_update(yv_picture *p, const uint8_t *rgba, int w, int h, size_t stride,
                       const yv_pic_rect *dirty, int cols, int rows)
{
    if (!rgba || w <= 0 || h <= 0 || cols <= 0 || rows <= 0 || stride < (size_t)w * 4) {
        pic_drop_cells(p);
        return;
    }
    yv_pic_rect b;
    if (!p->cells || w != p->w || h != p->h || cols != p->cols || rows != p->rows) {
        pic_drop_cells(p);
        p->fit = yv_picture_fit(w, h, cols, rows);
        p->w = w, p->h = h, p->cols = cols, p->rows = rows;
        size_t n = (size_t)p->fit.w * (size_t)p->fit.h;
        p->cells = pic_alloc(n, sizeof *p->cells);
        p->shown = pic_alloc(n, sizeof *p->shown);
        p->flatrgb = pic_alloc(n, sizeof *p->flatrgb);
        dirty = NULL;
    }
    if (dirty) b = pic_dirty_cells(dirty, w, h, p->fit.w, p->fit.h);
    else b = (yv_pic_rect){0, 0, p->fit.w, p->fit.h};
    if (b.w > 0 && b.h > 0) pic_render(p, rgba, stride, b);
}

void yv_picture_draw(yv_picture *p, WINDOW *win, int y, int x)
{
    for (int r = 0; r < p->fit.h; r++)
        for (int c = 0; c < p->fit.w; c++) {
            const pic_cell *cell = &p->cells[r * p->fit.w + c];
            if (!cell->ch) continue;
            wchar_t wc[2] = {(wchar_t)cell->ch, 0};
            int pair = cell->pair;
            cchar_t cc;
            /* the pair through opts: a short cannot hold the pairs above 32767 */
            if (setcchar(&cc, wc, A_NORMAL, 0, &pair) == OK)
                mvwadd_wch(win, y + p->fit.y + r, x + p->fit.x + c, &cc);
        }
}

/* ---- truecolor, around ncurses ---- */

typedef struct {
    char *s;
    size_t len, cap;
} pic_buf;

static void pic_put(pic_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pic_put(pic_buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n + 64;
        b->s = realloc(b->s, b->cap);
        if (!b->s) abort();
    }
}

static void pic_put_utf8(pic_buf *b, uint32_t c)
{
    char u[5] = {0};
    if (c < 0x80) u[0] = (char)c;
    else if (c < 0x800) u[0] = (char)(0xc0 | c >> 6), u[1] = (char)(0x80 | (c & 63));
    else if (c < 0x10000)
        u[0] = (char)(0xe0 | c >> 12), u[1] = (char)(0x80 | (c >> 6 & 63)),
        u[2] = (char)(0x80 | (c & 63));
    else
        u[0] = (char)(0xf0 | c >> 18), u[1] = (char)(0x80 | (c >> 12 & 63)),
        u[2] = (char)(0x80 | (c >> 6 & 63)), u[3] = (char)(0x80 | (c & 63));
    pic_put(b, "%s", u);
}

/* One row's cells that differ from what the terminal shows: a CUP per run, an SGR only when the
 * colours change. *fg, *bg: the colours last emitted (-1: none yet). */
/* Whether the terminal shows this cell as ncurses put it there (curscr: its glyph and its pair),
 * not something drawn over the picture (a dialog, a status line), which is left alone. Reading
 * curscr moves its cursor: the caller puts it back. */
static bool pic_ours(const pic_cell *cell, int ty, int tx)
{
    cchar_t cc;
    wchar_t wc[CCHARW_MAX + 1] = {0};
    attr_t attrs;
    short sp;
    int pair = 0;
    if (ty >= LINES || tx >= COLS || mvwin_wch(curscr, ty, tx, &cc) != OK) return false;
    if (getcchar(&cc, wc, &attrs, &sp, &pair) == ERR) return false;
    return (uint32_t)wc[0] == cell->ch && pair == cell->pair;
}

static void pic_flush_row(yv_picture *p, pic_buf *b, int r, int sy, int sx, int32_t *fg,
                          int32_t *bg)
{
    bool run = false;
    for (int c = 0; c < p->fit.w; c++) {
        pic_cell *cell = &p->cells[r * p->fit.w + c], *on = &p->shown[r * p->fit.w + c];
        int ty = sy + r, tx = sx + c;
        /* never the screen's last cell: writing it may scroll a terminal without xenl */
        bool corner = ty == LINES - 1 && tx == COLS - 1;
        if (!cell->ch || corner || ty < 0 || tx < 0 ||
            (on->ch == cell->ch && on->fg == cell->fg && on->bg == cell->bg)) {
            run = false;
            continue;
        }
        if (!pic_ours(cell, ty, tx)) {
            on->ch = 0; /* covered: written again once it is ours (after the caller's all) */
            run = false;
            continue;
        }
        if (!run) pic_put(b, "\033[%d;%dH", ty + 1, tx + 1);
        run = true;
        /* only the colours the glyph shows and the terminal does not have yet */
        bool need_fg = cell->ch != ' ' && cell->fg != *fg;
        bool need_bg = cell->ch != 0x2588 && cell->bg != *bg;
        if (need_fg)
            pic_put(b, "\033[38;2;%d;%d;%dm", cell->fg >> 16 & 255, cell->fg >> 8 & 255,
                    cell->fg & 255);
        if (need_bg)
            pic_put(b, "\033[48;2;%d;%d;%dm", cell->bg >> 16 & 255, cell->bg >> 8 & 255,
                    cell->bg & 255);
        *fg = need_fg ? cell->fg : *fg, *bg = need_bg ? cell->bg : *bg;
        pic_put_utf8(b, cell->ch);
        *on = *cell;
    }
}

static int pic_discard(int c)
{
    return c;
}

size_t yv_picture_flush_direct(yv_picture *p, int fd, int y, int x, bool all)
{
    if (p->colors != YV_PIC_TRUECOLOR || !p->cells) return 0;
    if (all) memset(p->shown, 0, (size_t)p->fit.w * (size_t)p->fit.h * sizeof *p->shown);
    pic_buf b = {NULL, 0, 0};
    int32_t fg = -1, bg = -1;
    int cy = getcury(curscr), cx = getcurx(curscr);
    pic_put(&b, "\033[0m"); /* from plain: whatever ncurses's last cell had (reverse, bold) */
    size_t start = b.len;
    for (int r = 0; r < p->fit.h; r++)
        pic_flush_row(p, &b, r, y + p->fit.y, x + p->fit.x, &fg, &bg);
    wmove(curscr, cy, cx); /* pic_ours moved it */
    if (b.len == start) {
        free(b.s);
        return 0;
    }
    /* Back to what ncurses believes: plain attributes, the cursor where doupdate left it (curscr's
     * position: the view does not use leaveok, with which ncurses would not record it). ncurses's
     * own idea of the attributes is set to plain too, in case its last update left it otherwise
     * (its output goes nowhere: the terminal is already plain). */
    pic_put(&b, "\033[0m\033[%d;%dH", cy + 1, cx + 1);
    vid_puts(A_NORMAL, 0, NULL, pic_discard);
    size_t done = 0;
    while (done < b.len) {
        ssize_t n = write(fd, b.s + done, b.len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += (size_t)n;
    }
    free(b.s);
    return done;
}
