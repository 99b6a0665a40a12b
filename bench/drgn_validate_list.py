#!/usr/bin/python3
"""drgn baseline of `listcheck --count`: validate_list() (next->prev of every
entry) on a list head symbol.  argv: DUMP_DIR REPEATS SYMBOL.
The untimed first pass also counts the entries (validate_list_for_each)."""
import sys

import drgn.helpers
from drgn.helpers.linux.list import validate_list, validate_list_for_each

import drgnlib

SYMBOL = sys.argv[3] if len(sys.argv) > 3 else "nd_scale_big"
first = True


def check(prog):
    global first
    head = prog[SYMBOL].address_of_()
    if first:  # the answer, for the comparison with netdbg
        first = False
        n = 0
        try:
            for _ in validate_list_for_each(head):
                n += 1
            return {"count": n, "error": None}
        except drgn.helpers.ValidationError as e:
            return {"count": n, "error": str(e)}
    try:
        validate_list(head)
    except drgn.helpers.ValidationError:
        pass
    return None


drgnlib.main(check)
