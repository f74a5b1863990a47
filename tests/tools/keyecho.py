#!/usr/bin/python3
"""keyecho: how long the TUI takes to echo each key typed into the list's filter (issues 15 and 18:
"keys keep echoing in the list within 100 ms"). Stdlib only.

    keyecho.py --socket NAME --session S [--hang SECONDS] [--until EPOCH_MS] COUNT

Measured on the tmux server's control connection (`tmux -L NAME -C attach -t S`), so that only the
TUI and tmux are timed: a `tmux send-keys` and `capture-pane` process per key and poll cost 50 to
100 ms each on a loaded machine, more than the TUI's whole answer.

The list's filter must be open and empty in session S (its line, the last but one shown, reads
"/"). Types COUNT letters, a to z and again, one after the other, until EPOCH_MS (ms since the
epoch) when given. Each goes with `send-keys -l` on the control connection; its echo is the first
%output of the pane since the key that holds the letter (tmux's octal escapes decoded), confirmed
by a capture-pane on the same connection showing the filter line as "/" and every letter typed so
far. A capture that does not show it yet clears the outputs before it (tmux answers a command after
the output it read before it), so an earlier redraw holding the letter never counts.

Prints each key's echo time in whole ms, a line each, as it goes. Exit 1 with a message when a key
has not shown after SECONDS (default 30: a hang, not a claim about speed); 2 when tmux cannot be
attached or the filter is not open.
"""
import argparse
import os
import re
import select
import subprocess
import sys
import time

LETTERS = "abcdefghijklmnopqrstuvwxyz"


class Hang(Exception):
    pass


class Control:
    """A tmux control-mode client: commands in, notifications and command answers out, each line
    with the time (time.monotonic) it was read."""

    def __init__(self, socket_name, session):
        env = dict(os.environ, LC_ALL="C.UTF-8")
        env.pop("TMUX", None)  # a test run from inside tmux: attaching is still what we mean
        argv = ["tmux", "-L", socket_name, "-u", "-f", "/dev/null", "-C", "attach", "-t", session]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.fd = self.proc.stdout.fileno()
        self.buf = b""
        self.lines = []  # (time, line) read but not yet taken
        self.block = None  # the answer being read: its lines
        self.sent = []  # the tags of our commands not answered yet, in the order sent

    def send(self, cmd, tag=None):
        self.sent.append(tag)
        self.proc.stdin.write(cmd.encode() + b"\n")
        self.proc.stdin.flush()

    def _fill(self, deadline):
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([self.fd], [], [], wait)[0]:
            raise Hang()
        data = os.read(self.fd, 65536)
        t = time.monotonic()
        if not data:
            raise EOFError("tmux's control connection closed")
        self.buf += data
        *done, self.buf = self.buf.split(b"\n")
        self.lines += [(t, line) for line in done]

    def event(self, deadline):
        """The next notification ("output", t, pane, bytes) or answer ("answer", t, tag, ok,
        lines): tmux answers commands in the order sent."""
        while True:
            while not self.lines:
                self._fill(deadline)
            t, line = self.lines.pop(0)
            if self.block is not None:
                words = line.split(b" ")
                if words[0] in (b"%end", b"%error") and words[1:3] == self.block[0]:
                    mine, lines = self.block[1], self.block[2]
                    self.block = None
                    if mine:  # flags 1: sent by this client (0: the attach itself)
                        return ("answer", t, self.sent.pop(0), words[0] == b"%end", lines)
                else:
                    self.block[2].append(line)
                continue
            if line.startswith(b"%begin "):
                words = line.split(b" ")
                self.block = (words[1:3], words[3:4] == [b"1"], [])
            elif line.startswith(b"%output "):
                _, pane, data = line.split(b" ", 2)
                return ("output", t, pane, unescape(data))
            elif line.startswith(b"%exit"):
                raise EOFError("tmux ended the control connection: %s" % text(line))

    def command(self, cmd, deadline):
        """Sends cmd and waits for its answer (notifications meanwhile are dropped)."""
        self.send(cmd, "command")
        while True:
            ev = self.event(deadline)
            if ev[0] == "answer" and ev[2] == "command":
                if not ev[3]:
                    raise EOFError("tmux: %s: %s" % (cmd, text(b" ".join(ev[4]))))
                return ev[4]

    def close(self):
        try:
            self.proc.stdin.close()  # end of input: the client detaches
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def text(data):
    return data.decode(errors="replace")


