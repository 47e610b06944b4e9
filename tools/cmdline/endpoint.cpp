// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Endpoint strings of the tools.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cctype>
#include <cstring>
#include <stdexcept>
#include "endpoint.h"

namespace spead2::tools
{

namespace
{

bool parse_port(const std::string &text, std::uint16_t &port)
{
    if (text.empty() || text.size() > 5)
        return false;
    unsigned long value = 0;
    for (char c : text)
    {
        if (!std::isdigit(static_cast<unsigned char>(c)))
            return false;
        value = value * 10 + (c - '0');
    }
    if (value > 65535)
        return false;
    port = std::uint16_t(value);
    return true;
}

} // namespace

endpoint parse_endpoint(const std::string &text, bool allow_bare_port)
{
    endpoint ep;
    auto pos = text.rfind(':');
    std::string port_text;
    if (pos == std::string::npos)
    {
        if (!allow_bare_port)
            throw std::invalid_argument("Endpoint '" + text + "' is not of the form host:port");
        port_text = text;
    }
    else
    {
        ep.host = text.substr(0, pos);
        port_text = text.substr(pos + 1);
        if (ep.host.size() >= 2 && ep.host.front() == '[' && ep.host.back() == ']')
            ep.host = ep.host.substr(1, ep.host.size() - 2);
    }
    if (!parse_port(port_text, ep.port))
        throw std::invalid_argument("Invalid port in endpoint '" + text + "'");
    return ep;
}

bool is_pcap_source(const std::string &text)
{
    auto pos = text.rfind(':');
    std::string port_text = pos == std::string::npos ? text : text.substr(pos + 1);
    std::uint16_t port;
    return !parse_port(port_text, port);
}

address_info classify_host(const std::string &host)
{
    address_info info;
    if (host.empty())
        return info;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo *result = nullptr;
    int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result);
    if (rc != 0 || !result)
        throw std::invalid_argument("Cannot resolve host '" + host + "': " + gai_strerror(rc));
    if (result->ai_family == AF_INET6)
    {
        const auto *a = reinterpret_cast<const sockaddr_in6 *>(result->ai_addr);
        info.ipv6 = true;
        info.multicast = IN6_IS_ADDR_MULTICAST(&a->sin6_addr);
        info.unspecified = IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr);
    }
    else
    {
        const auto *a = reinterpret_cast<const sockaddr_in *>(result->ai_addr);
        std::uint32_t addr = ntohl(a->sin_addr.s_addr);
        info.multicast = (addr >> 28) == 0xe;
        info.unspecified = addr == 0;
    }
    freeaddrinfo(result);
    return info;
}

} // namespace spead2::tools
