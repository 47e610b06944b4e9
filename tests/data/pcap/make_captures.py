#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-3.0-or-later
"""Writes the small captures in this folder (run it here; standard library only).

heaps_ethernet.pcap  Ethernet (DLT_EN10MB): heaps 1-5, one packet each, one UDP datagram
                     each, plus a TCP frame (filtered out) and one record truncated by the
                     capture (caplen < len).
heaps_sll_gso.pcap   Linux cooked (DLT_LINUX_SLL): the same heaps, 1 and 2 in datagrams of
                     their own, 3-5 coalesced into one datagram as a UDP GSO sender's
                     super-datagram appears in a loopback capture.

Heap c (SPEAD-64-40) has item 0x1000 = c * 10 bytes of the digit c, and immediate
item 0x1001 = c.
"""

import struct

DLT_EN10MB = 1
DLT_LINUX_SLL = 113


def spead_packet(cnt):
    payload = bytes([ord("0") + cnt]) * (cnt * 10)
    imm = lambda i, v: (1 << 63) | (i << 40) | v  # noqa: E731
    pointers = [imm(1, cnt), imm(2, len(payload)), imm(3, 0), imm(4, len(payload)),
                (0x1000 << 40) | 0, imm(0x1001, cnt)]
    header = (0x5304 << 48) | (3 << 40) | (5 << 32) | len(pointers)
    return struct.pack(">Q", header) + b"".join(struct.pack(">Q", p) for p in pointers) + payload


def ip_udp(payload, protocol=17):
    udp = struct.pack(">HHHH", 12345, 8888, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, protocol, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    return ip + udp


def link(dlt, body):
    if dlt == DLT_EN10MB:
        return bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0]) + body
    return struct.pack(">HHH8sH", 0, 1, 6, bytes([2, 0, 0, 0, 0, 2, 0, 0]), 0x0800) + body


def write(name, dlt, records):
    with open(name, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, dlt))
        for i, (data, caplen) in enumerate(records):
            f.write(struct.pack("<IIII", 1700000000, i, caplen, len(data)))
            f.write(data[:caplen])


def main():
    eth = [link(DLT_EN10MB, ip_udp(spead_packet(c))) for c in range(1, 6)]
    eth.insert(2, link(DLT_EN10MB, ip_udp(spead_packet(9), protocol=6)))
    truncated = link(DLT_EN10MB, ip_udp(spead_packet(8)))
    records = [(d, len(d)) for d in eth]
    records.insert(4, (truncated, 60))
    write("heaps_ethernet.pcap", DLT_EN10MB, records)

    sll = [link(DLT_LINUX_SLL, ip_udp(spead_packet(c))) for c in (1, 2)]
    sll.append(link(DLT_LINUX_SLL, ip_udp(b"".join(spead_packet(c) for c in (3, 4, 5)))))
    write("heaps_sll_gso.pcap", DLT_LINUX_SLL, [(d, len(d)) for d in sll])


if __name__ == "__main__":
    main()
