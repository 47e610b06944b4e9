// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private helpers that turn address strings (numeric or host names) into Asio UDP addresses.
#ifndef SPEAD2_OS_UDP_RESOLVE_H
#define SPEAD2_OS_UDP_RESOLVE_H

#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <asio.hpp>

namespace spead2::detail
{

/**
 * A numeric address as it is, a host name resolved (first result), or 0.0.0.0 for "".
 * @throws std::system_error "resolve: Host not found ..." when the name does not resolve
 */
inline asio::ip::address resolve_address(const std::string &host)
{
    if (host.empty())
        return asio::ip::address_v4::any();
    std::error_code ec;
    asio::ip::address addr = asio::ip::make_address(host, ec);
    if (!ec)
        return addr;
    asio::io_context io_context;
    asio::ip::udp::resolver resolver(io_context);
    auto results = resolver.resolve(host, "0"); // throws system_error("resolve: ...")
    return results.begin()->endpoint().address();
}

/// As resolve_address, for IPv4 only. @throws std::invalid_argument "<what> is not an IPv4 address: <host>"
inline asio::ip::address_v4 resolve_ipv4(const std::string &host, const char *what)
{
    const asio::ip::address a = resolve_address(host);
    if (!a.is_v4())
        throw std::invalid_argument(std::string(what) + " is not an IPv4 address: " + host);
    return a.to_v4();
}

inline asio::ip::udp::endpoint resolve_udp_endpoint(const std::string &host, std::uint16_t port)
{
    return asio::ip::udp::endpoint(resolve_address(host), port);
}

} // namespace spead2::detail

#endif // SPEAD2_OS_UDP_RESOLVE_H
