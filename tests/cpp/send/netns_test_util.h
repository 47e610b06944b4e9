// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Tests of kernel-bypass transports run on a veth pair between two network namespaces that the
/// launcher test creates (the test binary's own, made by `unshare -n`, and a peer made by
/// `ip netns add`), so no frame ever reaches the host's interfaces. Our end has three receive
/// queues, the peer two transmit queues (each arriving on our queue of the same number). The
/// veth pair does no GSO (gso_max_segs 1), as a NIC sends MTU-sized frames: otherwise a UDP GSO
/// sender's 64 KB super-frames would cross it whole.
#ifndef SPEAD2_TESTS_SEND_NETNS_TEST_UTIL_H
#define SPEAD2_TESTS_SEND_NETNS_TEST_UTIL_H

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gtest/gtest.h>
#include <spead2/protocol/udp_frame.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/send/heap.h>
#include <spead2/send/stream.h>
#include "send/send_test_util.h"

namespace spead2::send::test
{

namespace netns
{

/// Set (to the peer namespace's name) in the test binary run inside the namespaces.
constexpr const char *peer_env = "SPEAD2_TEST_NETNS_PEER";
constexpr const char *local_address = "10.99.0.1";
constexpr const char *peer_address = "10.99.0.2";
constexpr const char *local_if = "spead2x0";
constexpr const char *peer_if = "spead2x1";

/// The peer namespace, or null outside the namespaces.
inline const char *peer_netns()
{
    return std::getenv(peer_env);
}

} // namespace netns

/**
 * Runs @a cmd, copying its output to ours with GoogleTest's skip marker reworded, and returns
 * its exit status. ctest marks a test whose output has "[  SKIPPED ]" as skipped whatever its
 * status, so an inner run that skipped some tests and failed others must not print it.
 */
inline int run_relaying_output(const std::string &cmd)
{
    FILE *pipe = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!pipe)
        return -1;
    char line[4096];
    while (std::fgets(line, sizeof(line), pipe))
    {
        std::string text = line;
        if (const auto pos = text.find("[  SKIPPED ]"); pos != std::string::npos)
            text.replace(pos, 12, "[ (skipped) ]");
        std::fputs(text.c_str(), stdout);
    }
    return ::pclose(pipe);
}

/**
 * The launcher: runs this test binary again inside new namespaces, with only the tests that
 * match @a filter and with @a env (assignments) in its environment, and expects it to pass.
 * Skips where `unshare -n` is not permitted, and inside the namespaces.
 */
inline void run_in_private_netns(const std::string &filter, const std::string &env)
{
    using namespace netns;
    if (peer_netns())
        GTEST_SKIP() << "already inside the namespace";
    if (std::system("unshare -n true >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "unshare -n is not permitted here; kernel-bypass tests not run";
    const std::string peer = "spead2ns" + std::to_string(::getpid());
    const std::string self = "/proc/" + std::to_string(::getpid()) + "/exe";
    const std::string script =
        "set -e; ip link set lo up; ip netns add " + peer + "; trap 'ip netns del " + peer + "' EXIT; " +
        "ip link add " + local_if + " gso_max_segs 1 numrxqueues 3 numtxqueues 3 type veth peer name " +
        peer_if + " netns " + peer + " gso_max_segs 1 numrxqueues 2 numtxqueues 2; " + "ip addr add " +
        local_address + "/24 dev " + local_if + "; ip link set " + local_if + " up; " + "ip -n " + peer +
        " link set lo up; ip -n " + peer + " addr add " + peer_address + "/24 dev " + peer_if + "; ip -n " +
        peer + " link set " + peer_if + " up; ip -n " + peer + " route add 224.0.0.0/4 dev " + peer_if +
        "; " + env + " " + peer_env + "=" + peer + " timeout 120 " + self + " --gtest_filter=" + filter;
    const std::string cmd = "unshare -n sh -c \"" + script + "\"";
    EXPECT_EQ(run_relaying_output(cmd), 0) << "tests failed inside the namespace; run " << cmd;
}

/// Runs @a f in a thread that has entered the peer namespace (sockets it creates stay there).
inline void in_peer(const std::function<void()> &f)
{
    std::exception_ptr error;
    std::thread t(
        [&]
        {
            try
            {
                const int fd =
                    ::open(("/run/netns/" + std::string(netns::peer_netns())).c_str(), O_RDONLY | O_CLOEXEC);
                if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0)
                    throw std::runtime_error(std::string("cannot enter the peer namespace: ") +
                                             std::strerror(errno));
                ::close(fd);
                f();
            }
            catch (...)
            {
                error = std::current_exception();
            }
        });
    t.join();
    if (error)
        std::rethrow_exception(error);
}

inline frame::mac_address read_mac(const std::string &iface)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq request{};
    std::strncpy(request.ifr_name, iface.c_str(), IFNAMSIZ - 1);
    const int result = ::ioctl(fd, SIOCGIFHWADDR, &request);
    ::close(fd);
    if (result != 0)
        throw std::runtime_error("cannot read the MAC address of " + iface);
    frame::mac_address mac{};
    std::memcpy(mac.data(), request.ifr_hwaddr.sa_data, 6);
    return mac;
}

