"""Drives an interactive crash session under a pseudo-terminal, as a user at
a keyboard would: type a command, press Ctrl-C, wait for the prompt."""
import os
import pty
import re
import select
import signal
import itertools
import time

from crashrun import CRASH, VMLINUX, dump_dir

PROMPT = b"crash> "
_tokens = itertools.count()


class CrashSession:
    def __init__(self, scenario, env=None):
        d = dump_dir(scenario)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            if env:
                os.environ.update(env)
            os.execvp(CRASH, [CRASH, "-s", str(VMLINUX), str(d / "vmcore")])
        self.buffer = b""
        self.expect_prompt(timeout=180)

    def read_until(self, pattern, timeout):
        """Returns the output up to and including the first match of pattern."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.buffer)
            if m:
                out, self.buffer = self.buffer[:m.end()], self.buffer[m.end():]
                return out.decode(errors="replace")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {pattern!r} within {timeout}s; got:\n{self.buffer[-2000:].decode(errors='replace')}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise EOFError(f"crash exited; output:\n{self.buffer[-2000:].decode(errors='replace')}")
                self.buffer += chunk

    def expect_prompt(self, timeout=60):
        return self.read_until(re.escape(PROMPT), timeout)

    def send(self, line):
        os.write(self.fd, line.encode() + b"\r")

    def run(self, line, timeout=60):
        """Types a command and returns what it printed before the next prompt
        (not the prompt itself: a --json answer is exactly its document)."""
        self.send(line)
        out = self.expect_prompt(timeout).removesuffix(PROMPT.decode())
        return out.split("\n", 1)[1] if "\n" in out else ""

    def sync(self, timeout=60):
        """Discards everything up to the answer of a command of our own.
        Ctrl-C at the prompt (a command that ended just before the key)
        makes crash print a second prompt; without this the next run()
        would take that prompt for its answer."""
        token = f"netdbg-sync-{os.getpid()}-{next(_tokens)}".encode()
        self.send("echo " + token.decode())
        self.read_until(rb"\n" + token + rb"\r?\n" + re.escape(PROMPT), timeout)

    def syscall(self):
        """The system call crash is blocked in (/proc/PID/syscall: its
        number), or None while it runs."""
        try:
            with open(f"/proc/{self.pid}/syscall") as f:
                first = f.read().split()[0]
        except (OSError, IndexError):
            return None
        return int(first) if first.isdigit() else None

    def interrupt(self):
        os.write(self.fd, b"\x03")  # the terminal turns it into SIGINT

    def alive(self):
        return os.waitpid(self.pid, os.WNOHANG) == (0, 0)

    def close(self):
        try:
            self.send("quit")
            time.sleep(0.5)
        except OSError:
            pass
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)
