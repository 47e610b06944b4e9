// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Endpoint strings of the tools: "host:port", a bare port for receivers, pcap file names.
#ifndef SPEAD2_TOOLS_CMDLINE_ENDPOINT_H
#define SPEAD2_TOOLS_CMDLINE_ENDPOINT_H

#include <cstdint>
#include <string>

namespace spead2::tools
{

/// A host (name or numeric address; empty means any) and a port.
struct endpoint
{
    std::string host;
    std::uint16_t port = 0;
};

/**
 * Splits "host:port" at the last colon (so "::1:8888" is host ::1); brackets around the host
 * ("[::1]:8888") are removed. With @a allow_bare_port a string without a colon is a port on any
 * address.
 * @throws std::invalid_argument naming the string if the port is missing or not a number in 0..65535
 */
endpoint parse_endpoint(const std::string &text, bool allow_bare_port);

/**
 * Whether a receiver source names a pcap file rather than an endpoint: its port part (after the
 * last colon, or the whole string without one) is not a number.
 */
bool is_pcap_source(const std::string &text);

/// Kinds of address a host string resolves to (numerically or through the resolver).
struct address_info
{
    bool ipv6 = false;
    bool multicast = false;
    bool unspecified = true; ///< empty host or 0.0.0.0 / ::
};

/// @throws std::invalid_argument if @a host does not resolve
address_info classify_host(const std::string &host);

} // namespace spead2::tools

#endif // SPEAD2_TOOLS_CMDLINE_ENDPOINT_H