/// The headers of a UDP frame from the peer (port 5000) to our address, port @a port, addressed to
/// our MAC (from a made-up unicast MAC of the peer's), as raw frames in the tests use.
inline frame::frame_headers peer_to_local_headers(std::uint16_t port)
{
    frame::frame_headers h;
    h.src_mac = read_mac(netns::local_if); // any unicast address will do as the source
    h.src_mac[5] ^= 1;
    h.dst_mac = read_mac(netns::local_if);
    h.src_address = 0x0a630002; // netns::peer_address
    h.dst_address = 0x0a630001; // netns::local_address
    h.src_port = 5000;
    h.dst_port = port;
    return h;
}

/// A whole frame: @a headers, then @a payload.
inline std::vector<std::uint8_t> build_frame(const frame::frame_headers &headers,
                                             const std::vector<std::uint8_t> &payload)
{
    std::vector<std::uint8_t> f(headers.size() + payload.size());
    headers.write(f.data(), payload.size());
    std::copy(payload.begin(), payload.end(), f.begin() + std::ptrdiff_t(headers.size()));
    return f;
}

/// Sends raw Ethernet frames out of the peer's end of the veth pair.
class raw_sender
{
    int fd_ = -1;
    int ifindex_ = 0;

public:
    raw_sender()
    {
        in_peer(
            [this]
            {
                fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
                ifindex_ = int(::if_nametoindex(netns::peer_if));
            });
        if (fd_ < 0 || ifindex_ == 0)
            throw std::runtime_error("cannot open an AF_PACKET socket in the peer");
    }
    ~raw_sender() { ::close(fd_); }

    void send(const std::vector<std::uint8_t> &frame)
    {
        sockaddr_ll addr{};
        addr.sll_family = AF_PACKET;
        addr.sll_ifindex = ifindex_;
        addr.sll_halen = 6;
        ASSERT_EQ(::sendto(fd_, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr *>(&addr),
                           sizeof(addr)),
                  ssize_t(frame.size()))
            << std::strerror(errno);
    }
};

/// Heaps of several sizes (one packet, several packets) and an immediate, then the end.
inline void send_heaps(stream &s, int count)
{
    std::vector<std::vector<std::uint8_t>> payloads;
    std::vector<heap> heaps(std::size_t(count) + 1);
    for (int i = 0; i < count; i++)
    {
        std::vector<std::uint8_t> data(std::size_t(100 + i * 2999));
        for (std::size_t j = 0; j < data.size(); j++)
            data[j] = std::uint8_t(j * 7 + std::size_t(i));
        payloads.push_back(std::move(data));
    }
    test::completion_log log;
    for (int i = 0; i < count; i++)
    {
        heaps[std::size_t(i)].add_item(0x1000, payloads[std::size_t(i)].data(),
                                       payloads[std::size_t(i)].size(), false);
        heaps[std::size_t(i)].add_item(0x1001, std::uint64_t(i));
        ASSERT_TRUE(s.async_send_heap(heaps[std::size_t(i)], log.handler(i), i + 1));
    }
    heaps.back().add_end();
    ASSERT_TRUE(s.async_send_heap(heaps.back(), log.handler(count), count + 1));
    for (const auto &e : log.wait(std::size_t(count) + 1))
        EXPECT_FALSE(e.ec) << e.ec.message();
}

inline void expect_heaps(recv::ring_stream<> &rs, int count)
{
    for (int i = 0; i < count; i++)
    {
        recv::heap h = rs.pop();
        EXPECT_EQ(h.get_cnt(), i + 1);
        ASSERT_EQ(h.get_items().size(), 2u);
        const auto &item = h.get_items()[0];
        ASSERT_EQ(item.length, std::size_t(100 + i * 2999));
        bool same = true;
        for (std::size_t j = 0; j < item.length; j++)
            same = same && item.ptr[j] == std::uint8_t(j * 7 + std::size_t(i));
        EXPECT_TRUE(same) << "heap " << i;
        EXPECT_TRUE(h.get_items()[1].is_immediate);
        EXPECT_EQ(h.get_items()[1].immediate_value, item_pointer_t(i));
    }
    EXPECT_THROW(rs.pop(), ringbuffer_stopped);
}

} // namespace spead2::send::test

#endif // SPEAD2_TESTS_SEND_NETNS_TEST_UTIL_H
