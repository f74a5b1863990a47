/* Fuzz target: a batch --file line (tui/cmdtab.c): yv_cmdtab_split_line, then yv_cmdtab_parse of
 * the words with every command of yv_batch_commands() (the first word stands for the command name,
 * as in run_one). Oracles: the split words lie inside the line and fit in it; the parser returns
 * 0, 1 (help: then printed) or -1 with a message "<command>: …" (run_one skips that prefix); on
 * success the positionals are within the command's bounds and every option value is "1" (a flag) or
 * text of the words. getopt's state is global: yv_cmdtab_parse resets it itself (optind = 0). */
#include "fuzz.h"

#include "tui/batch.h"
#include "tui/cmdtab.h"

#define MAXW 63

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    if (!devnull) abort();
    return 0;
}

/* p points into one of the n words (or at its terminating NUL). */
static bool in_words(const char *p, char *const *words, int n)
{
    for (int i = 0; i < n; i++)
        if (p >= words[i] && p <= words[i] + strlen(words[i])) return true;
    return false;
}

static void parse_with(const yv_cmd *c, char **words, int n)
{
    char *argv[MAXW + 2];
    char msg[512];
    yv_args a;
    argv[0] = (char *)c->name;
    for (int i = 1; i < n; i++) argv[i] = words[i];
    int argc = n > 0 ? n : 1;
    argv[argc] = NULL;
    msg[0] = '\0';
    int rc = yv_cmdtab_parse(c, argc, argv, &a, msg, sizeof msg);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == -1, "rc %d", rc);
    if (rc < 0) {
        size_t l = strlen(c->name);
        FUZZ_CHECK(strlen(msg) > l + 2 && !strncmp(msg, c->name, l) && !strncmp(msg + l, ": ", 2),
                   "message '%s'", msg);
        return;
    }
    if (rc == 1) return yv_cmdtab_help(c, "yave-tui --batch", devnull);
    FUZZ_CHECK(a.npos >= c->min_pos && a.npos <= c->max_pos, "%d positionals", a.npos);
    FUZZ_CHECK(a.pos >= argv && a.pos + a.npos <= argv + argc, "positionals outside argv");
    for (int i = 0; i < a.npos; i++) FUZZ_CHECK(in_words(a.pos[i], words, n), "positional %d", i);
    for (int i = 0; c->opts[i].lng; i++) {
        const char *v = a.val[i];
        if (!v) continue;
        if (!c->opts[i].arg) FUZZ_CHECK(!strcmp(v, "1"), "flag --%s = '%s'", c->opts[i].lng, v);
        else FUZZ_CHECK(in_words(v, words, n), "--%s value outside the words", c->opts[i].lng);
        FUZZ_CHECK(yv_cmdtab_get(c, &a, c->opts[i].lng) == v, "get --%s", c->opts[i].lng);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = fuzz_cstr(data, size), *words[MAXW + 1];
    size_t len = strlen(line);
    int n = yv_cmdtab_split_line(line, words, MAXW);
    FUZZ_CHECK(n >= -1 && n <= MAXW, "%d words", n);
    if (n > 0) {
        size_t total = 0;
        for (int i = 0; i < n; i++) {
            FUZZ_CHECK(words[i] >= line && words[i] <= line + len, "word %d outside the line", i);
            FUZZ_CHECK(i == 0 || words[i] > words[i - 1], "words out of order");
            total += strlen(words[i]) + 1;
        }
        FUZZ_CHECK(total <= len + 1, "words longer than the line");
        words[n] = NULL;
        for (const yv_cmd *c = yv_batch_commands(); c->name; c++) parse_with(c, words, n);
    }
    free(line);
    return 0;
}
