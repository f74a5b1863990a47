#include "keysym.h"

#include <curses.h>
#include <string.h>

/* X keysyms (X11/keysymdef.h, the values RFB uses) */
enum {
    XK_BACKSPACE = 0xff08,
    XK_TAB = 0xff09,
    XK_RETURN = 0xff0d,
    XK_ESCAPE = 0xff1b,
    XK_HOME = 0xff50,
    XK_LEFT = 0xff51,
    XK_UP = 0xff52,
    XK_RIGHT = 0xff53,
    XK_DOWN = 0xff54,
    XK_PAGE_UP = 0xff55,
    XK_PAGE_DOWN = 0xff56,
    XK_END = 0xff57,
    XK_INSERT = 0xff63,
    XK_F1 = 0xffbe,
    XK_SHIFT_L = 0xffe1,
    XK_CONTROL_L = 0xffe3,
    XK_DELETE = 0xffff,
};

/* A press and release of sym, inside mod's press and release when mod is not 0. */
static int press(uint32_t sym, uint32_t mod, yv_keysym_ev out[YV_KEYSYM_MAX])
{
    int n = 0;
    if (mod) out[n++] = (yv_keysym_ev){mod, true};
    out[n++] = (yv_keysym_ev){sym, true};
    out[n++] = (yv_keysym_ev){sym, false};
    if (mod) out[n++] = (yv_keysym_ev){mod, false};
    return n;
}

static uint32_t curses_key(int code)
{
    if (code >= KEY_F(1) && code <= KEY_F(12)) return XK_F1 + (uint32_t)(code - KEY_F(1));
    switch (code) {
    case KEY_UP: return XK_UP;
    case KEY_DOWN: return XK_DOWN;
    case KEY_LEFT: return XK_LEFT;
    case KEY_RIGHT: return XK_RIGHT;
    case KEY_HOME: return XK_HOME;
    case KEY_END: return XK_END;
    case KEY_PPAGE: return XK_PAGE_UP;
    case KEY_NPAGE: return XK_PAGE_DOWN;
    case KEY_IC: return XK_INSERT;
    case KEY_DC: return XK_DELETE;
    case KEY_BACKSPACE: return XK_BACKSPACE;
    case KEY_ENTER: return XK_RETURN;
    default: return 0;
    }
}

/* The characters a US keyboard types with Shift held. */
static bool shifted(wint_t ch)
{
    return (ch >= L'A' && ch <= L'Z') || (ch && wcschr(L"~!@#$%^&*()_+{}|:\"<>?", ch));
}

int yv_keysym_events(wint_t ch, bool is_key, yv_keysym_ev out[YV_KEYSYM_MAX])
{
    if (is_key) {
        if ((int)ch == KEY_BTAB) return press(XK_TAB, XK_SHIFT_L, out);
        uint32_t sym = curses_key((int)ch);
        return sym ? press(sym, 0, out) : 0;
    }
    switch (ch) {
    case L'\r':
    case L'\n': return press(XK_RETURN, 0, out);
    case L'\t': return press(XK_TAB, 0, out);
    case 8:
    case 127: return press(XK_BACKSPACE, 0, out);
    case 27: return press(XK_ESCAPE, 0, out);
    default: break;
    }
    if (ch == 0) return press(L' ', XK_CONTROL_L, out); /* Ctrl-Space, Ctrl-@ */
    if (ch < 27) return press(L'a' + ch - 1, XK_CONTROL_L, out);
    if (ch >= 28 && ch < 32) return press(L"\\]^_"[ch - 28], XK_CONTROL_L, out);
    if (ch < 127) return press(ch, shifted(ch) ? XK_SHIFT_L : 0, out);
    if (ch < 0xa0) return 0;                                    /* C1 controls: no key */
    if (ch <= 0xff) return press(ch, 0, out);                   /* Latin-1 keysyms are the code */
    if (ch <= 0x10ffff) return press(0x01000000u | ch, 0, out); /* Unicode keysyms */
    return 0;
}
