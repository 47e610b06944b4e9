#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Writes packets.txt: golden packets from the reference spead2 (used as a black box).

Run with the reference venv:  .cache/ref-venv/bin/python tests/data/send/make_golden.py

Each case describes a heap in a small line format that tests/cpp/send/packet_generator_test.cpp
rebuilds with our C++ API, followed by what spead2.send.PacketGenerator produced for it:

    case <name>
    flavour <heap_address_bits> <bug_compat>
    cnt <cnt>
    mps <max_packet_size>
    repeat <0|1>
    item <id> <allow_immediate 0|1> <data>     data = hex bytes, '-' for empty, or pat:<len>:<seed>
    inline <id> <value>                        an integer immediate (C++ item(id, value))
    start | end                                add_start() / add_end()
    descriptor <id> <name> <description> <format> <shape> <numpy_header>
                                               text fields hex encoded ('-' = empty); format is
                                               code:bits,... ; shape is n,n,... (-1 = variable)
    error <message>                            PacketGenerator raised ValueError(message)
    fixed <index> ...                          packets whose padding order we corrected (below)
    packets <count> <total bytes> <fnv1a-64 of all packets concatenated, hex>
    sizes <size> <size> ...
    packet <index> <hex>                       all packets when small, else the first two and last
    endcase

