#include "spark.h"

#include <langinfo.h>
#include <string.h>

#include "draw.h"

/* The level (0 blank, 1..8 bars) of v against max: rounded up, so a small non-zero value shows. */
static int level(double v, double max)
{
    if (!(v > 0) || !(max > 0)) return 0; /* also NaN */
    double l = v / max * 8.0;
    if (l >= 8) return 8; /* also a value far above max: no overflowing conversion to int */
    int i = (int)l;
    if (l > i) i++;
    return i < 1 ? 1 : i > 8 ? 8 : i;
}

char *yv_spark_render(const double *v, size_t n, double max, int cells, bool utf8, char *buf,
                      size_t size)
{
    static const char *const bars[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ascii[] = " .:-=+*#@";
    size_t k = 0, shown = cells > 0 && n > (size_t)cells ? (size_t)cells : n;
    const double *from = v + (n - shown);
    if (max <= 0)
        for (size_t i = 0; i < shown; i++)
            if (from[i] > max) max = from[i];
    if (!size) return buf;
    for (int c = 0; c < cells; c++) {
        int pad = cells - (int)shown; /* blanks before the oldest value shown */
        int l = c < pad ? 0 : level(from[c - pad], max);
        const char *g = utf8 ? bars[l] : (const char[]){ascii[l], '\0'};
        size_t gl = strlen(g);
        if (k + gl >= size) break;
        memcpy(buf + k, g, gl);
        k += gl;
    }
    buf[k] = '\0';
    return buf;
}

bool yv_spark_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && !strcmp(cs, "UTF-8");
}

void yv_spark_draw(WINDOW *w, int y, int x, const double *v, size_t n, double max, int cells,
                   attr_t attr)
{
    char buf[1024];
    if (cells <= 0) return;
    if (cells > 300) cells = 300; /* 3 bytes a glyph fit */
    yv_draw_text(w, y, x, yv_spark_render(v, n, max, cells, yv_spark_utf8(), buf, sizeof buf),
                 cells, attr);
}
