// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private wrappers for the UDP syscalls of the kernel transports: batched receive and send
/// (recvmmsg/sendmmsg with per-call fallbacks), UDP GSO/GRO control messages, socket buffers.
#ifndef SPEAD2_OS_UDP_SOCKET_H
#define SPEAD2_OS_UDP_SOCKET_H

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <sys/socket.h>

namespace spead2::detail
{

/**
 * Process-wide switches and counters for the UDP offloads. The switches start from the
 * environment (SPEAD2_UDP_GSO=0, SPEAD2_UDP_GRO=0, SPEAD2_UDP_MMSG=0 turn the feature off) and
 * are read by readers and writers when they are constructed, so tests can flip them between
 * streams. The fault fields make the next syscalls fail as a kernel would (tests of the GSO
 * fallback); the counters are per call, not per packet.
 */
struct udp_offload_state
{
    std::atomic<bool> gso{true};
    std::atomic<bool> gro{true};
    std::atomic<bool> mmsg{true};
    /// If non-zero, a send of a message carrying UDP_SEGMENT fails with this errno.
    std::atomic<int> gso_fault_errno{0};
    /// If non-zero, every send fails with this errno.
    std::atomic<int> send_fault_errno{0};
    /// Messages sent with a UDP_SEGMENT control message.
    std::atomic<std::uint64_t> gso_messages{0};
    /// Messages received with a UDP_GRO control message (coalesced datagrams).
    std::atomic<std::uint64_t> gro_messages{0};
};

udp_offload_state &udp_offload();

/// Space for the one control message (an int) that GSO and GRO use.
inline constexpr std::size_t udp_control_space = CMSG_SPACE(sizeof(int));

/// The largest UDP payload over IPv4 (IPv6 allows 20 more bytes; use the smaller).
inline constexpr std::size_t udp_max_payload = 65507;

/// Asks for coalesced receives (UDP_GRO). @returns false if switched off or unsupported.
bool udp_enable_gro(int fd) noexcept;

/// Whether the kernel accepts UDP_SEGMENT on @a fd (and GSO is switched on).
bool udp_gso_supported(int fd) noexcept;

/**
 * Receives up to @a n datagrams without blocking (recvmmsg, or a loop of recvmsg when recvmmsg
 * is missing or switched off). For each message the caller sets msg_iov/msg_iovlen and
 * msg_control/msg_controllen; the call fills msg_len and msg_hdr.msg_flags (MSG_TRUNC) and
 * shrinks msg_controllen.
 * @returns the number received (>= 1), or -1 with errno (EAGAIN when nothing is waiting)
 */
int udp_recv_batch(int fd, mmsghdr *msgs, unsigned int n) noexcept;

/// The GRO segment size in a received message's control data, or 0 if it was not coalesced.
std::size_t udp_gro_segment_size(const msghdr &msg) noexcept;

/// Writes a UDP_SEGMENT control message of @a segment_size into @a control (udp_control_space bytes).
void udp_set_segment_size(msghdr &msg, void *control, std::uint16_t segment_size) noexcept;

/**
 * Sends up to @a n messages without blocking (sendmmsg, or a loop of sendmsg).
 * @returns the number sent (>= 1), or -1 with errno for the first message
 */
int udp_send_batch(int fd, mmsghdr *msgs, unsigned int n) noexcept;

/**
 * Sets SO_RCVBUF (@a receive) or SO_SNDBUF to @a size and returns the size the kernel granted
 * as a comparable number (Linux reports twice the usable size; this halves it back).
 * @throws std::system_error if the option cannot be set or read
 */
std::size_t set_socket_buffer_size(int fd, bool receive, std::size_t size);

/// The net.core.rmem_max / wmem_max sysctl, or 0 if it cannot be read.
std::size_t socket_buffer_max(bool receive) noexcept;

/// Duplicates @a fd (close-on-exec). @throws std::system_error
int dup_socket(int fd);

/// The address family (AF_INET, AF_INET6, ...) of socket @a fd. @throws std::system_error
int socket_family(int fd);

} // namespace spead2::detail

#endif // SPEAD2_OS_UDP_SOCKET_H
