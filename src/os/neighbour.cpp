// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Link-layer addresses from the kernel's tables (see neighbour.h).
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <system_error>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "os/neighbour.h"

namespace spead2::detail
{

namespace
{

std::string dotted(std::uint32_t address)
{
    in_addr a{htonl(address)};
    char text[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, &a, text, sizeof(text));
    return text;
}

/// Reads a file of the calling thread's network namespace (/proc/net follows the process's).
std::ifstream open_net(const char *name)
{
    return std::ifstream(std::string("/proc/thread-self/net/") + name);
}

/// The gateway of the most specific route through @a ifname to @a destination, or 0 for on-link.
std::uint32_t gateway_for(const std::string &ifname, std::uint32_t destination)
{
    std::ifstream in = open_net("route");
    std::string line;
    std::getline(in, line); // header
    std::uint32_t best_gateway = 0;
    int best_length = -1;
    while (std::getline(in, line))
    {
        std::istringstream fields(line);
        std::string iface;
        unsigned int dst, gateway, flags, refcnt, use, metric, mask;
        if (!(fields >> iface >> std::hex >> dst >> gateway >> flags >> std::dec >> refcnt >> use >> metric >>
              std::hex >> mask))
            continue;
        // The table prints each address as the hex of its in-memory (network order) value.
        const std::uint32_t d = ntohl(dst), g = ntohl(gateway), m = ntohl(mask);
        const int length = __builtin_popcount(m);
        if (iface == ifname && (destination & m) == d && length > best_length && (flags & 1) /* RTF_UP */)
        {
            best_length = length;
            best_gateway = (flags & 2) /* RTF_GATEWAY */ ? g : 0;
        }
    }
    return best_gateway;
}

bool lookup_neighbour(const std::string &ifname, std::uint32_t address, frame::mac_address &mac)
{
    std::ifstream in = open_net("arp");
    std::string line;
    std::getline(in, line); // header
    const std::string wanted = dotted(address);
    while (std::getline(in, line))
    {
        std::istringstream fields(line);
        std::string ip, type, flags, hw, mask, device;
        if (!(fields >> ip >> type >> flags >> hw >> mask >> device))
            continue;
        unsigned int b[6];
        if (ip == wanted && device == ifname && (std::stoul(flags, nullptr, 16) & 2) /* ATF_COM */ &&
            std::sscanf(hw.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) == 6)
        {
            for (int i = 0; i < 6; i++)
                mac[std::size_t(i)] = std::uint8_t(b[i]);
            return true;
        }
    }
    return false;
}

/// Makes the kernel resolve @a next_hop: one empty datagram to its discard port.
void probe(const std::string &ifname, std::uint32_t source, std::uint32_t next_hop)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    ::setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), socklen_t(ifname.size()));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(source);
    ::bind(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof(addr));
    addr.sin_addr.s_addr = htonl(next_hop);
    addr.sin_port = htons(9);
    ::sendto(fd, nullptr, 0, MSG_DONTWAIT, reinterpret_cast<const sockaddr *>(&addr), sizeof(addr));
    ::close(fd);
}

} // namespace

network_interface interface_by_ipv4(std::uint32_t address)
{
    ifaddrs *list = nullptr;
    if (::getifaddrs(&list) != 0)
        throw std::system_error(errno, std::system_category(), "cannot list interfaces");
    network_interface found;
    for (ifaddrs *it = list; it; it = it->ifa_next)
    {
        if (it->ifa_addr && it->ifa_addr->sa_family == AF_INET &&
            ntohl(reinterpret_cast<const sockaddr_in *>(it->ifa_addr)->sin_addr.s_addr) == address)
        {
            found.name = it->ifa_name;
            found.index = ::if_nametoindex(it->ifa_name);
            break;
        }
    }
    ::freeifaddrs(list);
    if (found.index == 0)
        throw std::invalid_argument("no interface has address " + dotted(address));
    return found;
}

namespace
{

/// Runs ioctl @a request on @a ifname. @throws std::runtime_error "cannot read the <what> of <ifname>: ..."
ifreq interface_ioctl(const std::string &ifname, unsigned long request, const char *what)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq result{};
    std::strncpy(result.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    const int status = fd >= 0 ? ::ioctl(fd, request, &result) : -1;
    const int err = errno;
    if (fd >= 0)
        ::close(fd);
    if (status != 0)
        throw std::runtime_error(std::string("cannot read the ") + what + " of " + ifname + ": " +
                                 std::strerror(err));
    return result;
}

} // namespace

frame::mac_address interface_mac(const std::string &ifname)
{
    const ifreq result = interface_ioctl(ifname, SIOCGIFHWADDR, "MAC address");
    frame::mac_address mac{};
    std::memcpy(mac.data(), result.ifr_hwaddr.sa_data, mac.size());
    return mac;
}

std::size_t interface_mtu(const std::string &ifname)
{
    return std::size_t(interface_ioctl(ifname, SIOCGIFMTU, "MTU").ifr_mtu);
}

frame::mac_address next_hop_mac(const std::string &ifname, std::uint32_t source, std::uint32_t destination)
{
    if ((destination >> 28) == 0xe) // multicast (RFC 1112)
        return {0x01,
                0x00,
                0x5e,
                std::uint8_t((destination >> 16) & 0x7f),
                std::uint8_t(destination >> 8),
                std::uint8_t(destination)};
    const std::uint32_t gateway = gateway_for(ifname, destination);
    const std::uint32_t next_hop = gateway ? gateway : destination;
    frame::mac_address mac{};
    for (int attempt = 0; attempt < 100; attempt++)
    {
        if (lookup_neighbour(ifname, next_hop, mac))
            return mac;
        if (attempt == 0)
            probe(ifname, source, next_hop);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("cannot find the MAC address of " + dotted(next_hop) + " on " + ifname +
                             (gateway ? " (the gateway to " + dotted(destination) + ")" : std::string()) +
                             ": no neighbour entry after a second");
}

} // namespace spead2::detail
