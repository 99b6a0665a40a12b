"""The notes and memory of an ELF core file (PT_NOTE and PT_LOAD segments),
parsed with struct only: the tests' own reader of what QEMU or the kernel
wrote there, apart from netdbg, crash and gdb."""
import struct

PT_LOAD = 1
PT_NOTE = 4


def _segments(f, path):
    """(p_type, p_offset, p_vaddr, p_filesz) of every program header."""
    eh = f.read(64)
    assert eh[:4] == b"\x7fELF" and eh[4] == 2, f"{path} is not a 64-bit ELF file"
    phoff, = struct.unpack_from("<Q", eh, 32)
    phentsize, phnum = struct.unpack_from("<HH", eh, 54)
    headers = []
    for i in range(phnum):
        f.seek(phoff + i * phentsize)
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack("<IIQQQQ", f.read(40))
        headers.append((p_type, p_offset, p_vaddr, p_filesz))
    return headers


def elf_notes(path):
    """(name, type, desc bytes) of every note, in file order."""
    with open(path, "rb") as f:
        for p_type, p_offset, _, p_filesz in _segments(f, path):
            if p_type != PT_NOTE:
                continue
            f.seek(p_offset)
            notes = f.read(p_filesz)
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
        for p_type, p_offset, p_vaddr, p_filesz in _segments(f, path):
            if p_type == PT_LOAD and p_vaddr <= vaddr and vaddr + size <= p_vaddr + p_filesz:
                f.seek(p_offset + vaddr - p_vaddr)
                return f.read(size)
    return None
