// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The raw-frame layer: Ethernet II (with at most one 802.1Q tag), IPv4 and UDP headers, parsed
/// and built in one place for every reader and writer that sees whole frames (pcap files,
/// AF_XDP, ibverbs). Pure code: no I/O, no allocation.
#ifndef SPEAD2_PROTOCOL_UDP_FRAME_H
#define SPEAD2_PROTOCOL_UDP_FRAME_H

#include <array>
#include <cstddef>
#include <cstdint>

namespace spead2::frame
{

constexpr std::size_t ethernet_header_size = 14;
constexpr std::size_t vlan_tag_size = 4;
constexpr std::size_t ipv4_header_size = 20; ///< without options
constexpr std::size_t udp_header_size = 8;
constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_vlan = 0x8100;
constexpr std::uint16_t ethertype_qinq = 0x88a8;
constexpr std::uint8_t ip_protocol_udp = 17;
/// The largest UDP payload an IPv4 datagram can carry.
constexpr std::size_t max_udp_payload = 65535 - ipv4_header_size - udp_header_size;

using mac_address = std::array<std::uint8_t, 6>;

/// How the bytes before the IP header look.
enum class link_type : std::uint8_t
{
    ethernet,   ///< Ethernet II, optionally with one 802.1Q tag
    linux_sll,  ///< Linux cooked capture v1 (pcap only)
    linux_sll2, ///< Linux cooked capture v2 (pcap only)
};

/// Why a frame is not an unfragmented IPv4/UDP datagram that can be used; `accepted` if it is.
enum class drop_reason : std::uint8_t
{
    accepted,
    runt,           ///< shorter than the headers it claims
    not_ipv4,       ///< ethertype other than IPv4 (ARP, IPv6, ...)
    vlan,           ///< an 802.1Q tag where none is allowed, or stacked tags
    bad_ip_header,  ///< IP version not 4, header length below 20 or total length inconsistent
    ip_options,     ///< an IPv4 header with options (header length above 20)
    ip_checksum,    ///< the IPv4 header checksum does not verify
    fragment,       ///< a fragment (more-fragments flag or a non-zero offset)
    not_udp,        ///< an IP protocol other than UDP
    bad_udp_length, ///< UDP length below 8 or beyond the IP datagram
    udp_checksum,   ///< a non-zero UDP checksum that does not verify
};
constexpr std::size_t drop_reason_count = std::size_t(drop_reason::udp_checksum) + 1;

/// A short lower-case name for @a reason ("runt", "ip checksum", ...), for messages and counters.
const char *drop_reason_name(drop_reason reason);

/// What the parser checks beyond the structure every frame must have.
struct parse_options
{
    bool allow_vlan = true;           ///< accept one 802.1Q tag (never more)
    bool allow_ip_options = false;    ///< accept IPv4 headers longer than 20 bytes
    bool verify_ip_checksum = true;   ///< check the IPv4 header checksum
    bool verify_udp_checksum = false; ///< check the UDP checksum when it is not 0 (costs a pass)
};

/// An accepted frame: where its UDP payload lies and who it is from and to.
struct udp_frame
{
    const std::uint8_t *payload = nullptr; ///< points into the parsed buffer
    std::size_t payload_size = 0;          ///< from the UDP length (link padding excluded)
    std::uint32_t src_address = 0;         ///< IPv4, host byte order
    std::uint32_t dst_address = 0;         ///< IPv4, host byte order
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::int32_t vlan = -1; ///< VLAN ID of the 802.1Q tag, or -1 if untagged
};

/**
 * Parses a frame of @a size bytes at @a data with link layer @a link. Every length is checked
 * against @a size; bytes after the IP datagram (Ethernet padding) are ignored.
 * @return `accepted` with @a out filled in, or why the frame cannot be used (@a out is then
 *         unspecified)
 */
drop_reason parse_udp_frame(const std::uint8_t *data, std::size_t size, udp_frame &out,
                            link_type link = link_type::ethernet, const parse_options &options = {});

/// Parses an IPv4 datagram (no link layer); as parse_udp_frame otherwise.
drop_reason parse_ipv4_udp(const std::uint8_t *data, std::size_t size, udp_frame &out,
                           const parse_options &options = {});

/// The Internet checksum (RFC 1071) of @a size bytes, folded, not complemented, starting from the
/// partial sum @a initial.
std::uint16_t ones_complement_sum(const std::uint8_t *data, std::size_t size, std::uint32_t initial = 0);

/// The Ethernet address that IPv4 multicast group @a group (host order) maps to (RFC 1112).
mac_address multicast_mac(std::uint32_t group);

/// The headers to put in front of UDP payloads: Ethernet (optionally tagged), IPv4, UDP.
struct frame_headers
{
    mac_address src_mac{};
    mac_address dst_mac{};
    std::int32_t vlan = -1;         ///< VLAN ID (0–4095) to tag with, or -1 for none
    std::uint8_t vlan_priority = 0; ///< 802.1p priority (0–7), used only when tagged
    std::uint32_t src_address = 0;  ///< host byte order
    std::uint32_t dst_address = 0;  ///< host byte order
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
    std::uint8_t ttl = 1;
    std::uint8_t dscp = 0; ///< differentiated services code point (0–63)

    /// Bytes of headers before the payload: 42, or 46 when tagged.
    std::size_t size() const
    {
        return ethernet_header_size + (vlan >= 0 ? vlan_tag_size : 0) + ipv4_header_size + udp_header_size;
    }

    /**
     * Writes size() bytes of headers to @a out for a payload of @a payload_size bytes (at most
     * max_udp_payload), with IP identification @a ip_id, the IPv4 header checksum filled in and
     * the UDP checksum 0 (none, as IPv4 allows).
     */
    void write(std::uint8_t *out, std::size_t payload_size, std::uint16_t ip_id = 0) const;
};

} // namespace spead2::frame

#endif // SPEAD2_PROTOCOL_UDP_FRAME_H
