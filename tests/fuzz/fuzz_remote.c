/* Fuzz target: the lines of a remote host's `watch --json` (core/remote.c, spec §14), untrusted:
 * what another machine sends must never crash or fool the TUI. Oracles: no crash or leak; the
 * rows stay sorted by name with no two alike, every name a valid VM name and every key
 * "name@host"; a row's strings are printable; and yv_remote_quote's words come back whole from
 * a POSIX shell's single-quote rules. */
#include "fuzz.h"

#include "../../core/remote.h"
#include "../../core/valid.h"

/* What reaches our terminal from another machine: printable ASCII only (NULL: absent). */
static void printable(const char *s, const char *what)
{
    for (const char *c = s; c && *c; c++)
        FUZZ_CHECK((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f, "%s byte 0x%02x", what,
                   (unsigned char)*c);
}

static void check_rows(const yv_remote *r)
{
    for (size_t i = 0; i < yv_remote_count(r); i++) {
        const yv_monitor_vm *v = yv_remote_get(r, i);
        char key[128];
        FUZZ_CHECK(yv_valid_name(v->name, NULL) == 0, "row name %s", v->name);
        snprintf(key, sizeof key, "%s@fz", v->name);
        FUZZ_CHECK(!strcmp(yv_remote_key(r, i), key), "key %s", yv_remote_key(r, i));
        FUZZ_CHECK(i == 0 || strcmp(yv_remote_get(r, i - 1)->name, v->name) < 0, "order at %zu", i);
        printable(v->detail, "detail");
        printable(v->problem, "problem");
        if (!v->valid) continue;
        printable(v->vm.vnc_display, "display");
        for (size_t d = 0; d < v->vm.ndrives; d++) {
            printable(v->vm.drives[d].id, "drive id");
            printable(v->vm.drives[d].path, "drive path");
        }
        for (size_t k = 0; k < v->vm.nnets; k++) {
            const yv_net *n = &v->vm.nets[k];
            printable(n->id, "net id");
            printable(n->mac, "mac");
            printable(n->master, "master");
            printable(n->ifname, "ifname");
            for (size_t f = 0; f < n->nforwards; f++) printable(n->forwards[f].address, "forward");
        }
        FUZZ_CHECK(!strcmp(v->host, "fz"), "host");
    }
}

/* The words of a single-quoted shell line (what yv_remote_quote writes), or -1. */
static int unquote(const char *s, char out[][64], int max)
{
    int n = 0;
    while (*s) {
        if (n == max) return -1;
        size_t k = 0;
        while (*s && *s != ' ') {
            if (*s == '\'') {
                for (s++; *s && *s != '\''; s++)
                    if (k < 63) out[n][k++] = *s;
                if (*s != '\'') return -1;
                s++;
            } else if (*s == '\\' && s[1]) {
                if (k < 63) out[n][k++] = s[1];
                s += 2;
            } else return -1; /* a character outside quotes: the shell would read it */
        }
        out[n++][k] = '\0';
        if (*s == ' ') s++;
    }
    return n;
}

static void check_quote(const uint8_t *data, size_t size)
{
    char words[4][64], back[4][64];
    const char *w[5];
    int n = 0;
    for (size_t at = 0; n < 4 && at < size; n++) {
        size_t k = 0;
        while (at < size && data[at] != '\n' && k < 40)
            words[n][k++] = data[at] ? (char)data[at] : 'x', at++;
        words[n][k] = '\0';
        w[n] = words[n];
        at++;
    }
    w[n] = NULL;
    if (!n) return;
    char *line = yv_remote_quote(w);
    int got = unquote(line, back, 4);
    FUZZ_CHECK(got == n, "quote: %d words back of %d: %s", got, n, line);
    for (int i = 0; i < n; i++) FUZZ_CHECK(!strcmp(back[i], words[i]), "quote word %d", i);
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    yv_host h = {.name = "fz", .ssh = "u@h"};
    yv_remote *r = yv_remote_new(&h, NULL, "/nonexistent");
    size_t start = 0;
    for (size_t i = 0; i <= size; i++)
        if (i == size || data[i] == '\n') {
            yv_remote_feed_line(r, (const char *)data + start, i - start);
            start = i + 1;
        }
    check_rows(r);
    yv_remote_free(r);
    check_quote(data, size);
    return 0;
}
