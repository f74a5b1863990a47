/* sshkey: SSH public keys for a preset's root (spec §13 `--ssh-key`). A key file holds lines
 * `TYPE BASE64 [comment]` as in authorized_keys but without options; blank lines and `#` comments
 * are skipped. Each key is checked before anything is written: TYPE is one of OpenSSH's public key
 * types, the base64 is strict and decodes to a blob whose embedded type string is TYPE. Anything
 * else is refused (USAGE) naming the file and the line. The keys then travel as data (a YAML list
 * in user-data), never as pasted text. */
#ifndef YV_SSHKEY_H
#define YV_SSHKEY_H

#include <stddef.h>

#include "err.h"

#define YV_SSHKEY_MAX_FILE 65536 /* bytes of one key file */
#define YV_SSHKEY_MAX_KEYS 64    /* keys in all */

typedef struct {
    char **keys; /* "TYPE BASE64[ comment]", normalized (single blanks, no line end) */
    size_t n;
} yv_sshkeys;

/* Appends the keys of text (len bytes, the content of `what`: a file name or "ssh key 2") to k.
 * On error k is as before. A text without any key is refused too. */
int yv_sshkey_parse(yv_sshkeys *k, const char *what, const char *text, size_t len, yv_err *err);
/* The same for a file (at most YV_SSHKEY_MAX_FILE bytes). A missing file is USAGE. */
int yv_sshkey_load(yv_sshkeys *k, const char *path, yv_err *err);
void yv_sshkey_done(yv_sshkeys *k);

#endif
