/* vncauth HOST PORT: tries a VNC login with the password on stdin's first line, with a real VNC
 * client (libvncclient): the RFB handshake and the authentication, no framebuffer.
 * Prints "OK" and exits 0 when the login succeeds; "AUTH_FAILED: <last library message>" and exit 1
 * when the server answers but the handshake or authentication fails; "CONNECT_FAILED: <message>"
 * and exit 2 when nothing can be connected to; exit 3 on a usage error. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rfb/rfbclient.h>

static char last_msg[512];
static char password[256];

/* rfbClientLog/rfbClientErr: remember the last message instead of printing it. */
static void capture(const char *fmt, ...)
{
    char buf[sizeof last_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    if (n) memcpy(last_msg, buf, n + 1);
}

/* The library wipes and free()s what this returns, except an empty string (it then fails with
 * "Reading password failed" and leaks it): no password is NULL. */
static char *get_password(rfbClient *cl)
{
    (void)cl;
    return password[0] ? strdup(password) : NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT  (password on stdin)\n", argv[0]);
        return 3;
    }
    char *end;
    long port = strtol(argv[2], &end, 10);
    if (*end || port <= 0 || port > 65535) {
        fprintf(stderr, "%s: bad port '%s'\n", argv[0], argv[2]);
        return 3;
    }
    if (!fgets(password, sizeof password, stdin)) password[0] = '\0';
    password[strcspn(password, "\r\n")] = '\0';

    rfbClientLog = capture;
    rfbClientErr = capture;
    rfbClient *cl = rfbGetClient(8, 3, 4);
    if (!cl) {
        printf("CONNECT_FAILED: rfbGetClient failed\n");
        return 2;
    }
    cl->GetPassword = get_password;
    cl->connectTimeout = 3;
    cl->readTimeout = 3;
    /* Neither ConnectToRFBServer nor InitialiseRFBConnection frees the client on failure (only
     * rfbInitClient does): clean up exactly once on every path. */
    if (!ConnectToRFBServer(cl, argv[1], (int)port)) {
        printf("CONNECT_FAILED: %s\n", last_msg[0] ? last_msg : "cannot connect");
        rfbClientCleanup(cl);
        return 2;
    }
    if (!InitialiseRFBConnection(cl)) {
        printf("AUTH_FAILED: %s\n", last_msg[0] ? last_msg : "handshake failed");
        rfbClientCleanup(cl);
        return 1;
    }
    printf("OK\n");
    rfbClientCleanup(cl);
    return 0;
}
