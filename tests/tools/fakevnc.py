#!/usr/bin/env python3
"""A VNC server that misbehaves on purpose, for the screen view's tests (spec §12: "a VNC server
that accepts and stays silent, or stalls mid-frame, leaves every other key working").

    fakevnc.py MODE HOST PORT READYFILE

MODE silent: accepts every connection and never sends a byte.
MODE stall:  speaks RFB 3.8 up to ServerInit (VNC authentication, any password taken, 640x480,
             32 bpp), answers the first
             FramebufferUpdateRequest with the header of a raw update and a few pixels, then stalls.
Writes READYFILE once listening; runs until killed; a thread per connection.
"""
import socket
import struct
import sys
import threading
import time


def read_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


def hold(c):
    """Keeps the connection open and silent until the peer goes."""
    try:
        while c.recv(4096):
            pass
    except OSError:
        pass


def stall(c):
    c.sendall(b"RFB 003.008\n")
    read_exact(c, 12)
    c.sendall(bytes([1, 2]))  # one security type: VNC authentication (the VM has a password)
    read_exact(c, 1)
    c.sendall(b"\x11" * 16)  # the challenge; any response is taken
    read_exact(c, 16)
    c.sendall(struct.pack(">I", 0))  # SecurityResult OK
    read_exact(c, 1)  # ClientInit
    fmt = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
    name = b"stall"
    c.sendall(struct.pack(">HH", 640, 480) + fmt + struct.pack(">I", len(name)) + name)
    # client messages until the first FramebufferUpdateRequest (type 3, 10 bytes)
    sizes = {0: 20, 3: 10, 4: 8, 5: 6}
    while True:
        t = read_exact(c, 1)[0]
        if t == 2:  # SetEncodings: 3 more bytes of header, then 4 per encoding
            n = struct.unpack(">xH", read_exact(c, 3))[0]
            read_exact(c, 4 * n)
            continue
        if t == 6:  # ClientCutText
            n = struct.unpack(">3xI", read_exact(c, 7))[0]
            read_exact(c, n)
            continue
        read_exact(c, sizes.get(t, 1) - 1)
        if t == 3:
            break
    # FramebufferUpdate, one raw rectangle of all 640x480, and only its first 100 pixels
    c.sendall(struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, 640, 480, 0))
    c.sendall(b"\x80" * 400)
    hold(c)


def serve(c, mode):
    try:
        if mode == "stall":
            stall(c)
        else:
            hold(c)
    except (EOFError, OSError):
        pass
    finally:
        c.close()


def main():
    mode, host, port, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(16)
    with open(ready, "w") as f:
        f.write("ready\n")
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c, mode), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        time.sleep(0)
