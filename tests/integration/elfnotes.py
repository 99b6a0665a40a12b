"""The notes and memory of an ELF core file (PT_NOTE and PT_LOAD segments),
parsed with struct only: the tests' own reader of what QEMU or the kernel
wrote there, apart from netdbg, crash and gdb."""
import struct

from collections import namedtuple

PT_LOAD = 1
PT_NOTE = 4
ELF_PHDR = "<IIQQQQQQ"
Phdr = namedtuple("Phdr", "type flags offset vaddr paddr filesz memsz align")


def program_headers(f, path):
    """The Phdr of every program header of the open ELF core f."""
    f.seek(0)
    eh = f.read(64)
    assert eh[:4] == b"\x7fELF" and eh[4] == 2, f"{path} is not a 64-bit ELF file"
    phoff, = struct.unpack_from("<Q", eh, 32)
    phentsize, phnum = struct.unpack_from("<HH", eh, 54)
    f.seek(phoff)
    table = f.read(phentsize * phnum)
    return [Phdr(*struct.unpack_from(ELF_PHDR, table, i * phentsize)) for i in range(phnum)]


def elf_notes(path):
    """(name, type, desc bytes) of every note, in file order."""
    with open(path, "rb") as f:
        for p in program_headers(f, path):
            if p.type != PT_NOTE:
                continue
            f.seek(p.offset)
            notes = f.read(p.filesz)
            pos = 0
            while pos + 12 <= len(notes):
                namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
                name = notes[pos + 12:pos + 12 + namesz].rstrip(b"\0")
                desc_at = pos + 12 + ((namesz + 3) & ~3)
                yield name, ntype, notes[desc_at:desc_at + descsz]
                pos = desc_at + ((descsz + 3) & ~3)


def elf_read(path, vaddr, size):
    """The size bytes at virtual address vaddr of an ELF core's PT_LOAD
    segments, or None when no segment holds them in the file."""
    with open(path, "rb") as f:
        for p in program_headers(f, path):
            if p.type == PT_LOAD and p.vaddr <= vaddr and vaddr + size <= p.vaddr + p.filesz:
                f.seek(p.offset + vaddr - p.vaddr)
                return f.read(size)
    return None
