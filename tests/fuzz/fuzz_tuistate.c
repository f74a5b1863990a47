/* Fuzz target: run/tui.state (tui/tuistate.c). Oracles: no crash or leak; the sort column is -1
 * or a column; only columns said are shown, the first never hidden; the notes stay inside their
 * buffer; yv_tuistate_format → parse gives the same state with no line skipped. */
#include "fuzz.h"

/* tui/ is not in the fuzz link line but for fuzz_cmdline: the module (core only) is compiled in */
#include "../../tui/tuistate.c"

static const char *const names[] = {"NAME",    "STATE",   "VCPU", "MEM",    "DISK", "VNC",
                                    "NETWORK", "ADDRESS", "PID",  "UPTIME", "CPU%"};
#define N ((int)(sizeof names / sizeof names[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    yv_tuistate st, back;
    char notes[300], buf[1024], again[300];
    memset(notes, 'x', sizeof notes);
    yv_tuistate_parse((const char *)data, size, names, N, &st, notes, sizeof notes - 8);
    FUZZ_CHECK(memchr(notes, '\0', sizeof notes - 8) != NULL, "notes not ended in their buffer");
    FUZZ_CHECK(notes[sizeof notes - 1] == 'x', "notes written past their buffer");
    FUZZ_CHECK(st.sort_col >= -1 && st.sort_col < N, "sort column %d", st.sort_col);
    FUZZ_CHECK(st.sort_col >= 0 || !st.sort_desc, "descending without a column");
    FUZZ_CHECK((st.shown & ~st.set) == 0, "a column shown that was not said");
    FUZZ_CHECK(!(st.set & 1u) || (st.shown & 1u), "the first column hidden");
    FUZZ_CHECK((st.set >> N) == 0, "a column past the table");
    int len = yv_tuistate_format(&st, names, N, buf, sizeof buf);
    FUZZ_CHECK(len > 0 && (size_t)len == strlen(buf), "format: %d", len);
    int skipped = yv_tuistate_parse(buf, (size_t)len, names, N, &back, again, sizeof again);
    FUZZ_CHECK(skipped == 0, "the written state skips lines: %s", again);
    FUZZ_CHECK(back.sort_col == st.sort_col && back.sort_desc == st.sort_desc,
               "sort %d/%d != %d/%d", back.sort_col, back.sort_desc, st.sort_col, st.sort_desc);
    /* written, every column is said: shown = what was shown, or not said (its default: shown) */
    uint32_t all = (1u << N) - 1, want = (st.shown | ~st.set) & all;
    FUZZ_CHECK(back.set == all && back.shown == want, "columns %x/%x != %x/%x", back.set,
               back.shown, all, want);
    return 0;
}
