// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// AF_XDP through libxdp and libbpf: our XDP program attached to an interface, and an AF_XDP
/// socket with its own UMEM receiving from one queue. Private; only with SPEAD2_USE_XDP.
#ifndef SPEAD2_OS_XDP_H
#define SPEAD2_OS_XDP_H

#include <spead2/features.h>
#if SPEAD2_USE_XDP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include <xdp/xsk.h>
#include <spead2/common/xdp_mode.h>
#include "common/prefetch.h"
#include "os/neighbour.h"

struct bpf_object;

namespace spead2::detail
{

/// Where libbpf's and libxdp's messages go (by default nowhere): warning or not, and the text.
using xdp_log_function = void (*)(bool warning, const std::string &message);
void set_xdp_log_function(xdp_log_function function);

/**
 * The udp_redirect XDP program, loaded and attached to one interface through a BPF link: it is
 * detached when this object is destroyed, and by the kernel if the process dies.
 */
class xdp_program
{
private:
    bpf_object *object_ = nullptr;
    int link_fd_ = -1;
    int sockets_fd_ = -1;
    int endpoints_fd_ = -1;
    int counters_fd_ = -1;
    bool native_ = false;

public:
    /**
     * Loads the program. @throws std::runtime_error with the reason, naming the capabilities
     * needed (CAP_BPF, CAP_NET_ADMIN) when the kernel says EPERM
     */
    xdp_program();
    ~xdp_program();
    xdp_program(const xdp_program &) = delete;
    xdp_program &operator=(const xdp_program &) = delete;

    /// Redirects UDP to @a address (host order; 0 = any) port @a port. Call before attach().
    void add_endpoint(std::uint32_t address, std::uint16_t port);
    /// Sends what arrives on queue @a queue to the AF_XDP socket @a fd.
    void set_socket(std::uint32_t queue, int fd);
    /**
     * Attaches to interface @a ifindex. @throws std::runtime_error if it cannot (another XDP
     * program attached, mode not supported by the driver, privileges)
     */
    void attach(const network_interface &iface, xdp_attach_mode mode);
    /// Whether attach() chose native (driver) mode.
    bool native() const { return native_; }
    /// Frames redirected to a socket and frames passed to the kernel, over all CPUs.
    std::uint64_t redirected() const;
    std::uint64_t passed() const;
};

/**
 * An AF_XDP socket bound to one queue of an interface, with a UMEM of its own: frames of
 * frame_size bytes in one anonymous mapping, and the rings of one direction (fill and RX, or TX
 * and completion).
 */
class xsk_endpoint
{
public:
    static constexpr std::size_t frame_size = 4096;

protected:
    std::uint8_t *area_ = nullptr;
    std::size_t area_size_ = 0;
    std::size_t frames_ = 0;
    xsk_umem *umem_ = nullptr;
    xsk_socket *socket_ = nullptr;
    xsk_ring_prod fill_{};
    xsk_ring_cons completion_{};
    xsk_ring_cons rx_{};
    xsk_ring_prod tx_{};
    bool zero_copy_ = false;

    /**
     * @param frames  UMEM frames (rounded up to a power of two, at least 64)
     * @param receive whether the socket receives (fill and RX rings) or sends (TX and completion)
     * @throws std::runtime_error with the reason (privileges: CAP_NET_RAW; a queue in use)
     */
    xsk_endpoint(const network_interface &iface, std::uint32_t queue, std::size_t frames, xdp_copy_mode mode,
                 bool receive);
    ~xsk_endpoint();

public:
    xsk_endpoint(const xsk_endpoint &) = delete;
    xsk_endpoint &operator=(const xsk_endpoint &) = delete;

    int fd() const;
    bool zero_copy() const { return zero_copy_; }
    std::uint8_t *frame(std::uint64_t addr) const { return area_ + addr; }
};

/// Receives: every frame of the UMEM sits in the fill ring until the kernel fills it; receive()
/// hands frames to a function and puts them straight back.
class xsk_receiver : public xsk_endpoint
{
private:
    std::vector<std::uint64_t> recycled_;

    void refill(std::uint32_t count);

public:
    xsk_receiver(const network_interface &iface, std::uint32_t queue, std::size_t frames, xdp_copy_mode mode);

    /// Frames the kernel dropped: RX ring full, or no free frame in the fill ring.
    std::uint64_t kernel_drops() const;

    /**
     * Preferred busy polling (SO_PREFER_BUSY_POLL, kernel 5.11): each busy_poll() runs the
     * queue's NAPI loop for up to @a usec microseconds, at most @a budget frames a turn.
     * @throws std::runtime_error naming the option and the error
     */
    void set_busy_poll(int usec, int budget);
    /// Lets the kernel poll the queue (a recvfrom that asks for nothing): busy polls if
    /// set_busy_poll was given, else only wakes the driver up.
    void poll_kernel();

    /// Calls @a f(data, size) for up to @a max received frames, then recycles them; returns how many.
    template<typename F>
    std::size_t receive(std::size_t max, F &&f)
    {
        std::uint32_t index = 0;
        if (max > recycled_.size())
            max = recycled_.size();
        const std::uint32_t n = xsk_ring_cons__peek(&rx_, std::uint32_t(max), &index);
        // The UMEM is larger than the caches, so each frame arrives cold, and each sits in a page
        // of its own, where the hardware prefetcher starts afresh: load whole frames a few ahead
        // while this one is handled.
        constexpr std::uint32_t prefetch_distance = 4;
        auto prefetch = [&](std::uint32_t i)
        {
            const xdp_desc *desc = xsk_ring_cons__rx_desc(&rx_, index + i);
            prefetch_range(area_ + desc->addr, desc->len);
        };
        for (std::uint32_t i = 0; i < n && i < prefetch_distance; i++)
            prefetch(i);
        for (std::uint32_t i = 0; i < n; i++)
        {
            if (i + prefetch_distance < n)
                prefetch(i + prefetch_distance);
            const xdp_desc *desc = xsk_ring_cons__rx_desc(&rx_, index + i);
            recycled_[i] = desc->addr;
            f(area_ + desc->addr, std::size_t(desc->len));
        }
        if (n > 0)
        {
            xsk_ring_cons__release(&rx_, n);
            refill(n);
        }
        return n;
    }
};

/**
 * Sends: acquire() a free frame, write a whole Ethernet frame into it, push() it to the TX ring,
 * and flush() to tell the kernel; frames come back through the completion ring.
 */
class xsk_sender : public xsk_endpoint
{
private:
    std::vector<std::uint64_t> free_;
    std::uint32_t pending_ = 0; ///< pushed but not yet submitted

    void reclaim();

public:
    xsk_sender(const network_interface &iface, std::uint32_t queue, std::size_t frames, xdp_copy_mode mode);

    /// Takes a free frame; false if all are in flight even after asking the kernel to finish.
    bool acquire(std::uint64_t &addr);
    /// Gives back a frame acquired but not pushed.
    void release(std::uint64_t addr) { free_.push_back(addr); }
    /// Queues @a length bytes of frame @a addr for sending.
    void push(std::uint64_t addr, std::size_t length);
    /// Submits what was pushed and wakes the kernel if it needs it.
    void flush();
};

} // namespace spead2::detail

#endif // SPEAD2_USE_XDP
#endif // SPEAD2_OS_XDP_H
