"""netdbg for gdb: every netdbg command, on a live kernel (QEMU gdbstub,
kgdb) or on an ELF dump, with the same options and output as in crash.

    (gdb) source /path/to/build/gdb/netdbg-gdb.py
    (gdb) rtnlowner

The commands come from the C++ core's command table (_netdbg.so, next to
this file or in $NETDBG_GDB_MODULE); this file only registers them with
gdb, completes their arguments and keeps the core's caches in step with
gdb's events. gdb-only helpers: netdbg-kaslr, netdbg-load-modules.
"""
import importlib.util
import os
import re
import shlex
import sys

import gdb


def _load_core():
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ.get("NETDBG_GDB_MODULE", "")
    candidates = []
    if env:
        candidates.append(env if env.endswith(".so") else os.path.join(env, "_netdbg.so"))
    candidates += [os.path.join(here, "_netdbg.so")]
    # Sourced from the source tree: the usual build directories.
    root = os.path.dirname(here)
    candidates += [os.path.join(root, b, "gdb", "_netdbg.so") for b in ("build", "build-gdb")]
    for path in candidates:
        if os.path.exists(path):
            spec = importlib.util.spec_from_file_location("_netdbg", path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            sys.modules["_netdbg"] = mod
            return mod
    raise gdb.GdbError("netdbg: _netdbg.so not found (looked in: %s); build it with `make build` "
                       "or set NETDBG_GDB_MODULE" % ", ".join(candidates))


_netdbg = sys.modules.get("_netdbg") or _load_core()

# --- completion -------------------------------------------------------------

_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
_SYMBOL_WORDS = re.compile(r"symbol|address|\bMUTEX\b|\bSYM\b|\bADDR\b", re.I)
_DEVICE_WORDS = re.compile(r"\b(dev|device|ifname|netdev|DEV|IFNAME)\b")
# "--dev DEV", "--dev=<device>": the option whose value is a device name.
_DEVICE_OPTION = re.compile(r"(--?[\w-]+)[ =]<?(?:dev|device|ifname|netdev)\b", re.I)
_SYMBOL_OPTION = re.compile(r"(--?[\w-]+)[ =]<?(?:symbol|address|sym|addr)\b", re.I)


class _Completer:
    """Completion from the synopsis: options, symbols where the command
    takes a symbol or an address, net device names where it takes a
    device (read from the kernel)."""

    def __init__(self, synopsis):
        self.options = sorted(set(_OPTION.findall(synopsis)))
        self.device_options = set(m.group(1) for m in _DEVICE_OPTION.finditer(synopsis))
        self.symbol_options = set(m.group(1) for m in _SYMBOL_OPTION.finditer(synopsis))
        positional = _OPTION.sub("", synopsis)
        for opt in self.device_options | self.symbol_options:
            positional = positional.replace(opt, "")
        self.positional_symbol = bool(_SYMBOL_WORDS.search(positional))
        self.positional_device = bool(_DEVICE_WORDS.search(positional))

    def complete(self, text, word):
        # gdb's word breaks at '-' (and '=', '.'): for "--gr" `word` is
        # "gr". Match the whole argument and answer for gdb's word: the
        # candidates without the part of the argument before it.
        if word is None:
            word = ""
        arg = "" if text[-1:].isspace() else (text.split() or [""])[-1]
        if not arg.endswith(word):
            arg = word
        lead = len(arg) - len(word)
        if arg.startswith("-"):
            return [o[lead:] for o in self.options if o.startswith(arg)]
        before = text[: len(text) - len(arg)].split()
        prev = before[-1] if before else ""
        if prev in self.device_options or (self.positional_device and not prev.startswith("-")):
            return [n[lead:] for n in self.devices(arg)]
        if prev in self.symbol_options or self.positional_symbol:
            return gdb.COMPLETE_SYMBOL
        return gdb.COMPLETE_NONE

    @staticmethod
    def devices(prefix):
        try:
            names = _netdbg.netdev_names()
        except Exception:  # completion must never fail loudly
            return []
        return sorted(n for n in set(names) if n.startswith(prefix))


# --- the commands -------------------------------------------------------------


def _argv(arg):
    try:
        return gdb.string_to_argv(arg)
    except Exception:
        return shlex.split(arg)


def _make_command(entry):
    name = entry["name"]
    completer = _Completer(entry["synopsis"])

    def invoke(self, arg, from_tty):
        status, error = _netdbg.run(name, _argv(arg))
        if error:
            raise gdb.GdbError(error)

    def complete(self, text, word):
        return completer.complete(text, word)

    cls = type("Netdbg_" + re.sub(r"\W", "_", name), (gdb.Command,),
               {"__doc__": entry["help"], "invoke": invoke, "complete": complete})
    # COMMAND_USER: `help user-defined` lists netdbg's commands together
    # (gdb lists a class's commands only under that class's help).
    return cls(name, gdb.COMMAND_USER)


class NetdbgKaslr(gdb.Command):
    """Show or set the kernel load offset (KASLR) netdbg applies.

SYNOPSIS
  netdbg-kaslr [auto | OFFSET]

DESCRIPTION
  gdb loads vmlinux at its link address. netdbg finds where the kernel
  really runs and adds that offset to the kernel image's symbols itself:
  from the dump's VMCOREINFO (KERNELOFFSET), else by finding linux_banner
  in memory at its link address (nokaslr) or at a 2 MiB-aligned offset
  (first those that put the current PC in the kernel text). Every offset
  is checked against the banner in the vmlinux file.

  Without argument: detect (once) and print the offset in use.
    auto    detect again.
    OFFSET  use this offset (hex with 0x, or decimal).

  gdb's own commands (print, x, bt) still use the link addresses; to
  relocate them too: symbol-file -o OFFSET /path/to/vmlinux."""

    def __init__(self):
        super().__init__("netdbg-kaslr", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        args = _argv(arg)
        if len(args) > 1:
            raise gdb.GdbError("netdbg-kaslr: usage: netdbg-kaslr [auto | OFFSET]")
        what = None
        if args:
            what = "auto" if args[0] == "auto" else _parse_int(args[0], "netdbg-kaslr")
        offset, line = _netdbg.kaslr(what)
        if offset is None:
            raise gdb.GdbError(line)
        gdb.write(line + "\n")


def _parse_int(text, who):
    try:
        return int(text, 0)
    except ValueError:
        raise gdb.GdbError("%s: not a number: %s" % (who, text))


def _module_files(dirs):
    """{module name: path} of the .ko files under dirs, '-' read as '_'."""
    found = {}
    for d in dirs:
        if os.path.isfile(d) and d.endswith(".ko"):
            found.setdefault(os.path.basename(d)[:-3].replace("-", "_"), d)
            continue
        for root, _, files in os.walk(d):
            for f in sorted(files):
                if f.endswith(".ko"):
                    found.setdefault(f[:-3].replace("-", "_"), os.path.join(root, f))
    return found


class NetdbgLoadModules(gdb.Command):
    """Load the symbols of the kernel's modules from their .ko files.

SYNOPSIS
  netdbg-load-modules [DIR | FILE.ko]...

DESCRIPTION
  Reads the kernel's module list (struct module, from memory) and, for
  each loaded module with a NAME.ko under one of the DIRs (searched
  recursively; '-' and '_' are the same in module names), runs
  add-symbol-file with the address of every section the kernel placed
  (mod->sect_attrs, what /sys/module/NAME/sections shows). Then netdbg's
  commands and gdb's own see module symbols: lockowner nd_chain_mutex,
  "func+0x1c [module]" in call chains.

  Without arguments: list the modules and their .text addresses only.
  Modules whose symbol file is already loaded are skipped."""

    def __init__(self):
        super().__init__("netdbg-load-modules", gdb.COMMAND_USER, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        dirs = _argv(arg)
        for d in dirs:
            if not os.path.exists(d):
                raise gdb.GdbError("netdbg-load-modules: no such file or directory: %s" % d)
        mods, problems, error = _netdbg.modules()
        if error:
            raise gdb.GdbError("netdbg-load-modules: " + error)
        for p in problems:
            gdb.write("netdbg-load-modules: %s\n" % p)
        if not dirs:
            for m in mods:
                gdb.write("%016x  %-24s .text %016x  %d sections\n" % (m["addr"], m["name"], m["text"],
                                                                       len(m["sections"])))
            return
        files = _module_files(dirs)
        loaded = {os.path.realpath(o.filename) for o in gdb.objfiles() if o.filename}
        added, already, missing = [], [], []
        for m in mods:
            path = files.get(m["name"])
            if not path:
                missing.append(m["name"])
                continue
            path = _loadable_ko(path)
            _netdbg.name_module_file(path, m["name"])
            if os.path.realpath(path) in loaded:
                already.append(m["name"])
                continue
            sections = {name: addr for name, addr in m["sections"]}
            text = sections.pop(".text", m["text"])
            cmd = "add-symbol-file %s %#x" % (_quote(path), text)
            for name, addr in sorted(sections.items()):
                if addr:
                    cmd += " -s %s %#x" % (name, addr)
            gdb.execute(cmd, from_tty=False, to_string=True)
            added.append(m["name"])
        gdb.write("netdbg-load-modules: loaded %d: %s" % (len(added), " ".join(added) or "-"))
        if already:
            gdb.write("; already loaded: %s" % " ".join(already))
        if missing:
            gdb.write("; no .ko for: %s" % " ".join(missing))
        gdb.write("\n")


def _loadable_ko(path):
    """The .ko to give add-symbol-file: the file itself, or, when the module
    link left addresses in its section headers (6.12's .ko files have
    .data at 0x80), a copy with every sh_addr 0. gdb relocates the DWARF of
    a relocatable file with those addresses and then places every variable
    by .text's offset (nd_chain_mutex inside .text); the kernel's loader
    ignores sh_addr (layout_sections() places sections by size and
    alignment), and so does the copy."""
    import struct
    try:
        with open(path, "rb") as f:
            elf = bytearray(f.read())
        if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
            return path
        shoff, = struct.unpack_from("<Q", elf, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", elf, 0x3a)
        if shentsize < 24 or shoff + shnum * shentsize > len(elf):
            return path
        moved = False
        for i in range(shnum):
            at = shoff + i * shentsize + 16
            if struct.unpack_from("<Q", elf, at)[0]:
                struct.pack_into("<Q", elf, at, 0)
                moved = True
        if not moved:
            return path
        global _ko_dir
        if _ko_dir is None:
            import atexit
            import shutil
            import tempfile
            _ko_dir = tempfile.mkdtemp(prefix="netdbg-ko-")
            atexit.register(shutil.rmtree, _ko_dir, True)
        copy = os.path.join(_ko_dir, os.path.basename(path))
        if not os.path.exists(copy):
            with open(copy, "wb") as f:
                f.write(elf)
        return copy
    except (OSError, struct.error):
        return path


_ko_dir = None


def _quote(path):
    return path if re.fullmatch(r"[\w./+-]+", path) else '"%s"' % path.replace('"', '\\"')


# --- events: keep the core's caches true ---------------------------------------


def _on_run(event):
    _netdbg.drop_memory()  # a live target moved on; dumps keep their cache


def _on_new_objfile(event):
    _netdbg.forget_symbols(False)


def _on_clear_objfiles(event):
    _netdbg.forget_symbols(True)


def _connect(registry, handler):
    if registry is not None:
        registry.connect(handler)


_REGISTERED = globals().get("_REGISTERED")
if not _REGISTERED:
    for _entry in _netdbg.commands():
        _make_command(_entry)
    NetdbgKaslr()
    NetdbgLoadModules()
    _connect(getattr(gdb.events, "cont", None), _on_run)
    _connect(getattr(gdb.events, "stop", None), _on_run)
    _connect(getattr(gdb.events, "memory_changed", None), _on_run)
    _connect(getattr(gdb.events, "inferior_call", None), _on_run)
    _connect(getattr(gdb.events, "new_objfile", None), _on_new_objfile)
    _connect(getattr(gdb.events, "clear_objfiles", None), _on_clear_objfiles)
    _REGISTERED = True
