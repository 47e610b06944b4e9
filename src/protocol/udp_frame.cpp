// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Parsing and building Ethernet/IPv4/UDP frames (see udp_frame.h).
#include <bit>
#include <cstring>
#include <spead2/common/endian.h>
#include <spead2/protocol/udp_frame.h>

namespace spead2::frame
{

const char *drop_reason_name(drop_reason reason)
{
    switch (reason)
    {
    case drop_reason::accepted:
        return "accepted";
    case drop_reason::runt:
        return "runt";
    case drop_reason::not_ipv4:
        return "not ipv4";
    case drop_reason::vlan:
        return "vlan";
    case drop_reason::bad_ip_header:
        return "bad ip header";
    case drop_reason::ip_options:
        return "ip options";
    case drop_reason::ip_checksum:
        return "ip checksum";
    case drop_reason::fragment:
        return "fragment";
    case drop_reason::not_udp:
        return "not udp";
    case drop_reason::bad_udp_length:
        return "bad udp length";
    case drop_reason::udp_checksum:
        return "udp checksum";
    }
    return "unknown";
}

std::uint16_t ones_complement_sum(const std::uint8_t *data, std::size_t size, std::uint32_t initial)
{
    // Native-order words summed with end-around carry give the byte-swapped big-endian sum
    // (RFC 1071 §2(B)), so the loop needs no swapping; one swap at the end.
    std::uint64_t sum = 0;
    std::size_t i = 0;
    for (; i + 4 <= size; i += 4)
    {
        std::uint32_t word;
        std::memcpy(&word, data + i, 4);
        sum += word;
    }
    if (i + 2 <= size)
    {
        std::uint16_t half;
        std::memcpy(&half, data + i, 2);
        sum += half;
        i += 2;
    }
    if (i < size)
    {
        const std::uint8_t last[2] = {data[i], 0};
        std::uint16_t half;
        std::memcpy(&half, last, 2);
        sum += half;
    }
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    std::uint32_t be_sum = std::uint16_t(sum);
    if constexpr (std::endian::native == std::endian::little)
        be_sum = std::uint16_t((be_sum >> 8) | (be_sum << 8));
    be_sum += initial;
    while (be_sum >> 16)
        be_sum = (be_sum & 0xffff) + (be_sum >> 16);
    return std::uint16_t(be_sum);
}

drop_reason parse_ipv4_udp(const std::uint8_t *data, std::size_t size, udp_frame &out,
                           const parse_options &options)
{
    if (size < ipv4_header_size)
        return drop_reason::runt;
    const std::size_t header_size = std::size_t(data[0] & 0xf) * 4;
    if ((data[0] >> 4) != 4 || header_size < ipv4_header_size)
        return drop_reason::bad_ip_header;
    const std::size_t total_size = load_be<std::uint16_t>(data + 2);
    if (total_size > size)
        return drop_reason::runt;
    if (total_size < header_size)
        return drop_reason::bad_ip_header;
    if (header_size > ipv4_header_size && !options.allow_ip_options)
        return drop_reason::ip_options;
    if (options.verify_ip_checksum && ones_complement_sum(data, header_size) != 0xffff)
        return drop_reason::ip_checksum;
    if (load_be<std::uint16_t>(data + 6) & 0x3fff) // more-fragments flag or fragment offset
        return drop_reason::fragment;
    if (data[9] != ip_protocol_udp)
        return drop_reason::not_udp;
    const std::uint8_t *udp = data + header_size;
    if (total_size - header_size < udp_header_size)
        return drop_reason::bad_udp_length;
    const std::size_t udp_size = load_be<std::uint16_t>(udp + 4);
    if (udp_size < udp_header_size || udp_size > total_size - header_size)
        return drop_reason::bad_udp_length;
    out.src_address = load_be<std::uint32_t>(data + 12);
    out.dst_address = load_be<std::uint32_t>(data + 16);
    if (options.verify_udp_checksum && load_be<std::uint16_t>(udp + 6) != 0)
    {
        // Pseudo-header: addresses, protocol and UDP length, then the UDP header and payload.
        std::uint32_t pseudo = (out.src_address >> 16) + (out.src_address & 0xffff) +
                               (out.dst_address >> 16) + (out.dst_address & 0xffff) + ip_protocol_udp +
                               std::uint32_t(udp_size);
        if (ones_complement_sum(udp, udp_size, pseudo) != 0xffff)
            return drop_reason::udp_checksum;
    }
    out.src_port = load_be<std::uint16_t>(udp);
    out.dst_port = load_be<std::uint16_t>(udp + 2);
    out.payload = udp + udp_header_size;
    out.payload_size = udp_size - udp_header_size;
    return drop_reason::accepted;
}

drop_reason parse_udp_frame(const std::uint8_t *data, std::size_t size, udp_frame &out, link_type link,
                            const parse_options &options)
{
    std::size_t offset = 0;
    std::uint16_t ethertype = 0;
    std::int32_t vlan = -1;
    switch (link)
    {
    case link_type::ethernet:
        if (size < ethernet_header_size)
            return drop_reason::runt;
        ethertype = load_be<std::uint16_t>(data + 12);
        offset = ethernet_header_size;
        if (ethertype == ethertype_vlan || ethertype == ethertype_qinq)
        {
            if (!options.allow_vlan || ethertype == ethertype_qinq)
                return drop_reason::vlan;
            if (size < ethernet_header_size + vlan_tag_size)
                return drop_reason::runt;
            vlan = load_be<std::uint16_t>(data + 14) & 0xfff;
            ethertype = load_be<std::uint16_t>(data + 16);
            offset += vlan_tag_size;
            if (ethertype == ethertype_vlan || ethertype == ethertype_qinq)
                return drop_reason::vlan;
        }
        break;
    case link_type::linux_sll:
        if (size < 16)
            return drop_reason::runt;
        ethertype = load_be<std::uint16_t>(data + 14);
        offset = 16;
        break;
    case link_type::linux_sll2:
        if (size < 20)
            return drop_reason::runt;
        ethertype = load_be<std::uint16_t>(data);
        offset = 20;
        break;
    }
    if (ethertype != ethertype_ipv4)
        return drop_reason::not_ipv4;
    const drop_reason reason = parse_ipv4_udp(data + offset, size - offset, out, options);
    out.vlan = vlan;
    return reason;
}

mac_address multicast_mac(std::uint32_t group)
{
    return {
        0x01, 0x00, 0x5e, std::uint8_t((group >> 16) & 0x7f), std::uint8_t(group >> 8), std::uint8_t(group)};
}

void frame_headers::write(std::uint8_t *out, std::size_t payload_size, std::uint16_t ip_id) const
{
    std::memcpy(out, dst_mac.data(), 6);
    std::memcpy(out + 6, src_mac.data(), 6);
    std::uint8_t *p = out + 12;
    if (vlan >= 0)
    {
        store_be<std::uint16_t>(p, ethertype_vlan);
        store_be<std::uint16_t>(p + 2, std::uint16_t((vlan_priority & 7) << 13 | (vlan & 0xfff)));
        p += vlan_tag_size;
    }
    store_be<std::uint16_t>(p, ethertype_ipv4);
    p += 2;

    std::uint8_t *ip = p;
    ip[0] = 0x45;
    ip[1] = std::uint8_t((dscp & 0x3f) << 2);
    store_be<std::uint16_t>(ip + 2, std::uint16_t(ipv4_header_size + udp_header_size + payload_size));
    store_be<std::uint16_t>(ip + 4, ip_id);
    store_be<std::uint16_t>(ip + 6, 0x4000); // don't fragment
    ip[8] = ttl;
    ip[9] = ip_protocol_udp;
    store_be<std::uint16_t>(ip + 10, 0);
    store_be<std::uint32_t>(ip + 12, src_address);
    store_be<std::uint32_t>(ip + 16, dst_address);
    store_be<std::uint16_t>(ip + 10, std::uint16_t(~ones_complement_sum(ip, ipv4_header_size)));

    std::uint8_t *udp = ip + ipv4_header_size;
    store_be<std::uint16_t>(udp, src_port);
    store_be<std::uint16_t>(udp + 2, dst_port);
    store_be<std::uint16_t>(udp + 4, std::uint16_t(udp_header_size + payload_size));
    store_be<std::uint16_t>(udp + 6, 0);
}

} // namespace spead2::frame
