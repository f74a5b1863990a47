/* picbench: what one frame of the screen view costs (widgets/picture.c with the real libchafa):
 * a full 1024×768 frame into 80×24 and 200×60 cells, and a small changed region (a line of text),
 * for each colour mode and for chafa's thread count and work factor (to choose PIC_THREADS and
 * PIC_WORK). Prints the median of N runs with the 10th and 90th percentiles; asserts nothing.
 * Usage: picbench [N]   (ncurses draws into /dev/null: only the widget's own work is timed) */
#include <fcntl.h>
#include <locale.h>
#include <time.h>

#include "widgets/picture.c"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Pictures like a guest's screen: 0, a desktop with a gradient (no cell flat: chafa's worst
 * case); 1, a text console (light glyph-sized marks on black, lines of random length); 2, a
 * desktop of flat colours with a window of text. */
static void shade(uint8_t *p, uint8_t r, uint8_t g, uint8_t b)
{
    p[0] = r, p[1] = g, p[2] = b, p[3] = 0;
}

static uint8_t *screen(int kind, int w, int h)
{
    uint8_t *px = malloc((size_t)w * (size_t)h * 4);
    unsigned seed = 1;
    int linelen = 0;
    for (int y = 0; y < h; y++) {
        if (y % 16 == 0) linelen = (int)(rand_r(&seed) % (unsigned)w);
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * (size_t)w + (size_t)x) * 4;
            bool window = x > w / 8 && x < w * 5 / 8 && y > h / 8 && y < h * 6 / 8;
            bool ink = y % 16 < 12 && x % 8 < 7 && rand_r(&seed) % 3 == 0;
            if (kind == 0) shade(p, (uint8_t)(x * 255 / w), (uint8_t)(y * 255 / h), 0x60);
            if (kind == 2) shade(p, 0x20, 0x4a, 0x87);
            if (kind != 1 && window) shade(p, 0xf0, 0xf0, 0xf0);
            if (kind != 1 && window && ink) shade(p, 0x10, 0x10, 0x10);
            if (kind == 1) shade(p, 0, 0, 0);
            if (kind == 1 && x < linelen && ink) shade(p, 0xaa, 0xaa, 0xaa);
        }
    }
    return px;
}

typedef struct {
    double med, p10, p90;
} stat3;

static stat3 measure(yv_picture *p, const uint8_t *px, const yv_pic_rect *d, int cols, int rows,
                     int n)
{
    double *t = malloc((size_t)n * sizeof *t);
    yv_picture_update(p, px, 1024, 768, 1024 * 4, NULL, cols, rows); /* the size is set */
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        yv_picture_update(p, px, 1024, 768, 1024 * 4, d, cols, rows);
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    stat3 s = {t[n / 2], t[n / 10], t[n * 9 / 10]};
    free(t);
    return s;
}

static void row(const char *what, const uint8_t *px, yv_pic_colors c, int threads, float work,
                bool no_flat, int n)
{
    char err[256];
    yv_picture *p = yv_picture_new(c, YV_PIC_SEXTANT, 1, err, sizeof err);
    if (!p) {
        fprintf(stderr, "picbench: %s\n", err);
        exit(1);
    }
    p->threads = threads;
    p->no_flat = no_flat;
    pic_lib.chafa_canvas_config_set_work_factor(p->config, work);
    yv_pic_rect line = {200, 300, 400, 16}; /* a line of text typed into a window */
    stat3 a = measure(p, px, NULL, 80, 24, n);
    stat3 b = measure(p, px, NULL, 200, 60, n);
    stat3 d = measure(p, px, &line, 200, 60, n);
    printf("%-8s %-9s %2d %4.1f %-4s| %6.2f [%5.2f-%5.2f] | %6.2f [%5.2f-%5.2f] | %5.2f "
           "[%4.2f-%4.2f]\n",
           what, yv_picture_colors_name(c), threads, (double)work, no_flat ? "no" : "yes", a.med,
           a.p10, a.p90, b.med, b.p10, b.p90, d.med, d.p10, d.p90);
    yv_picture_free(p);
}

