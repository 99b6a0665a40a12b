#!/usr/bin/python3
"""qmp-dump.py SOCKET VMCORE VMCORE_ELF

Over QEMU's QMP unix socket: stop the guest, write a kdump-compressed (zlib)
dump to VMCORE (for crash), an ELF dump with paging (virtual addresses, for
gdb and drgn) to VMCORE_ELF, both of the same stopped instant, then quit.
"""
import json
import os
import socket
import sys
import time


class QMP:
    # The ELF dump with paging of a 512 MB guest takes seconds on an idle
    # host and minutes on a loaded one: wait long for each answer.
    def __init__(self, path, timeout=1800):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        deadline = time.time() + 30
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.buf = b""
        greeting = self._read()
        if "QMP" not in greeting:
            raise RuntimeError("unexpected QMP greeting: %r" % greeting)
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "event" in r:
                continue
            if "error" in r:
                raise RuntimeError("QMP %s failed: %s" % (name, r["error"]))
            return r.get("return")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sock, vmcore, vmcore_elf = sys.argv[1:]
    q = QMP(sock)
    q.cmd("stop")
    t0 = time.time()
    q.cmd("dump-guest-memory", paging=False, format="kdump-zlib",
          protocol="file:" + os.path.abspath(vmcore))
    t1 = time.time()
    q.cmd("dump-guest-memory", paging=True,
          protocol="file:" + os.path.abspath(vmcore_elf))
    t2 = time.time()
    print("qmp-dump: kdump-zlib %.1fs, elf %.1fs" % (t1 - t0, t2 - t1), file=sys.stderr)
    try:
        q.cmd("quit")
    except (RuntimeError, OSError):
        pass  # QEMU may close the socket before answering


if __name__ == "__main__":
    main()
