// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The UDP syscall wrappers on loopback: batched send/receive with and without the mmsg calls,
/// truncation flags, GSO/GRO control messages, buffer sizes, dup and family.
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <gtest/gtest.h>
#include "os/udp_socket.h"

namespace spead2::detail
{
namespace
{

struct loopback_socket
{
    int fd;
    sockaddr_in addr{};

    loopback_socket()
    {
        fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(addr);
        EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&addr), len), 0);
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
    }
    ~loopback_socket() { ::close(fd); }
};

class udp_socket_test : public ::testing::TestWithParam<bool>
{
protected:
    void SetUp() override { udp_offload().mmsg = GetParam(); }
    void TearDown() override
    {
        udp_offload().mmsg = true;
        udp_offload().gro = true;
    }
};

INSTANTIATE_TEST_SUITE_P(mmsg, udp_socket_test, ::testing::Bool());

TEST_P(udp_socket_test, batch_round_trip_and_truncation)
{
    loopback_socket tx, rx;
    std::vector<std::string> data{"first", "second datagram", std::string(300, 'x')};
    mmsghdr out[3]{};
    iovec out_iov[3];
    for (int i = 0; i < 3; i++)
    {
        out_iov[i] = {data[i].data(), data[i].size()};
        out[i].msg_hdr.msg_name = &rx.addr;
        out[i].msg_hdr.msg_namelen = sizeof(rx.addr);
        out[i].msg_hdr.msg_iov = &out_iov[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    ASSERT_EQ(udp_send_batch(tx.fd, out, 3), 3) << std::strerror(errno);

    char buf[4][100];
    mmsghdr in[4]{};
    iovec in_iov[4];
    for (int i = 0; i < 4; i++)
    {
        in_iov[i] = {buf[i], sizeof(buf[i])};
        in[i].msg_hdr.msg_iov = &in_iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    ASSERT_EQ(udp_recv_batch(rx.fd, in, 4), 3);
    EXPECT_EQ(std::string(buf[0], in[0].msg_len), "first");
    EXPECT_EQ(std::string(buf[1], in[1].msg_len), "second datagram");
    EXPECT_EQ(in[0].msg_hdr.msg_flags & MSG_TRUNC, 0);
    EXPECT_EQ(in[2].msg_len, 100u);
    EXPECT_NE(in[2].msg_hdr.msg_flags & MSG_TRUNC, 0);
    errno = 0;
    EXPECT_EQ(udp_recv_batch(rx.fd, in, 4), -1);
    EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
}

TEST_P(udp_socket_test, gso_send_gro_receive)
{
    loopback_socket tx, rx;
    if (!udp_gso_supported(tx.fd))
        GTEST_SKIP() << "kernel has no UDP GSO";
    const bool gro = udp_enable_gro(rx.fd);
    std::string payload(250, 'a');
    for (int i = 0; i < 250; i++)
        payload[i] = char('a' + i / 100); // segments "aaa...", "bbb...", "cc..." (last is short)
    iovec iov{payload.data(), payload.size()};
    mmsghdr msg{};
    msg.msg_hdr.msg_name = &rx.addr;
    msg.msg_hdr.msg_namelen = sizeof(rx.addr);
    msg.msg_hdr.msg_iov = &iov;
    msg.msg_hdr.msg_iovlen = 1;
    alignas(cmsghdr) unsigned char control[udp_control_space];
    udp_set_segment_size(msg.msg_hdr, control, 100);
    const auto gso_before = udp_offload().gso_messages.load();
    ASSERT_EQ(udp_send_batch(tx.fd, &msg, 1), 1) << std::strerror(errno);
    EXPECT_EQ(udp_offload().gso_messages.load(), gso_before + 1);

    char buf[4][1000];
    alignas(cmsghdr) unsigned char in_control[4][udp_control_space];
    mmsghdr in[4]{};
    iovec in_iov[4];
    for (int i = 0; i < 4; i++)
    {
        in_iov[i] = {buf[i], sizeof(buf[i])};
        in[i].msg_hdr.msg_iov = &in_iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
        in[i].msg_hdr.msg_control = in_control[i];
        in[i].msg_hdr.msg_controllen = udp_control_space;
    }
    const int n = udp_recv_batch(rx.fd, in, 4);
    if (gro)
    {
        ASSERT_EQ(n, 1);
        EXPECT_EQ(in[0].msg_len, 250u);
        EXPECT_EQ(udp_gro_segment_size(in[0].msg_hdr), 100u);
        EXPECT_EQ(std::string(buf[0], 250), payload);
    }
    else
    {
        ASSERT_EQ(n, 3);
        EXPECT_EQ(in[2].msg_len, 50u);
        EXPECT_EQ(udp_gro_segment_size(in[0].msg_hdr), 0u);
    }
}

TEST(udp_socket, gro_switch_off)
{
    loopback_socket rx;
    udp_offload().gro = false;
    EXPECT_FALSE(udp_enable_gro(rx.fd));
    udp_offload().gro = true;
    udp_offload().gso = false;
    EXPECT_FALSE(udp_gso_supported(rx.fd));
    udp_offload().gso = true;
}

TEST(udp_socket, buffer_sizes)
{
    loopback_socket s;
    EXPECT_EQ(set_socket_buffer_size(s.fd, true, 65536), 65536u);
    const std::size_t max = socket_buffer_max(true);
    if (max != 0 && max < (std::size_t(1) << 30))
    {
        EXPECT_EQ(set_socket_buffer_size(s.fd, true, std::size_t(1) << 30), max);
    }
    EXPECT_EQ(set_socket_buffer_size(s.fd, false, 32768), 32768u);
    EXPECT_THROW(set_socket_buffer_size(-1, true, 1000), std::system_error);
}

TEST(udp_socket, dup_and_family)
{
    loopback_socket s;
    int d = dup_socket(s.fd);
    EXPECT_NE(d, s.fd);
    EXPECT_EQ(socket_family(d), AF_INET);
    ::close(d);
    int v6 = ::socket(AF_INET6, SOCK_DGRAM, 0);
    EXPECT_EQ(socket_family(v6), AF_INET6);
    ::close(v6);
    EXPECT_THROW(dup_socket(-1), std::system_error);
    EXPECT_THROW(socket_family(-1), std::system_error);
}

} // namespace
} // namespace spead2::detail
