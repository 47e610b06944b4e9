#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Writes the seed corpora fuzz/corpus/{packet_header,descriptor,numpy_header}/ from the golden
files in this folder (plain Python, no spead2 needed): python3 tests/data/protocol/make_seeds.py"""

import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE.parents[2] / "fuzz" / "corpus"


def read(path):
    entries = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            entries.setdefault(key, []).append(value)
    return entries


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def main():
    for path in sorted(HERE.glob("*.txt")):
        g = read(path)
        for i, packet_hex in enumerate(g["packet"]):
            packet = bytes.fromhex(packet_hex)
            write("packet_header", f"{path.stem}_{i}", packet)
            if path.stem.startswith("descriptor_"):
                n_items = struct.unpack(">H", packet[6:8])[0]
                assert n_items == 5, path
                value = packet[8 + 8 * n_items:]
                bug_compat = int(g["bug_compat"][0])
                write("descriptor", path.stem, bytes([bug_compat]) + value)
                header = bytes.fromhex(g["numpy_header"][0])
                if header:
                    write("numpy_header", path.stem, header)
    # Hand-made packets: truncated, and specials at the end (64-40).
    packet = bytes.fromhex("5304030500000004" "8000010000000007" "8000020000000010"
                           "800003000000000d" "8000040000000003" "616263")
    write("packet_header", "truncated", packet[:-1])
    write("packet_header", "specials_last", bytes.fromhex(
        "5304030500000005" "0000330000000000" "8000040000000003" "8000030000000000"
        "8000010000000001" "8000020000000003" "616263"))
    for name, text in [
        ("nested", "{'descr': [('a', [('b', '<u1', (2, 3))])], 'fortran_order': False, 'shape': (1,)}"),
        ("escapes", "{'descr': '\\x00\\u00e9\\U0001f600\\'\"\\\\', 'fortran_order': True, 'shape': ()}"),
        ("malicious", "__import__('os').system('true')"),
        ("duplicates", "{1: 'a', True: 'b', (1, 'x'): None, 'descr': -9223372036854775808}"),
    ]:
        write("numpy_header", name, text.encode())


if __name__ == "__main__":
    main()
