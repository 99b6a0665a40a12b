// The one place crash's defs.h is included. defs.h is C, defines hundreds
// of macros (error, INFO, SIZE, OFFSET, MAX, ...) and uses C++ keywords as
// member names, so:
//   - include every C++ header you need BEFORE this file;
//   - never include this file from a header (crash_*.h stay crash-free).
#pragma once

#ifndef X86_64
#error "crash's defs.h needs the architecture macro (the build defines X86_64)"
#endif

// crash 8.0.2 embeds gdb 10.2; the type_code enum in defs.h depends on it.
#ifndef GDB_10_2
#define GDB_10_2
#endif

extern "C" {
#define private private_
#define class class_
#include <crash/defs.h>
#undef private
#undef class
}

// Macros that collide with ordinary C++ code. error() is __error().
#undef error
#undef SIZE
#undef OFFSET
#undef MAX
#undef MIN
#undef BITS
#undef TRUE
#undef FALSE
