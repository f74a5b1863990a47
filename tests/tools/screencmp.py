#!/usr/bin/python3
"""screencmp: how faithfully a terminal shows a picture (issue 18's fidelity test). Stdlib only.

    screencmp.py [--rect ROW,COL,ROWS,COLS] [--threshold D] [--fg-delta D] [--min F]
                 [--fg #c0c0c0] [--bg #000000] PANE IMAGE
    screencmp.py --info IMAGE         # "width=W height=H lit=F" (F: the fraction of pixels that are
                                      # not black), to tell a painted screen from a blank one
    screencmp.py --self-test          # the comparator against synthetic cases; non-zero on failure

PANE is a dump of `tmux capture-pane -e -p` ('-' = standard input): text with ANSI SGR sequences —
38;2;R;G;B / 48;2;R;G;B truecolor (the colon forms too), 38;5;N / 48;5;N 256 colours (the standard
xterm palette), 30-37, 40-47, 90-97, 100-107, 39 / 49 defaults, 0 reset, 7 reverse (27 off), 1 bold
(no effect on colour). The default foreground and background of the terminal count as --fg and
--bg. tmux drops the spaces at a line's end, coloured ones too, but not the SGR that coloured them:
the cells past a line's last one are spaces in the colours at its end (so -N is not needed).
IMAGE is the screendump taken at the same moment: PNG (8-bit grey, grey+alpha, RGB or RGBA, not
interlaced, filters 0-4) or PPM (P6, maxval 255).

--rect gives the picture's cell rectangle in the pane (0-based first row and column, then its size
in cells); default: the whole pane. The picture fills that rectangle exactly: cell (r, c) of R x C
shows the pixels [c*W/C, (c+1)*W/C) x [r*H/R, (r+1)*H/R).

Each cell's colour is the coverage-weighted mix of its foreground and background for its glyph:
space 0, U+2588 full block 1, the half blocks (upper, lower, left, right) 1/2, the quadrants by
their quarters, the eighth blocks and shades by their share, the sextants U+1FB00-U+1FB3B by their
filled sixths (U+1FB00 + n - 1 is the n-th 6-bit pattern, bit 0 the top-left sixth, bit 1 the
top-right, ... bit 5 the bottom-right, counting 1 to 62 and skipping 21 and 42, which are the left
and right half blocks), any other printable character a nominal 0.3 (a glyph's ink).

Figures, printed as one line `agreement=A foreground_agreement=F cells=N foreground_cells=M
correlation=C`:
  agreement             the fraction of cells whose colour is within --threshold (Euclidean RGB
                        distance, default 48) of the mean colour of their pixel region.
  foreground_agreement  the same over the cells that show something: those whose region mean, or
                        whose rendered colour, is more than --fg-delta (default 16) from the
                        picture's dominant colour (the most common region mean: the background
                        of a text screen). Such a cell agrees when its colour is within
                        max(fg-delta, half of how far the farther of the two is from the dominant
                        colour) of its region mean, so a blank rendering fails every cell that
                        shows text, and a shifted one every cell whose text moved. No such cells:
                        0 (nothing shown proves nothing).
  correlation           Pearson's correlation of the cells' luminance, rendered vs picture
                        (information only; 0 when either is flat).
With 16 or 8 colours a cell's colour is the terminal's idea of a pen, not the picture's (a VGA grey
of 170 is pen 7 or 8, 229 or 127 in xterm's palette): --min-fg and --min-corr judge such a
rendering by the agreement of its background and the correlation of its luminance instead.
Exit status: 0 when agreement and foreground_agreement are both >= --min (default 0.8), 1 when
not, 2 on bad input.

Measured (2026-12-05) on SeaBIOS's 720x400 "No bootable device." screen drawn by the chafa 1.12
command (sextants, --stretch) in a tmux pane and read back with capture-pane -e: aligned, 80x23
cells 1.0000/1.0000 (truecolor and 256), 0.9967/0.8418 (16 colours), 200x59 cells 0.9960/0.8518;
the rectangle off by one or two columns 0.97-0.99/0.34-0.59, by one row 0.96-0.97/0.22-0.32, an
empty pane 0.96/0.0000. The first figure alone cannot tell them apart on a mostly black screen; the
second can.
"""
import argparse
import math
import random
import re
import struct
import sys
import zlib

# ---- pictures ----