Known difference: when a heap needs NULL padding and a packet holds both the end of the real
payload and some padding, spead2 4.5.1 writes the padding zeros *before* the real bytes in that
packet, so a receiver (spead2's included) reads shifted, wrong item values. We write the real bytes
first (where the item pointers say they are) and the padding after. Such packets are rewritten
here (after checking that the reference bytes are exactly the shifted form) and listed on a
'fixed' line.
"""

import os

import numpy as np
import spead2
import spead2.send

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL = 6000  # store every packet when the heap's packets total at most this many bytes


def pattern(length, seed):
    return bytes((i * 31 + seed) & 0xFF for i in range(length))


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


class RawItem:
    """Anything with id, to_buffer() and allow_immediate() can go in a reference Heap."""

    def __init__(self, id, data, imm):
        self.id = id
        self.data = data
        self.imm = imm

    def to_buffer(self):
        return self.data

    def allow_immediate(self):
        return self.imm


def hexfield(s):
    return s.encode().hex() if s else '-'


class Case:
    def __init__(self, name, hab=40, bug_compat=0, cnt=1, mps=1472, repeat=False):
        self.name = name
        self.hab = hab
        self.bug_compat = bug_compat
        self.cnt = cnt
        self.mps = mps
        self.repeat = repeat
        self.ops = []  # (line, function applied to the reference heap)

    def item(self, id, data, imm):
        if isinstance(data, tuple):
            text = 'pat:%d:%d' % data
            data = pattern(*data)
        else:
            text = data.hex() if data else '-'
        self.ops.append(('item %d %d %s' % (id, int(imm), text), lambda h: h.add_item(RawItem(id, data, imm))))
        return self

    def inline(self, id, value):
        raw = (value & ((1 << self.hab) - 1)).to_bytes(self.hab // 8, 'big')
        self.ops.append(('inline %d %d' % (id, value), lambda h: h.add_item(RawItem(id, raw, True))))
        return self

    def start(self):
        self.ops.append(('start', lambda h: h.add_start()))
        return self

    def end(self):
        self.ops.append(('end', lambda h: h.add_end()))
        return self

    def descriptor(self, id, name, description, shape, format=None, dtype=None):
        d = spead2.Descriptor(id, name, description, shape, dtype=dtype, format=format)
        numpy_header = ''
        if dtype is not None:
            # Our C++ test takes the header verbatim, so record the one the reference writes:
            # the dtype's own byte order, swapped under BUG_COMPAT_SWAP_ENDIAN.
            dt = np.dtype(dtype)
            if self.bug_compat & spead2.BUG_COMPAT_SWAP_ENDIAN:
                dt = dt.newbyteorder()
            numpy_header = "{'descr': %r, 'fortran_order': False, 'shape': %r}" % (
                np.lib.format.dtype_to_descr(dt),
                tuple(shape),
            )

        fmt = ','.join('%s:%d' % f for f in format) if format else '-'
        shp = ','.join('-1' if s is None else str(s) for s in shape) if shape else '-'
        line = 'descriptor %d %s %s %s %s %s' % (
            id, hexfield(name), hexfield(description), fmt, shp, hexfield(numpy_header))
        self.ops.append((line, lambda h: h.add_descriptor(d)))
        return self

    def fix_padding_order(self, packet):
        n = int.from_bytes(packet[6:8], 'big')
        fields = {}
        for k in range(n):
            word = int.from_bytes(packet[8 + 8 * k:16 + 8 * k], 'big')
            fields[(word >> 63, (word >> self.hab) & ((1 << (63 - self.hab)) - 1))] = word & ((1 << self.hab) - 1)
        offset, length = fields[(1, 3)], fields[(1, 4)]
        payload = self.real_payload
        if payload is None:
            return packet
        real = max(0, min(length, payload - offset))
        if real == 0 or real == length:
            return packet
        start = 8 + 8 * n
        pad = length - real
        assert packet[start:start + pad] == bytes(pad), 'unexpected padding layout'
        return packet[:start] + packet[start + pad:] + bytes(pad)

    def write(self, out):
        out.append('case %s' % self.name)
        out.append('flavour %d %d' % (self.hab, self.bug_compat))
        out.append('cnt %d' % self.cnt)
        out.append('mps %d' % self.mps)
        out.append('repeat %d' % int(self.repeat))
        flavour = spead2.Flavour(4, 64, self.hab, self.bug_compat)
        heap = spead2.send.Heap(flavour)
        heap.repeat_pointers = self.repeat
        for line, fn in self.ops:
            out.append(line)
            fn(heap)
        try:
            packets = [bytes(p) for p in spead2.send.PacketGenerator(heap, self.cnt, self.mps)]
        except ValueError as exc:
            out.append('error %s' % exc)
        else:
            # The real payload ends where the NULL padding pointer (addressed, ID 0) points.
            self.real_payload = None
            for p in packets:
                n = int.from_bytes(p[6:8], 'big')
                for k in range(n):
                    word = int.from_bytes(p[8 + 8 * k:16 + 8 * k], 'big')
                    if word >> self.hab == 0:
                        self.real_payload = word
            fixed = []
            for i, p in enumerate(packets):
                fixed_packet = self.fix_padding_order(p)
                if fixed_packet != p:
                    fixed.append(i)
                    packets[i] = fixed_packet
            if fixed:
                out.append('fixed ' + ' '.join(str(i) for i in fixed))
            allbytes = b''.join(packets)
            out.append('packets %d %d %016x' % (len(packets), len(allbytes), fnv1a64(allbytes)))
            out.append('sizes ' + ' '.join(str(len(p)) for p in packets))
            if len(allbytes) <= SMALL:
                keep = range(len(packets))
            else:
                keep = sorted({0, 1, len(packets) - 1})
            for i in keep:
                out.append('packet %d %s' % (i, packets[i].hex()))
        out.append('endcase')


def cases():
    yield Case('empty')
    yield Case('empty_cnt_wraps', cnt=(1 << 40) + 5)
    yield Case('start').start()
    yield Case('end').end()
    yield Case('start_end_with_data').start().item(0x1000, b'hello', False).end()
    for hab in (40, 48, 56):
        b = 0x1000 if hab < 56 else 0x20  # SPEAD-64-56 has 7-bit item IDs
        for n in range(0, hab // 8 + 2):
            yield Case('imm_%d_hab%d' % (n, hab), hab=hab).item(b, pattern(n, n), True)
        yield Case('inline_hab%d' % hab, hab=hab).inline(b + 1, 0x123456789ABCDEF0).inline(b + 2, 7)
        yield Case('mixed_hab%d' % hab, hab=hab, cnt=(1 << hab) - 1).item(b, b'\x01\x02', True).item(
            b + 1, pattern(100, 3), False).inline(b + 2, 42).item(b + 3, b'', False).item(
            b + 4, b'xyz', False).item(b + 5, b'', True)
    yield Case('id_masked').item(1 << 23, b'abc', True).item((1 << 23) + 0x1000, b'abcdefgh', False)
    yield Case('addressed_only', mps=200).item(0x1000, pattern(700, 1), False).item(0x1001, pattern(33, 2), False)
    yield Case('mps_not_multiple_of_8', mps=203).item(0x1000, pattern(700, 1), False)
    yield Case('mps_1473').item(0x1000, pattern(5000, 9), False)
    yield Case('mps_55', mps=55)
    yield Case('mps_56', mps=56)
    yield Case('mps_56_data', mps=63).item(0x1000, pattern(40, 4), False).item(0x1001, b'ab', True)
    # Many pointers: they spread over packets, and padding keeps a byte of payload in each.
    for n_imm, length in [(5, 0), (6, 0), (7, 0), (10, 0), (11, 5), (11, 9), (12, 8), (12, 9),
                          (12, 17), (13, 30), (20, 3)]:
        c = Case('spread_%d_%d' % (n_imm, length), mps=96)
        for i in range(n_imm):
            c.item(0x1000 + i, bytes([i, i + 1]), True)
        if length:
            c.item(0x800, pattern(length, 5), False)
        yield c
    c = Case('spread_300_imm')
    for i in range(300):
        c.item(0x1000 + i, b'ab', True)
    yield c
    c = Case('spread_300_addr', mps=512)
    for i in range(300):
        c.item(0x1000 + i, bytes([i & 0xFF, 7]), False)
    yield c
    yield Case('one_mib', mps=8192).item(0x1000, (1 << 20, 11), False).inline(0x1001, 12345)
    # repeat_pointers
    yield Case('repeat_basic', mps=96, repeat=True).item(0x1000, b'abc', True).item(
        0x1001, pattern(100, 6), False).item(0x1002, pattern(50, 7), False)
    yield Case('repeat_empty_payload', mps=96, repeat=True).item(0x1000, b'', True).item(
        0x1001, b'', True).item(0x1002, b'', True).item(0x1003, b'', True).item(0x1004, b'', True)
    yield Case('repeat_too_many', mps=96, repeat=True).item(0x1000, b'', True).item(
        0x1001, b'', True).item(0x1002, b'', True).item(0x1003, b'', True).item(0x1004, b'', True).item(
        0x1005, b'', True)
    yield Case('repeat_too_many_data', mps=96, repeat=True).item(0x1000, b'', True).item(
        0x1001, b'', True).item(0x1002, b'', True).item(0x1003, b'', True).item(0x1004, b'', True).item(
        0x1005, b'x' * 40, False)
    yield Case('repeat_fits', mps=96, repeat=True).item(0x1000, b'', True).item(
        0x1001, b'', True).item(0x1002, b'', True).item(0x1003, b'', True).item(0x1005, b'x' * 40, False)
    # Descriptors in several flavours.
    for hab in (40, 48, 56):
        for bc in (0, 7):
            c = Case('descriptors_hab%d_bc%d' % (hab, bc), hab=hab, bug_compat=bc)
            b = 0x1000 if hab < 56 else 0x20
            c.descriptor(b, 'counter', 'A counter', (), format=[('u', 32)])
            c.descriptor(b + 1, 'matrix', 'A matrix of numbers', (2, 3), format=[('i', 16), ('u', 8)])
            c.descriptor(b + 2, 'varlen', '', (None, 4), format=[('f', 64)])
            c.descriptor(b + 3, 'numpy', 'numpy header', (2, 3), dtype='>u2')
            c.item(b, b'\x00\x00\x00\x05', True)
            yield c


def main():
    out = []
    for case in cases():
        case.write(out)
    path = os.path.join(HERE, 'packets.txt')
    with open(path, 'w') as f:
        f.write('# Generated by make_golden.py from spead2 %s; do not edit.\n' % spead2.__version__)
        f.write('\n'.join(out) + '\n')
    print('wrote', path, os.path.getsize(path), 'bytes')


if __name__ == '__main__':
    main()
