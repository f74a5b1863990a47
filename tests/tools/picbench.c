/* picbench: what one frame of the screen view costs (widgets/picture.c with the real libchafa):
 * a full 1024×768 frame into 80×24 and 200×60 cells, and a small changed region (a line of text),
 * for each colour mode and for chafa's thread count and work factor (to choose PIC_THREADS and
 * PIC_WORK). Prints the median of N runs with the 10th and 90th percentiles; asserts nothing.
 * Usage: picbench [N]   (ncurses draws into /dev/null: only the widget's own work is timed) */
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

/* Something like a guest's desktop: a gradient, flat windows, and lines of text-sized detail. */
static uint8_t *desktop(int w, int h)
{
    uint8_t *px = malloc((size_t)w * (size_t)h * 4);
    unsigned seed = 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * (size_t)w + (size_t)x) * 4;
            p[0] = (uint8_t)(x * 255 / w), p[1] = (uint8_t)(y * 255 / h), p[2] = 0x60, p[3] = 0;
            bool window = x > w / 8 && x < w * 5 / 8 && y > h / 8 && y < h * 6 / 8;
            if (window) p[0] = p[1] = p[2] = 0xf0;
            if (window && (y / 2) % 8 < 6 && rand_r(&seed) % 3 == 0) p[0] = p[1] = p[2] = 0x10;
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

static void row(yv_pic_colors c, int threads, float work, const uint8_t *px, int n)
{
    char err[256];
    yv_picture *p = yv_picture_new(c, YV_PIC_SEXTANT, 1, err, sizeof err);
    if (!p) {
        fprintf(stderr, "picbench: %s\n", err);
        exit(1);
    }
    p->threads = threads;
    pic_lib.chafa_canvas_config_set_work_factor(p->config, work);
    yv_pic_rect line = {200, 300, 400, 16}; /* a line of text typed into a window */
    stat3 a = measure(p, px, NULL, 80, 24, n);
    stat3 b = measure(p, px, NULL, 200, 60, n);
    stat3 d = measure(p, px, &line, 200, 60, n);
    printf("%-9s %7d %5.1f | %6.2f [%5.2f-%5.2f] | %6.2f [%5.2f-%5.2f] | %5.2f [%4.2f-%4.2f]\n",
           yv_picture_colors_name(c), threads, (double)work, a.med, a.p10, a.p90, b.med, b.p10,
           b.p90, d.med, d.p10, d.p90);
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
    uint8_t *px = desktop(1024, 768);
    printf("ms per update of a 1024x768 picture, median [p10-p90] of %d\n", n);
    printf("%-9s %7s %5s | %-22s | %-22s | %s\n", "colours", "threads", "work", "full frame 80x24",
           "full frame 200x60", "400x16 px at 200x60");
    yv_pic_colors modes[] = {YV_PIC_TRUECOLOR, YV_PIC_256, YV_PIC_16, YV_PIC_MONO};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++)
        row(modes[m], PIC_THREADS, PIC_WORK, px, n);
    /* chafa's threads (-1: one per core) and work factors, against PIC_THREADS and PIC_WORK (a
     * block under PIC_THREAD_CELLS cells always takes one thread) */
    int threads[] = {1, -1, 1, 2};
    float works[] = {0.1f, 0.1f, 0.3f, 0.3f};
    for (int i = 0; i < 4; i++) row(YV_PIC_TRUECOLOR, threads[i], works[i], px, n);
    free(px);
    endwin();
    delscreen(scr);
    fclose(out);
    fclose(in);
    return 0;
}