def _unfilter(raw, w, h, bpp):
    stride = w * bpp
    out = bytearray(h * stride)
    prev = bytearray(stride)
    pos = 0
    for y in range(h):
        ft = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        if ft == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif ft == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif ft == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif ft == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        elif ft != 0:
            raise ValueError("PNG filter type %d" % ft)
        out[y * stride:(y + 1) * stride] = line
        prev = line
    return out


def decode_png(b):
    """(width, height, RGB bytes) of a PNG file's bytes."""
    if b[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, hdr = 8, [], None
    while pos + 8 <= len(b):
        n, t = struct.unpack(">I4s", b[pos:pos + 8])
        body = b[pos + 8:pos + 8 + n]
        if t == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif t == b"IDAT":
            idat.append(body)
        elif t == b"IEND":
            break
        pos += 12 + n
    if not hdr:
        raise ValueError("PNG without IHDR")
    w, h, depth, ctype, _, _, interlace = hdr
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or bpp is None or interlace:
        raise ValueError("PNG of depth %d, colour type %d, interlace %d: not supported" %
                         (depth, ctype, interlace))
    px = _unfilter(zlib.decompress(b"".join(idat)), w, h, bpp)
    if bpp == 3:
        return w, h, bytes(px)
    rgb = bytearray(w * h * 3)
    if bpp == 4:
        for k in range(3):
            rgb[k::3] = px[k::4]
    else:  # grey, grey + alpha
        for k in range(3):
            rgb[k::3] = px[0::bpp]
    return w, h, bytes(rgb)


def decode_ppm(b):
    m = re.match(rb"P6(?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)(?:\s+|#[^\n]*\n)+(\d+)\s", b)
    if not m or int(m.group(3)) != 255:
        raise ValueError("not a P6 PPM file with maxval 255")
    w, h = int(m.group(1)), int(m.group(2))
    px = b[m.end():m.end() + w * h * 3]
    if len(px) != w * h * 3:
        raise ValueError("PPM file cut short")
    return w, h, px


def load_image(path):
    b = open(path, "rb").read()
    return decode_ppm(b) if b[:2] == b"P6" else decode_png(b)


def region_means(img, rows, cols):
    """The mean colour of each cell's pixel region, a rows x cols list of (r, g, b)."""
    w, h, px = img
    if w < cols or h < rows:
        raise ValueError("a %dx%d picture cannot fill %dx%d cells" % (w, h, cols, rows))
    pre = []  # per pixel row and channel: prefix sums (one accumulate in C per row)
    for y in range(h):
        row = px[y * w * 3:(y + 1) * w * 3]
        pre.append([[0] + list(_acc(row[k::3])) for k in range(3)])
    xs = [c * w // cols for c in range(cols + 1)]
    ys = [r * h // rows for r in range(rows + 1)]
    out = []
    for r in range(rows):
        line = []
        for c in range(cols):
            x0, x1, y0, y1 = xs[c], xs[c + 1], ys[r], ys[r + 1]
            n = (x1 - x0) * (y1 - y0)
            line.append(tuple(sum(pre[y][k][x1] - pre[y][k][x0] for y in range(y0, y1)) / n
                              for k in range(3)))
        out.append(line)
    return out


def _acc(seq):
    import itertools
    return itertools.accumulate(seq)


# ---- the terminal ----

BASE16 = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205),
          (0, 205, 205), (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0),
          (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]


def xterm256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        lv = [0, 95, 135, 175, 215, 255]
        return (lv[n // 36], lv[n // 6 % 6], lv[n % 6])
    g = 8 + 10 * (n - 232)
    return (g, g, g)


def _sextant_table():
    t, cp = {}, 0x1FB00
    for n in range(1, 63):
        if n in (21, 42):
            continue
        t[chr(cp)] = bin(n).count("1") / 6
        cp += 1
    return t


COVERAGE = {" ": 0.0, "\u2588": 1.0, "\u2580": 0.5, "\u2584": 0.5, "\u258c": 0.5, "\u2590": 0.5,
            "\u2596": 0.25, "\u2597": 0.25, "\u2598": 0.25, "\u259d": 0.25, "\u259a": 0.5,
            "\u259e": 0.5, "\u2599": 0.75, "\u259b": 0.75, "\u259c": 0.75, "\u259f": 0.75,
            "\u2591": 0.25, "\u2592": 0.5, "\u2593": 0.75, "\u2594": 0.125, "\u2595": 0.125,
            "\u00a0": 0.0}
COVERAGE.update({chr(0x2581 + i): (i + 1) / 8 for i in range(7)})  # lower 1/8 .. 7/8
COVERAGE.update({chr(0x2589 + i): (7 - i) / 8 for i in range(7)})  # left 7/8 .. 1/8
COVERAGE.update(_sextant_table())


def coverage(ch):
    return COVERAGE.get(ch, 0.3)


def _colour(params, i, base):
    """An extended colour at params[i] (38/48): (colour, next index)."""
    if i + 1 < len(params) and params[i + 1] == "5" and i + 2 < len(params):
        return xterm256(int(params[i + 2] or 0) & 255), i + 3
    if i + 1 < len(params) and params[i + 1] == "2" and i + 4 < len(params):
        return tuple(int(v or 0) & 255 for v in params[i + 2:i + 5]), i + 5
    return base, len(params)


def _sgr(st, arg, dfg, dbg):
    groups = arg.split(";") if arg else ["0"]
    params = []
    for g in groups:  # the colon form 38:2::R:G:B (a colour space id) and 38:2:R:G:B
        sub = g.split(":")
        if len(sub) == 6 and sub[1] == "2":
            sub = sub[:2] + sub[3:]
        params.extend(sub)
    i = 0
    while i < len(params):
        p = int(params[i] or 0)
        if p == 0:
            st.update(fg=dfg, bg=dbg, rev=False)
        elif p == 7:
            st["rev"] = True
        elif p == 27:
            st["rev"] = False
        elif p in (38, 48):
            col, i = _colour(params, i, st["fg" if p == 38 else "bg"])
            st["fg" if p == 38 else "bg"] = col
            continue
        elif 30 <= p <= 37:
            st["fg"] = BASE16[p - 30]
        elif 90 <= p <= 97:
            st["fg"] = BASE16[p - 82]
        elif 40 <= p <= 47:
            st["bg"] = BASE16[p - 40]
        elif 100 <= p <= 107:
            st["bg"] = BASE16[p - 92]
        elif p == 39:
            st["fg"] = dfg
        elif p == 49:
            st["bg"] = dbg
        i += 1


ESC = re.compile(r"\x1b\[([0-9;:]*)([A-Za-z])|\x1b[()][A-Za-z0-9]|\x1b.")


class Row(list):
    """A pane row's cells; fill: the cell past its last one (tmux drops trailing spaces, also
    coloured ones, but writes the SGR that coloured them: the state at the line's end)."""
    fill = None


def parse_pane(text, dfg, dbg, padded=False):
    """Rows of cells (char, fg, bg), attributes carried from line to line as tmux writes them.
    padded: captured with -N, so a line's every cell tmux holds is there, spaces too, and the cells
    past its end were never written or were cleared to the default colours (an empty line is
    one): they take the default, not the colours at the line's end."""
    st = {"fg": dfg, "bg": dbg, "rev": False}
    rows = []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the end of the last line, not a line
    for line in lines:
        cells, pos = Row(), 0
        for m in ESC.finditer(line):
            for ch in line[pos:m.start()]:
                cells.append(_cell(ch, st))
            if m.group(2) == "m":
                _sgr(st, m.group(1), dfg, dbg)
            pos = m.end()
        for ch in line[pos:]:
            cells.append(_cell(ch, st))
        cells.fill = None if padded else _cell(" ", st)
        rows.append(cells)
    return rows


def _cell(ch, st):
    fg, bg = (st["bg"], st["fg"]) if st["rev"] else (st["fg"], st["bg"])
    return (ch, fg, bg)


def cell_colour(cell):
    ch, fg, bg = cell
    a = coverage(ch)
    return tuple(a * f + (1 - a) * b for f, b in zip(fg, bg))


# ---- the figures ----


def dist(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def dominant(colours):
    counts = {}
    for c in colours:
        q = tuple(int(v) >> 4 for v in c)
        counts[q] = counts.get(q, 0) + 1
    q = max(counts, key=counts.get)
    members = [c for c in colours if tuple(int(v) >> 4 for v in c) == q]
    return tuple(sum(c[k] for c in members) / len(members) for k in range(3))


def luminance(c):
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def correlation(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 1e-9 and syy > 1e-9 else 0.0


def figures(pane_rows, rect, img, threshold, fg_delta, dfg, dbg):
    r0, c0, rows, cols = rect
    means = region_means(img, rows, cols)
    shown, pic = [], []
    for r in range(rows):
        line = pane_rows[r0 + r] if r0 + r < len(pane_rows) else Row()
        for c in range(cols):
            cell = line[c0 + c] if c0 + c < len(line) else (line.fill or (" ", dfg, dbg))
            shown.append(cell_colour(cell))
            pic.append(means[r][c])
    dom = dominant(pic)
    agree = sum(dist(s, p) <= threshold for s, p in zip(shown, pic))
    fg_n = fg_ok = 0
    for s, p in zip(shown, pic):
        far = max(dist(p, dom), dist(s, dom))
        if far <= fg_delta:
            continue
        fg_n += 1
        fg_ok += dist(s, p) <= max(fg_delta, far / 2)
    n = len(pic)
    corr = correlation([luminance(c) for c in shown], [luminance(c) for c in pic])
    return {"agreement": agree / n, "foreground_agreement": fg_ok / fg_n if fg_n else 0.0,
            "cells": n, "foreground_cells": fg_n, "correlation": corr}


def line_of(f):
    return ("agreement=%.4f foreground_agreement=%.4f cells=%d foreground_cells=%d "
            "correlation=%.4f" % (f["agreement"], f["foreground_agreement"], f["cells"],
                                  f["foreground_cells"], f["correlation"]))


# ---- the self-test: a renderer of our own (sextants, truecolor) and synthetic pictures ----


def _sub_means(img, r, c, rows, cols):
    """The six sextant parts of cell (r, c): their mean colours, top-left first, row by row."""
    w, h, px = img
    x = [c * w // cols, (2 * c + 1) * w // (2 * cols), (c + 1) * w // cols]
    y = [(3 * r + k) * h // (3 * rows) for k in range(4)]
    out = []
    for j in range(3):
        for i in range(2):
            acc, n = [0, 0, 0], 0
            for yy in range(y[j], max(y[j + 1], y[j] + 1)):
                for xx in range(x[i], max(x[i + 1], x[i] + 1)):
                    o = (yy * w + xx) * 3
                    for k in range(3):
                        acc[k] += px[o + k]
                    n += 1
            out.append(tuple(v / n for v in acc))
    return out


SEXTANT_CHAR = {}
_cp = 0x1FB00
for _n in range(1, 63):
    if _n in (21, 42):
        continue
    SEXTANT_CHAR[_n] = chr(_cp)
    _cp += 1
SEXTANT_CHAR.update({0: " ", 21: "\u258c", 42: "\u2590", 63: "\u2588"})


def render(img, rows, cols, palette256=False):
    """The picture as a pane dump: each cell a sextant whose parts split at the mid luminance."""
    out = []
    for r in range(rows):
        line = []
        for c in range(cols):
            parts = _sub_means(img, r, c, rows, cols)
            lum = [luminance(p) for p in parts]
            mid = (max(lum) + min(lum)) / 2
            bits = sum(1 << k for k in range(6) if lum[k] > mid) if max(lum) - min(lum) > 4 else 0
            on = [p for k, p in enumerate(parts) if bits >> k & 1] or parts
            off = [p for k, p in enumerate(parts) if not bits >> k & 1] or parts
            fg = tuple(round(sum(p[k] for p in on) / len(on)) for k in range(3))
            bg = tuple(round(sum(p[k] for p in off) / len(off)) for k in range(3))
            if palette256:
                line.append("\x1b[38;5;%d;48;5;%dm%s" % (_nearest256(fg), _nearest256(bg),
                                                         SEXTANT_CHAR[bits]))
            else:
                line.append("\x1b[38;2;%d;%d;%d;48;2;%d;%d;%dm%s" %
                            (fg + bg + (SEXTANT_CHAR[bits],)))
        out.append("".join(line) + "\x1b[0m")
    return "\n".join(out) + "\n"


_NEAREST = {}


def _nearest256(c):
    if c not in _NEAREST:
        _NEAREST[c] = min(range(16, 256), key=lambda n: dist(xterm256(n), c))
    return _NEAREST[c]


def text_screen(rows, cols, cw=8, ch=16, seed=18):
    """A text screen: black, lines of 'words' whose glyphs are random strokes in light grey,
    one word in yellow, and a blue status bar (what SeaBIOS or a login prompt look like)."""
    rnd = random.Random(seed)
    w, h = cols * cw, rows * ch
    px = bytearray(w * h * 3)

    def put(x, y, col):
        o = (y * w + x) * 3
        px[o:o + 3] = bytes(col)

    for tr in range(rows - 1):
        if tr % 3 == 2:
            continue  # blank lines
        tc = 0
        length = rnd.randint(cols // 3, cols - 4)
        while tc < length:
            word = rnd.randint(2, 8)
            col = (255, 255, 85) if rnd.random() < 0.1 else (170, 170, 170)
            for k in range(min(word, length - tc)):
                strokes = rnd.randint(1, 4)
                for _ in range(strokes):  # a vertical or horizontal stroke in the glyph box
                    if rnd.random() < 0.5:
                        x = (tc + k) * cw + rnd.randint(1, cw - 2)
                        for y in range(tr * ch + 3, tr * ch + ch - 3):
                            put(x, y, col)
                    else:
                        y = tr * ch + rnd.randint(3, ch - 4)
                        for x in range((tc + k) * cw + 1, (tc + k) * cw + cw - 1):
                            put(x, y, col)
            tc += word + 1
    for y in range((rows - 1) * ch, h):
        for x in range(w):
            put(x, y, (0, 0, 170))
    return w, h, bytes(px)


def shifted(img, dx):
    w, h, px = img
    out = bytearray(len(px))
    for y in range(h):
        row = px[y * w * 3:(y + 1) * w * 3]
        if dx >= 0:
            out[y * w * 3 + dx * 3:(y + 1) * w * 3] = row[:(w - dx) * 3]
        else:
            out[y * w * 3:(y + 1) * w * 3 + dx * 3] = row[-dx * 3:]
    return w, h, bytes(out)


def tmux_like(pane, dfg, dbg):
    """The pane as tmux's capture-pane -e writes it: an SGR only where the colours change, carried
    from line to line, and the spaces at a line's end dropped (not the SGR before them)."""
    out, cur = [], (dfg, dbg)
    for row in parse_pane(pane, dfg, dbg):
        line = ""
        for ch, fg, bg in row:
            if ch == " ":
                fg = cur[0]  # a space shows no foreground: tmux keeps the one it has
            if (fg, bg) != cur:
                line += "\x1b[38;2;%d;%d;%d;48;2;%d;%d;%dm" % (fg + bg)
                cur = (fg, bg)
            line += ch
        out.append(line.rstrip(" "))
    return "\n".join(out) + "\n"


def banded(img):
    """The picture with a blue band over its right quarter (spaces to the line's end)."""
    w, h, px = img
    out = bytearray(px)
    for y in range(h):
        for x in range(w * 3 // 4, w):
            out[(y * w + x) * 3:(y * w + x) * 3 + 3] = bytes((0, 0, 170))
    return w, h, bytes(out)


def shifted_rows(img, dy):
    w, h, px = img
    return w, h, bytes(w * 3 * dy) + px[:len(px) - w * 3 * dy]


def _spoil(pane, every):
    """Every n-th cell of a rendering replaced by a full block of a colour of its own."""
    rnd = random.Random(8)
    out = []
    for line in pane.split("\n"):
        cells = line.split("\x1b[38;")
        for k in range(1, len(cells), every):
            cells[k] = "2;%d;%d;%dm\u2588" % (rnd.randrange(256), rnd.randrange(256),
                                            rnd.randrange(256))
        out.append("\x1b[38;".join(cells))
    return "\n".join(out)


def self_test(args):
    rows, cols = 12, 40
    img = text_screen(rows, cols)
    dfg, dbg = args.fg, args.bg
    band = banded(img)
    cases = [
        ("exact rendering (truecolor)", render(img, rows, cols), True),
        ("as tmux writes it: line ends dropped", tmux_like(render(img, rows, cols), dfg, dbg),
         True),
        ("exact rendering (256 colours)", render(img, rows, cols, palette256=True), True),
        ("exact but one cell in twenty garbage", _spoil(render(img, rows, cols), 20), True),
        ("blank rendering", "\n" * rows, False),
        ("a picture shifted by 1 row", render(shifted_rows(img, 16), rows, cols), False),
        ("a picture shifted by 2 cells", render(shifted(img, 2 * 8), rows, cols), False),
        ("a picture shifted by 2 cells the other way", render(shifted(img, -2 * 8), rows, cols),
         False),
        ("another text screen", render(text_screen(rows, cols, seed=19), rows, cols), False),
    ]
    cases = [(name, pane, img, want) for name, pane, want in cases]
    cases.append(("a blue band to the line ends, as tmux writes it",
                  tmux_like(render(band, rows, cols), dfg, dbg), band, True))
    cases.append(("the band's colour lost at the line ends", re.sub(
        r"\x1b\[[0-9;]*m\n", "\n", tmux_like(render(band, rows, cols), dfg, dbg)), band, False))
    ok = True
    for name, pane, pic, want in cases:
        f = figures(parse_pane(pane, dfg, dbg), (0, 0, rows, cols), pic, args.threshold,
                    args.fg_delta, dfg, dbg)
        got = f["agreement"] >= args.min and f["foreground_agreement"] >= args.min
        print("%-48s %s -> %s" % (name, line_of(f), "pass" if got else "fail"))
        if got != want:
            print("  WRONG: expected %s" % ("pass" if want else "fail"))
            ok = False
    # the parser and the glyph table on their own
    rows_ = parse_pane("\x1b[38;5;196;48;2;0:0:255mA\x1b[7m\u2588\x1b[0m \x1b[94;101m\U0001FB3B",
                       dfg, dbg)
    want = [("A", (255, 0, 0), (0, 0, 255)), ("\u2588", (0, 0, 255), (255, 0, 0)),
            (" ", dfg, dbg), ("\U0001FB3B", (92, 92, 255), (255, 0, 0))]
    if rows_ != [want] or rows_[0].fill != (" ", (92, 92, 255), (255, 0, 0)):
        print("  WRONG: parsed %r" % rows_)
        ok = False
    if coverage("\U0001FB00") != 1 / 6 or coverage("\U0001FB3B") != 5 / 6 or len(
            _sextant_table()) != 60:
        print("  WRONG: the sextant table")
        ok = False
    print("self-test: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


# ---- the command ----


def colour_arg(s):
    m = re.fullmatch(r"#?([0-9a-fA-F]{6})", s)
    if not m:
        raise argparse.ArgumentTypeError("give a colour as #rrggbb")
    v = int(m.group(1), 16)
    return (v >> 16, v >> 8 & 255, v & 255)


def rect_arg(s):
    v = s.split(",")
    if len(v) != 4 or not all(x.isdigit() for x in v) or int(v[2]) < 1 or int(v[3]) < 1:
        raise argparse.ArgumentTypeError("give ROW,COL,ROWS,COLS (0-based; sizes >= 1)")
    return tuple(int(x) for x in v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pane", nargs="?")
    ap.add_argument("image", nargs="?")
    ap.add_argument("--rect", type=rect_arg)
    ap.add_argument("--threshold", type=float, default=48.0)
    ap.add_argument("--fg-delta", type=float, default=16.0)
    ap.add_argument("--min", type=float, default=0.8)
    ap.add_argument("--min-fg", type=float, default=None,
                    help="the least foreground_agreement (default: --min)")
    ap.add_argument("--min-corr", type=float, default=None,
                    help="also the least correlation (default: not checked)")
    ap.add_argument("--fg", type=colour_arg, default=(192, 192, 192))
    ap.add_argument("--bg", type=colour_arg, default=(0, 0, 0))
    ap.add_argument("--info", metavar="IMAGE")
    ap.add_argument("--padded", action="store_true",
                    help="the pane was captured with capture-pane -N (trailing spaces kept)")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test(args)
    try:
        if args.info:
            w, h, px = load_image(args.info)
            lit = sum(1 for i in range(0, len(px), 3) if max(px[i:i + 3]) > 16)
            print("width=%d height=%d lit=%.4f" % (w, h, lit / (w * h)))
            return 0
        if not args.pane or not args.image:
            ap.error("give PANE and IMAGE (or --self-test, --info IMAGE)")
        text = sys.stdin.read() if args.pane == "-" else open(args.pane, encoding="utf-8",
                                                                   errors="replace").read()
        pane = parse_pane(text, args.fg, args.bg, args.padded)
        rect = args.rect or (0, 0, len(pane), max((len(r) for r in pane), default=0))
        if rect[2] < 1 or rect[3] < 1:
            raise ValueError("the pane is empty")
        f = figures(pane, rect, load_image(args.image), args.threshold, args.fg_delta, args.fg,
                    args.bg)
    except (OSError, ValueError, zlib.error, struct.error) as e:
        print("screencmp: %s" % e, file=sys.stderr)
        return 2
    print(line_of(f))
    min_fg = args.min if args.min_fg is None else args.min_fg
    ok = f["agreement"] >= args.min and f["foreground_agreement"] >= min_fg
    return 0 if ok and (args.min_corr is None or f["correlation"] >= args.min_corr) else 1


if __name__ == "__main__":
    sys.exit(main())
