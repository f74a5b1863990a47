/* valid: allowlist validators for everything a user or a file names (VM names, interface names,
 * MACs, VNC displays, sizes). Each returns 0, or -1 with a message that says what is wrong. */
#ifndef YV_VALID_H
#define YV_VALID_H

#include <stddef.h>

#include "err.h"

#define YV_NAME_MAX    48
#define YV_IFNAME_MAX  15
#define YV_DISPLAY_MAX (65535 - 5900)

/* VM names: ^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$ (INVALID_NAME). */
int yv_valid_name(const char *name, yv_err *err);
/* Interface names: [A-Za-z0-9_.-]{1,15} (USAGE); `what` names the value in the message. */
int yv_valid_ifname(const char *ifname, const char *what, yv_err *err);
/* Checkers in the shape yamlio wants: fill why ("must …") on failure. */
int yv_valid_mac_check(const char *s, char *why, size_t whylen);
int yv_valid_display_check(const char *s, char *why, size_t whylen);
int yv_valid_ifname_check(const char *s, char *why, size_t whylen);
/* ":N" (0 ≤ N ≤ YV_DISPLAY_MAX, no leading zeros) → N, else -1. */
int yv_valid_display_number(const char *s);
/* A size in MiB: decimal digits only, 1 … 16777216 (16 TiB) (USAGE). */
int yv_valid_mib(const char *s, const char *what, long *out, yv_err *err);

/* A VM's memory and vCPUs, the one rule create, set, the web API and the TUI's forms share:
 * memory YV_MEMORY_MIN … YV_MEMORY_MAX MiB, vCPUs 1 … YV_VCPU_MAX (USAGE naming the value). The
 * _value forms check a number already read (JSON). */
#define YV_MEMORY_MIN 16
#define YV_MEMORY_MAX (16L * 1024 * 1024)
#define YV_VCPU_MAX   1024
int yv_valid_memory(const char *s, long *out, yv_err *err);
/* A value given by the user, as an error message may show it: itself when short (64 bytes at
 * most) and printable ASCII, else "…" (a hostile value must not reach a terminal or a web page
 * with its escape sequences). */
const char *yv_valid_shown(const char *s);
int yv_valid_memory_value(long long mib, yv_err *err);
int yv_valid_vcpu(const char *s, long *out, yv_err *err);
int yv_valid_vcpu_value(long long n, yv_err *err);
/* An IPv4 address in dotted-quad decimal (a.b.c.d, each 0…255, no leading zeros): the strict subset
 * of what QEMU 7.2's hostfwd reads with inet_aton (which would also take "127.1" or "0x7f.1"). */
int yv_valid_ipv4_check(const char *s, char *why, size_t whylen);
/* A port: decimal digits, 1 … 65535, no leading zero; -1 otherwise. */
int yv_valid_port(const char *s);

/* A port forward as a user writes it (spec §10): [PROTO:][ADDR:]HOST:GUEST, PROTO tcp|udp (default
 * tcp), ADDR an IPv4 address (default 127.0.0.1). */
#define YV_FWADDR_MAX 16
typedef struct {
    int proto; /* a yv_proto of vm.h: 0 tcp, 1 udp */
    char address[YV_FWADDR_MAX];
    int host, guest;
} yv_fwspec;
/* Parses s into out (USAGE with the reason on failure). */
int yv_valid_forward(const char *s, yv_fwspec *out, yv_err *err);
/* "tcp" or "udp" → 0/1, else -1. */
int yv_valid_proto(const char *s);

#endif
