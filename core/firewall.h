/* firewall: YAVE's own nftables table (`bridge yave`): per VM TAP, frames entering the bridge from
 * that TAP whose source MAC is not the VM's are dropped (anti-spoofing). Each change is one
 * libnftables transaction; names and MACs are validated before they are written into nft's
 * language. Callers serialise with yv_firewall_lock. */
#ifndef YV_FIREWALL_H
#define YV_FIREWALL_H

#include "err.h"

/* A lock of its own (run/nft.lock): `run` holds the root lock while QEMU runs netdevup. */
int yv_firewall_lock(const char *root, yv_err *err);

/* Installs the rules of one TAP (idempotent). */
int yv_firewall_up(const char *vm, const char *ifname, const char *mac, yv_err *err);
/* Removes exactly that TAP's rules (idempotent; nothing installed = nothing to do). */
int yv_firewall_down(const char *ifname, yv_err *err);
/* The TAP names that have rules, a chain or a dispatch entry now (malloc'd array of malloc'd
 * strings), and when vms is not NULL, for each the VM its rule names (its "vm:NAME" comment; NULL
 * when none): who owns a rule is known without any VM's config. Free with yv_firewall_free_list. */
int yv_firewall_list(char ***ifnames, char ***vms, size_t *n, yv_err *err);
void yv_firewall_free_list(char **v, size_t n);
/* The kernel's answer to "is there YAVE's table" (a GETTABLE over nfnetlink; buf aligned for
 * nlmsghdr): 1 a table, 0 none (ENOENT), -1 cannot tell. */
int yv_firewall_table_answer(const void *buf, size_t size);
/* The nft chain name for a TAP (ifname hex-encoded: nft identifiers allow no '-'). */
void yv_firewall_chain(const char *ifname, char out[40]);

#endif
