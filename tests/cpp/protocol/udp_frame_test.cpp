// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The raw-frame layer: exact header bytes, round trips, and one test per drop reason.
#include <cstdint>
#include <random>
#include <vector>
#include <gtest/gtest.h>
#include <spead2/common/endian.h>
#include <spead2/protocol/udp_frame.h>

namespace spead2::frame::test
{
namespace
{

using bytes = std::vector<std::uint8_t>;

/// The textbook checksum: big-endian 16-bit words, end-around carry, odd byte padded with 0.
std::uint16_t reference_sum(const bytes &data, std::uint32_t initial = 0)
{
    std::uint64_t sum = initial;
    for (std::size_t i = 0; i < data.size(); i += 2)
        sum += std::uint32_t(data[i]) << 8 | (i + 1 < data.size() ? data[i + 1] : 0);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return std::uint16_t(sum);
}

frame_headers example_headers()
{
    frame_headers h;
    h.src_mac = {0x02, 0, 0, 0, 0, 1};
    h.dst_mac = {0x02, 0, 0, 0, 0, 2};
    h.src_address = 0xc0a80001; // 192.168.0.1
    h.dst_address = 0xc0a800c7; // 192.168.0.199
    h.src_port = 12345;
    h.dst_port = 8888;
    h.ttl = 64;
    return h;
}

/// A whole frame: the headers of @a h and @a payload_size bytes counting up from 0.
bytes build(const frame_headers &h, std::size_t payload_size, std::uint16_t ip_id = 0)
{
    bytes out(h.size() + payload_size);
    h.write(out.data(), payload_size, ip_id);
    for (std::size_t i = 0; i < payload_size; i++)
        out[h.size() + i] = std::uint8_t(i);
    return out;
}

/// Rewrites the IPv4 header checksum of an untagged Ethernet frame after a test edited it.
void fix_ip_checksum(bytes &f, std::size_t ip_offset = ethernet_header_size)
{
    const std::size_t ihl = std::size_t(f[ip_offset] & 0xf) * 4;
    store_be<std::uint16_t>(&f[ip_offset + 10], 0);
    bytes header(f.begin() + std::ptrdiff_t(ip_offset), f.begin() + std::ptrdiff_t(ip_offset + ihl));
    store_be<std::uint16_t>(&f[ip_offset + 10], std::uint16_t(~reference_sum(header)));
}

drop_reason parse(const bytes &f, const parse_options &options = {}, udp_frame *out = nullptr)
{
    udp_frame scratch;
    return parse_udp_frame(f.data(), f.size(), out ? *out : scratch, link_type::ethernet, options);
}

TEST(udp_frame, headers_have_exact_bytes)
{
    // The IPv4 header is the well-known checksum example (total length 0x73, checksum 0xb861).
    const bytes f = build(example_headers(), 0x73 - 28);
    const bytes expected = {0x02, 0,    0,    0,    0,    2,    0x02, 0,    0,    0,    0,    1,
                            0x08, 0x00, // Ethernet
                            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, // IPv4
                            0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,                         //
                            0x30, 0x39, 0x22, 0xb8, 0x00, 0x5f, 0x00, 0x00};                        // UDP
    ASSERT_EQ(example_headers().size(), 42u);
    EXPECT_EQ(bytes(f.begin(), f.begin() + 42), expected);
}

TEST(udp_frame, tagged_headers_have_exact_bytes)
{
    frame_headers h = example_headers();
    h.vlan = 0x123;
    h.vlan_priority = 5;
    h.dscp = 46;
    ASSERT_EQ(h.size(), 46u);
    const bytes f = build(h, 10, 0x1234);
    EXPECT_EQ(bytes(f.begin() + 12, f.begin() + 20), (bytes{0x81, 0x00, 0xa1, 0x23, 0x08, 0x00, 0x45, 0xb8}));
    EXPECT_EQ(load_be<std::uint16_t>(&f[18 + 4]), 0x1234); // identification
    EXPECT_EQ(reference_sum(bytes(f.begin() + 18, f.begin() + 38)), 0xffff);
}

TEST(udp_frame, round_trip)
{
    for (std::int32_t vlan : {-1, 0, 4095})
        for (std::size_t payload : {std::size_t(0), std::size_t(1), std::size_t(1472), max_udp_payload})
        {
            frame_headers h = example_headers();
            h.vlan = vlan;
            const bytes f = build(h, payload);
            udp_frame out;
            ASSERT_EQ(parse(f, {}, &out), drop_reason::accepted) << vlan << " " << payload;
            EXPECT_EQ(out.payload, f.data() + h.size());
            EXPECT_EQ(out.payload_size, payload);
            EXPECT_EQ(out.src_address, h.src_address);
            EXPECT_EQ(out.dst_address, h.dst_address);
            EXPECT_EQ(out.src_port, h.src_port);
            EXPECT_EQ(out.dst_port, h.dst_port);
            EXPECT_EQ(out.vlan, vlan);
        }
}

TEST(udp_frame, ethernet_padding_is_ignored)
{
    bytes f = build(example_headers(), 4);
    f.resize(60, 0); // the minimum Ethernet frame, padded
    udp_frame out;
    ASSERT_EQ(parse(f, {}, &out), drop_reason::accepted);
    EXPECT_EQ(out.payload_size, 4u);
}

TEST(udp_frame, cooked_captures)
{
    const bytes eth = build(example_headers(), 8);
    const bytes ip(eth.begin() + 14, eth.end());
    bytes sll = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0, 0x08, 0x00};
    sll.insert(sll.end(), ip.begin(), ip.end());
    bytes sll2 = {0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0};
    sll2.insert(sll2.end(), ip.begin(), ip.end());
    udp_frame out;
    EXPECT_EQ(parse_udp_frame(sll.data(), sll.size(), out, link_type::linux_sll), drop_reason::accepted);
    EXPECT_EQ(out.payload, sll.data() + 16 + 28);
    EXPECT_EQ(parse_udp_frame(sll2.data(), sll2.size(), out, link_type::linux_sll2), drop_reason::accepted);
    EXPECT_EQ(out.payload, sll2.data() + 20 + 28);
    EXPECT_EQ(parse_udp_frame(sll.data(), 15, out, link_type::linux_sll), drop_reason::runt);
    EXPECT_EQ(parse_udp_frame(sll2.data(), 19, out, link_type::linux_sll2), drop_reason::runt);
    EXPECT_EQ(parse_ipv4_udp(ip.data(), ip.size(), out), drop_reason::accepted);
    EXPECT_EQ(out.payload_size, 8u);
}

TEST(udp_frame, runts)
{
    const bytes f = build(example_headers(), 100);
    for (std::size_t size : {0, 13, 14, 33, 41, 141})
        EXPECT_EQ(parse(bytes(f.begin(), f.begin() + std::ptrdiff_t(size))), drop_reason::runt) << size;
    frame_headers h = example_headers();
    h.vlan = 7;
    const bytes tagged = build(h, 0);
    EXPECT_EQ(parse(bytes(tagged.begin(), tagged.begin() + 17)), drop_reason::runt);
}

TEST(udp_frame, other_ethertypes)
{
    bytes f = build(example_headers(), 8);
    for (std::uint16_t type : {0x0806, 0x86dd, 0x88cc})
    {
        store_be<std::uint16_t>(&f[12], type);
        EXPECT_EQ(parse(f), drop_reason::not_ipv4) << type;
    }
}

TEST(udp_frame, vlan_policy)
{
    frame_headers h = example_headers();
    h.vlan = 10;
    bytes tagged = build(h, 8);
    EXPECT_EQ(parse(tagged), drop_reason::accepted);
    EXPECT_EQ(parse(tagged, {.allow_vlan = false}), drop_reason::vlan);
    bytes stacked = tagged;
    store_be<std::uint16_t>(&stacked[16], ethertype_vlan);
    EXPECT_EQ(parse(stacked), drop_reason::vlan);
    bytes qinq = tagged;
    store_be<std::uint16_t>(&qinq[12], ethertype_qinq);
    EXPECT_EQ(parse(qinq), drop_reason::vlan);
}

TEST(udp_frame, bad_ip_headers)
{
    const bytes good = build(example_headers(), 8);
    bytes v6 = good;
    v6[14] = 0x65;
    fix_ip_checksum(v6);
    EXPECT_EQ(parse(v6), drop_reason::bad_ip_header);
    bytes short_ihl = good;
    short_ihl[14] = 0x44;
    EXPECT_EQ(parse(short_ihl), drop_reason::bad_ip_header);
    bytes short_total = good;
    store_be<std::uint16_t>(&short_total[16], 19);
    fix_ip_checksum(short_total);
    EXPECT_EQ(parse(short_total), drop_reason::bad_ip_header);
}

TEST(udp_frame, ip_options)
{
    // The same datagram with a 4-byte option (end of options list) after the fixed header.
    const bytes plain = build(example_headers(), 8);
    bytes f(plain.begin(), plain.begin() + 34);
    f.insert(f.end(), 4, 0);
    f.insert(f.end(), plain.begin() + 34, plain.end());
    f[14] = 0x46;
    store_be<std::uint16_t>(&f[16], std::uint16_t(f.size() - 14));
    fix_ip_checksum(f);
    EXPECT_EQ(parse(f), drop_reason::ip_options);
    udp_frame out;
    ASSERT_EQ(parse(f, {.allow_ip_options = true}, &out), drop_reason::accepted);
    EXPECT_EQ(out.payload, f.data() + 14 + 24 + 8);
    EXPECT_EQ(out.payload_size, 8u);
}

TEST(udp_frame, ip_checksum)
{
    bytes f = build(example_headers(), 8);
    f[14 + 8]++; // TTL
    EXPECT_EQ(parse(f), drop_reason::ip_checksum);
    EXPECT_EQ(parse(f, {.verify_ip_checksum = false}), drop_reason::accepted);
}

TEST(udp_frame, fragments)
{
    for (std::uint16_t flags : {0x2000, 0x0001, 0x1fff, 0x6000})
    {
        bytes f = build(example_headers(), 8);
        store_be<std::uint16_t>(&f[14 + 6], flags);
        fix_ip_checksum(f);
        EXPECT_EQ(parse(f), drop_reason::fragment) << flags;
    }
}

TEST(udp_frame, not_udp)
{
    bytes f = build(example_headers(), 8);
    f[14 + 9] = 6; // TCP
    fix_ip_checksum(f);
    EXPECT_EQ(parse(f), drop_reason::not_udp);
}

TEST(udp_frame, bad_udp_lengths)
{
    const bytes good = build(example_headers(), 8);
    for (std::uint16_t length : {0, 7, 17})
    {
        bytes f = good;
        store_be<std::uint16_t>(&f[34 + 4], length);
        EXPECT_EQ(parse(f), drop_reason::bad_udp_length) << length;
    }
    // An IP datagram too short to hold the UDP header at all.
    bytes f(good.begin(), good.begin() + 34 + 4);
    store_be<std::uint16_t>(&f[16], 24);
    fix_ip_checksum(f);
    EXPECT_EQ(parse(f), drop_reason::bad_udp_length);
    // A UDP length shorter than the datagram is what counts (trailing bytes are not payload).
    bytes shorter = good;
    store_be<std::uint16_t>(&shorter[34 + 4], 12);
    udp_frame out;
    ASSERT_EQ(parse(shorter, {}, &out), drop_reason::accepted);
    EXPECT_EQ(out.payload_size, 4u);
}

TEST(udp_frame, udp_checksum)
{
    bytes f = build(example_headers(), 9);
    const parse_options verify{.verify_udp_checksum = true};
    EXPECT_EQ(parse(f, verify), drop_reason::accepted); // 0: no checksum
    // Fill in the real checksum from the pseudo-header and the UDP segment.
    const bytes segment(f.begin() + 34, f.end());
    const std::uint32_t pseudo = 0xc0a8 + 0x0001 + 0xc0a8 + 0x00c7 + 17 + std::uint32_t(segment.size());
    store_be<std::uint16_t>(&f[34 + 6], std::uint16_t(~reference_sum(segment, pseudo)));
    EXPECT_EQ(parse(f, verify), drop_reason::accepted);
    f.back() ^= 1;
    EXPECT_EQ(parse(f, verify), drop_reason::udp_checksum);
    EXPECT_EQ(parse(f), drop_reason::accepted); // not verified by default
}

TEST(udp_frame, ones_complement_sum_matches_textbook)
{
    std::mt19937 rng(1);
    for (std::size_t size = 0; size < 70; size++)
    {
        bytes data(size);
        for (auto &b : data)
            b = std::uint8_t(rng());
        EXPECT_EQ(ones_complement_sum(data.data(), data.size(), 0x1234), reference_sum(data, 0x1234)) << size;
    }
}

TEST(udp_frame, multicast_mac)
{
    EXPECT_EQ(multicast_mac(0xef010203), (mac_address{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}));
    EXPECT_EQ(multicast_mac(0xef810203), (mac_address{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}));
}

TEST(udp_frame, reason_names)
{
    EXPECT_STREQ(drop_reason_name(drop_reason::ip_checksum), "ip checksum");
    for (std::size_t i = 0; i < drop_reason_count; i++)
        EXPECT_STRNE(drop_reason_name(drop_reason(i)), "unknown") << i;
}

} // namespace
} // namespace spead2::frame::test
