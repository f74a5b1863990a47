/* qmpquit [-p] SOCKET PID: the floor of a forced stop, for make bench. A bare QMP client: connects
 * to QEMU's QMP socket, reads the greeting, sends qmp_capabilities, then quit, and waits (pidfd)
 * until process PID has exited. Nothing else: no liveness proof, no library but libc, so what it
 * costs is what any stop must pay. -p: the floor of a client that pipelines as yave's stop does,
 * qmp_capabilities and quit in one write before the greeting is read. Exit 0 once PID is gone, 1 on
 * an error (said on stderr), 2 on a usage error. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* Reads until a whole line has arrived (QMP answers one JSON object a line); 0 or -1. */
static int read_line(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        if (memchr(buf, '\n', (size_t)n)) return 0;
    }
}

static int send_str(int fd, const char *s)
{
    size_t len = strlen(s);
    return write(fd, s, len) == (ssize_t)len ? 0 : -1;
}

static int qmp_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) return -1;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Blocks until the process behind pidfd has exited (a pidfd polls readable then). */
static int wait_exit(int pidfd)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    while (poll(&p, 1, 30000) < 0)
        if (errno != EINTR) return -1;
    return p.revents ? 0 : -1;
}

int main(int argc, char **argv)
{
    int piped = argc == 4 && !strcmp(argv[1], "-p");
    if (argc != 3 + piped) {
        fprintf(stderr, "usage: %s [-p] SOCKET PID\n", argv[0]);
        return 2;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, atoi(argv[2 + piped]), 0);
    int fd = qmp_connect(argv[1 + piped]);
    if (pidfd < 0 || fd < 0) {
        fprintf(stderr, "qmpquit: %s\n", strerror(errno));
        return 1;
    }
    /* the answer to quit may never come (QEMU can close first): the pidfd says it is gone */
    int rc = piped
                 ? send_str(fd, "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"quit\"}\n")
                 : read_line(fd) < 0 || send_str(fd, "{\"execute\":\"qmp_capabilities\"}\n") < 0 ||
                       read_line(fd) < 0 || send_str(fd, "{\"execute\":\"quit\"}\n") < 0;
    if (rc || wait_exit(pidfd) < 0) {
        fprintf(stderr, "qmpquit: QMP or wait failed\n");
        return 1;
    }
    close(fd);
    close(pidfd);
    return 0;
}