def unescape(data):
    """%output's data: bytes below space and the backslash come as \\ooo (three octal digits)."""
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), data)


def text_of(data):
    """data without its escape sequences (whose final bytes are letters too)."""
    return re.sub(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[ -/]*[0-~])", b"", data)


def filter_line(lines):
    """The filter's line: the last but one of the pane, trailing empty lines dropped (as tui-lib's
    $(cap) sees it)."""
    shown = [text(x) for x in lines]
    while shown and not shown[-1].strip():
        shown.pop()
    return shown[-2] if len(shown) >= 2 else ""


def shows(lines, typed):
    return re.fullmatch("/" + re.escape(typed) + " *", filter_line(lines)) is not None


def echo(ctl, pane, typed, hang):
    """Types typed's last letter; the ms until the pane's output showed it."""
    letter = typed[-1].encode()
    # the pane's output tmux sent before this key (a redraw that holds the letter too) is read and
    # dropped first: only output that came after the key can time it
    ctl.command("display -p x", time.monotonic() + hang)
    t0 = time.monotonic()
    deadline = t0 + hang
    ctl.send("send-keys -t %s -l -- %s" % (pane, typed[-1]), "key")
    window = []  # (time, data) of the pane's output since the key or the last capture without it
    checking = False
    while True:
        ev = ctl.event(deadline)
        if ev[0] == "output" and ev[2] == pane.encode():
            window.append((ev[1], ev[3]))
            if not checking:
                ctl.send("capture-pane -p -t %s" % pane, "capture")
                checking = True
        elif ev[0] == "answer" and ev[2] == "key" and not ev[3]:
            raise EOFError("tmux: send-keys: %s" % text(b" ".join(ev[4])))
        elif ev[0] == "answer" and ev[2] == "capture":
            if ev[3] and shows(ev[4], typed):
                with_letter = [t for t, data in window if letter in text_of(data)]
                # none: the capture's own time, an upper bound (tmux keeps %output and answers in
                # the order it read and ran them, so this is not expected)
                t = with_letter[0] if with_letter else ev[1]
                return (t - t0) * 1000
            window = []
            checking = False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--socket", required=True, help="tmux -L socket name")
    ap.add_argument("--session", required=True)
    ap.add_argument("--hang", type=float, default=30.0)
    ap.add_argument("--until", type=int, help="ms since the epoch: no key typed after it")
    ap.add_argument("count", type=int)
    a = ap.parse_args()
    try:
        ctl = Control(a.socket, a.session)
    except OSError as e:
        print("keyecho: tmux: %s" % e, file=sys.stderr)
        return 2
    typed = ""
    pane = None
    try:
        deadline = time.monotonic() + a.hang
        pane = ctl.command("display -p -t '%s' '#{pane_id}'" % a.session, deadline)[0].decode()
        lines = ctl.command("capture-pane -p -t %s" % pane, deadline)
        if not shows(lines, ""):
            print("keyecho: the filter is not open: %r" % filter_line(lines), file=sys.stderr)
            return 2
        while len(typed) < a.count and (a.until is None or time.time() * 1000 < a.until):
            typed += LETTERS[len(typed) % len(LETTERS)]
            print(round(echo(ctl, pane, typed, a.hang)), flush=True)
    except Hang:
        shown = "?"
        if pane is not None:
            try:
                lines = ctl.command("capture-pane -p -t %s" % pane, time.monotonic() + 5)
                shown = filter_line(lines)
            except (Hang, EOFError):
                pass
        print("keyecho: '/%s' did not show within %g s (the filter line: %r)"
              % (typed, a.hang, shown), file=sys.stderr)
        return 1
    except (EOFError, IndexError) as e:
        print("keyecho: %s" % e, file=sys.stderr)
        return 2
    finally:
        ctl.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
