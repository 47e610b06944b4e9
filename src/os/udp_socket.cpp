// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// UDP batching and offload syscalls (the OS seam for the UDP reader and writer).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>
#include "os/udp_socket.h"

namespace spead2::detail
{

namespace
{

bool env_enabled(const char *name)
{
    const char *value = std::getenv(name);
    return !(value && std::strcmp(value, "0") == 0);
}

/// Set once recvmmsg/sendmmsg reports ENOSYS, so that later calls go straight to the fallback.
std::atomic<bool> no_recvmmsg{false};
std::atomic<bool> no_sendmmsg{false};

int recv_one(int fd, mmsghdr &msg) noexcept
{
    ssize_t r;
    do
        r = ::recvmsg(fd, &msg.msg_hdr, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    msg.msg_len = static_cast<unsigned int>(r);
    return 0;
}

bool has_segment(const msghdr &msg) noexcept
{
    return msg.msg_controllen > 0;
}

int send_one(int fd, mmsghdr &msg) noexcept
{
    ssize_t r;
    do
        r = ::sendmsg(fd, &msg.msg_hdr, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    msg.msg_len = static_cast<unsigned int>(r);
    return 0;
}

} // namespace

udp_offload_state &udp_offload()
{
    static udp_offload_state *state = []
    {
        auto *s = new udp_offload_state; // never destroyed: readers may outlive static destruction
        s->gso = env_enabled("SPEAD2_UDP_GSO");
        s->gro = env_enabled("SPEAD2_UDP_GRO");
        s->mmsg = env_enabled("SPEAD2_UDP_MMSG");
        return s;
    }();
    return *state;
}

bool udp_enable_gro(int fd) noexcept
{
    if (!udp_offload().gro.load(std::memory_order_relaxed))
        return false;
    int one = 1;
    return ::setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

bool udp_gso_supported(int fd) noexcept
{
    if (!udp_offload().gso.load(std::memory_order_relaxed))
        return false;
    int value = 0;
    socklen_t len = sizeof(value);
    return ::getsockopt(fd, SOL_UDP, UDP_SEGMENT, &value, &len) == 0;
}

int udp_recv_batch(int fd, mmsghdr *msgs, unsigned int n) noexcept
{
    if (n == 0)
        return 0;
    if (udp_offload().mmsg.load(std::memory_order_relaxed) && !no_recvmmsg.load(std::memory_order_relaxed))
    {
        int r;
        do
            r = ::recvmmsg(fd, msgs, n, MSG_DONTWAIT, nullptr);
        while (r < 0 && errno == EINTR);
        if (r >= 0 || errno != ENOSYS)
            return r;
        no_recvmmsg = true;
    }
    unsigned int i = 0;
    for (; i < n; i++)
        if (recv_one(fd, msgs[i]) < 0)
            break;
    if (i == 0)
        return -1;
    return int(i);
}

std::size_t udp_gro_segment_size(const msghdr &msg) noexcept
{
    // msghdr is const but the CMSG macros take a non-const pointer on some libcs.
    msghdr &m = const_cast<msghdr &>(msg);
    for (cmsghdr *c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c))
    {
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int)))
        {
            int size;
            std::memcpy(&size, CMSG_DATA(c), sizeof(size));
            udp_offload().gro_messages.fetch_add(1, std::memory_order_relaxed);
            return size > 0 ? std::size_t(size) : 0;
        }
    }
    return 0;
}

void udp_set_segment_size(msghdr &msg, void *control, std::uint16_t segment_size) noexcept
{
    std::memset(control, 0, udp_control_space);
    msg.msg_control = control;
    msg.msg_controllen = udp_control_space;
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    std::memcpy(CMSG_DATA(c), &segment_size, sizeof(segment_size));
}

int udp_send_batch(int fd, mmsghdr *msgs, unsigned int n) noexcept
{
    if (n == 0)
        return 0;
    udp_offload_state &state = udp_offload();
    // Test faults apply to the first message, as a kernel error would.
    if (int e = state.send_fault_errno.load(std::memory_order_relaxed))
    {
        errno = e;
        return -1;
    }
    if (int e = state.gso_fault_errno.load(std::memory_order_relaxed); e != 0 && has_segment(msgs[0].msg_hdr))
    {
        errno = e;
        return -1;
    }
    int r = -1;
    bool done = false;
    if (state.mmsg.load(std::memory_order_relaxed) && !no_sendmmsg.load(std::memory_order_relaxed))
    {
        do
            r = ::sendmmsg(fd, msgs, n, MSG_DONTWAIT);
        while (r < 0 && errno == EINTR);
        if (r >= 0 || errno != ENOSYS)
            done = true;
        else
            no_sendmmsg = true;
    }
    if (!done)
    {
        unsigned int i = 0;
        for (; i < n; i++)
            if (send_one(fd, msgs[i]) < 0)
                break;
        r = i == 0 ? -1 : int(i);
    }
    if (r > 0)
    {
        std::uint64_t segmented = 0;
        for (int i = 0; i < r; i++)
            segmented += has_segment(msgs[i].msg_hdr);
        if (segmented)
            state.gso_messages.fetch_add(segmented, std::memory_order_relaxed);
    }
    return r;
}

std::size_t set_socket_buffer_size(int fd, bool receive, std::size_t size)
{
    const int option = receive ? SO_RCVBUF : SO_SNDBUF;
    // The kernel takes an int; ask for the most it could give rather than wrapping.
    int value = size > std::size_t(0x7fffffff) ? 0x7fffffff : int(size);
    if (::setsockopt(fd, SOL_SOCKET, option, &value, sizeof(value)) != 0)
        throw std::system_error(errno, std::system_category(),
                                receive ? "setsockopt(SO_RCVBUF)" : "setsockopt(SO_SNDBUF)");
    int actual = 0;
    socklen_t len = sizeof(actual);
    if (::getsockopt(fd, SOL_SOCKET, option, &actual, &len) != 0)
        throw std::system_error(errno, std::system_category(),
                                receive ? "getsockopt(SO_RCVBUF)" : "getsockopt(SO_SNDBUF)");
    // Linux doubles the value it stores (room for its bookkeeping).
    return actual > 0 ? std::size_t(actual) / 2 : 0;
}

std::size_t socket_buffer_max(bool receive) noexcept
{
    std::FILE *f = std::fopen(receive ? "/proc/sys/net/core/rmem_max" : "/proc/sys/net/core/wmem_max", "r");
    if (!f)
        return 0;
    unsigned long long value = 0;
    if (std::fscanf(f, "%llu", &value) != 1)
        value = 0;
    std::fclose(f);
    return std::size_t(value);
}

int dup_socket(int fd)
{
    int r = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (r < 0)
        throw std::system_error(errno, std::system_category(), "dup of socket failed");
    return r;
}

int socket_family(int fd)
{
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        throw std::system_error(errno, std::system_category(), "getsockname");
    return addr.ss_family;
}

} // namespace spead2::detail
