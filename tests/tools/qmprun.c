/* qmprun SOCKET PASSWORD QEMU-ARGV...: the floor of `run`, for make bench. A bare start client:
 * spawns QEMU's argv (as `run --dry-run` prints it, with its -S) in a session of its own with
 * stdin, stdout and stderr on /dev/null, connects to SOCKET the moment QEMU listens (looked for
 * every millisecond, as `run` does), writes qmp_capabilities, set_password and cont at once, and
 * exits once QEMU has answered all three. Nothing else: no config, no checks, no records, no
 * library but libc, so what it costs is what any separate program that starts QEMU and sets its
 * VNC password must pay. QEMU is left running (the caller stops it). Exit 0 when all three
 * answers were returns, 1 otherwise (said on stderr), 2 on a usage error. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int try_connect(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0) return fd;
    close(fd);
    return -1;
}

/* Reads answers until n of them (lines starting {"return" or {"error") have come; the number of
 * errors among them, or -1 when QEMU closed first. */
static int await_answers(int fd, int n)
{
    char buf[8192];
    size_t len = 0;
    int errors = 0;
    while (n > 0) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        len += (size_t)r;
        char *line = buf, *nl;
        while (n > 0 && (nl = memchr(line, '\n', len - (size_t)(line - buf)))) {
            if (!strncmp(line, "{\"return\"", 9)) n--;
            if (!strncmp(line, "{\"error\"", 8)) n--, errors++;
            line = nl + 1;
        }
        len -= (size_t)(line - buf);
        memmove(buf, line, len);
        if (len == sizeof buf - 1) len = 0; /* a line longer than the buffer: not an answer */
    }
    return errors;
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (argc < 4 || strlen(argv[1]) >= sizeof sa.sun_path || strlen(argv[2]) > 64 ||
        strpbrk(argv[2], "\"\\")) {
        fprintf(stderr, "usage: qmprun SOCKET PASSWORD QEMU-ARGV...\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    char cmds[256];
    int clen = snprintf(cmds, sizeof cmds,
                        "{\"execute\":\"qmp_capabilities\"}\n"
                        "{\"execute\":\"set_password\",\"arguments\":{\"protocol\":\"vnc\","
                        "\"password\":\"%s\"}}\n{\"execute\":\"cont\"}\n",
                        argv[2]);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
    posix_spawn_file_actions_adddup2(&fa, 0, 1);
    posix_spawn_file_actions_adddup2(&fa, 0, 2);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[3], &fa, &at, argv + 3, environ);
    if (rc) {
        fprintf(stderr, "qmprun: cannot start %s: %s\n", argv[3], strerror(rc));
        return 1;
    }
    int fd;
    const struct timespec ms = {0, 1000000};
    for (int i = 0; (fd = try_connect(&sa)) < 0; i++) {
        if (i == 10000 || waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "qmprun: %s made no QMP socket at %s\n", argv[3], argv[1]);
            return 1;
        }
        nanosleep(&ms, NULL);
    }
    if (write(fd, cmds, (size_t)clen) != clen || (rc = await_answers(fd, 3)) != 0) {
        fprintf(stderr, "qmprun: %s\n", rc > 0 ? "QEMU answered with an error" : "QMP failed");
        return 1;
    }
    return 0;
}