/* Putting a 200×60 truecolor picture on the terminal (/dev/null here): yv_picture_draw into
 * stdscr, ncurses's doupdate, and yv_picture_flush_direct of every cell (all, as after a full
 * repaint), with the bytes it wrote. */
static void terminal_row(const char *what, const uint8_t *px, int n)
{
    char err[256];
    yv_picture *p = yv_picture_new(YV_PIC_TRUECOLOR, YV_PIC_SEXTANT, 1, err, sizeof err);
    if (!p) exit(1);
    int fd = open("/dev/null", O_WRONLY);
    double *t = malloc((size_t)n * 3 * sizeof *t);
    size_t bytes = 0;
    yv_picture_update(p, px, 1024, 768, 1024 * 4, NULL, 200, 60);
    for (int i = 0; i < n; i++) {
        clearok(curscr, TRUE); /* ncurses writes everything again, as after a resize */
        double t0 = now_ms();
        yv_picture_draw(p, stdscr, 0, 0);
        double t1 = now_ms();
        refresh();
        double t2 = now_ms();
        bytes = yv_picture_flush_direct(p, fd, 0, 0, true);
        t[i] = t1 - t0, t[n + i] = t2 - t1, t[2 * n + i] = now_ms() - t2;
    }
    for (int k = 0; k < 3; k++) qsort(t + k * n, (size_t)n, sizeof *t, cmp_double);
    printf("%-8s draw %5.2f | doupdate %5.2f | flush_direct(all) %5.2f ms, %zu bytes\n", what,
           t[n / 2], t[n + n / 2], t[2 * n + n / 2], bytes);
    free(t);
    close(fd);
    yv_picture_free(p);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 31;
    if (n < 3) n = 3;
    setlocale(LC_ALL, "C.UTF-8");
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    SCREEN *scr = newterm("xterm-256color", out, in);
    if (!scr) return 1;
    start_color();
    use_default_colors();
    const char *names[] = {"gradient", "console", "flat"};
    uint8_t *px[3];
    for (int k = 0; k < 3; k++) px[k] = screen(k, 1024, 768);
    printf("ms per update of a 1024x768 picture, median [p10-p90] of %d\n", n);
    printf("%-8s %-9s %2s %4s %-4s| %-22s | %-22s | %s\n", "picture", "colours", "th", "work",
           "flat", "full frame 80x24", "full frame 200x60", "400x16 px at 200x60");
    yv_pic_colors modes[] = {YV_PIC_TRUECOLOR, YV_PIC_256, YV_PIC_16, YV_PIC_MONO};
    for (int k = 0; k < 3; k++)
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++)
            row(names[k], px[k], modes[m], PIC_THREADS, PIC_WORK, false, n);
    /* against PIC_THREADS, PIC_WORK and the flat cells: chafa's threads (-1: one per core; a
     * block under PIC_THREAD_CELLS cells always takes one), work factors, every cell by chafa */
    for (int k = 0; k < 3; k++) {
        row(names[k], px[k], YV_PIC_TRUECOLOR, PIC_THREADS, PIC_WORK, true, n);
        row(names[k], px[k], YV_PIC_TRUECOLOR, 1, PIC_WORK, false, n);
    }
    row(names[0], px[0], YV_PIC_TRUECOLOR, -1, PIC_WORK, false, n);
    row(names[0], px[0], YV_PIC_TRUECOLOR, PIC_THREADS, 0.3f, false, n);
    printf("\nputting a full truecolor frame at 200x60 on the terminal, median of %d\n", n);
    resize_term(60, 200);
    for (int k = 0; k < 3; k++) terminal_row(names[k], px[k], n);
    for (int k = 0; k < 3; k++) free(px[k]);
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
    return 0;
}
