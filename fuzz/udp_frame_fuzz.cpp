// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Fuzz target: parse_udp_frame on arbitrary bytes under every link type and policy. The first
/// byte picks the link type and options; the rest is the frame. An accepted frame must lie
/// inside the input and survive a rebuild: headers written by frame_headers for the parsed
/// addresses and payload parse back to the same values.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <spead2/protocol/udp_frame.h>

namespace
{

void check(bool condition)
{
    if (!condition)
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    using namespace spead2::frame;
    if (size < 1)
        return 0;
    const std::uint8_t control = data[0];
    data++;
    size--;
    const link_type link = link_type((control & 3) % 3);
    parse_options options;
    options.allow_vlan = control & 4;
    options.allow_ip_options = control & 8;
    options.verify_ip_checksum = control & 16;
    options.verify_udp_checksum = control & 32;

    udp_frame f;
    const drop_reason reason = parse_udp_frame(data, size, f, link, options);
    check(std::size_t(reason) < drop_reason_count);
    if (reason != drop_reason::accepted)
        return 0;
    check(f.payload >= data && f.payload + f.payload_size <= data + size);
    check(f.payload_size <= max_udp_payload);
    check(f.vlan >= -1 && f.vlan < 4096);
    check(link == link_type::ethernet || f.vlan == -1);

    frame_headers h;
    h.vlan = f.vlan;
    h.src_address = f.src_address;
    h.dst_address = f.dst_address;
    h.src_port = f.src_port;
    h.dst_port = f.dst_port;
    std::vector<std::uint8_t> rebuilt(h.size() + f.payload_size);
    h.write(rebuilt.data(), f.payload_size, std::uint16_t(size));
    if (f.payload_size)
        std::memcpy(rebuilt.data() + h.size(), f.payload, f.payload_size);
    udp_frame g;
    parse_options strict;
    strict.verify_udp_checksum = true;
    check(parse_udp_frame(rebuilt.data(), rebuilt.size(), g, link_type::ethernet, strict) ==
          drop_reason::accepted);
    check(g.payload_size == f.payload_size && g.src_address == f.src_address &&
          g.dst_address == f.dst_address);
    check(g.src_port == f.src_port && g.dst_port == f.dst_port && g.vlan == f.vlan);
    check(f.payload_size == 0 || std::memcmp(g.payload, f.payload, f.payload_size) == 0);
    return 0;
}
