// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// AF_XDP through libxdp and libbpf (see xdp.h).
#include <spead2/features.h>
#if SPEAD2_USE_XDP

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/libxdp.h>
#include "os/xdp.h"

// Preferred busy polling (Linux 5.11), for headers older than the kernel.
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

namespace spead2::detail
{

extern const unsigned char udp_redirect_bpf_object[];
extern const std::size_t udp_redirect_bpf_object_size;

namespace
{

xdp_log_function log_sink = nullptr;

/// libbpf and libxdp print to stderr by default; route their messages to the sink instead.
int forward_bpf_log(enum libbpf_print_level level, const char *format, va_list args)
{
    if (level == LIBBPF_DEBUG || !log_sink)
        return 0;
    char buffer[512];
    std::vsnprintf(buffer, sizeof(buffer), format, args);
    std::string message = buffer;
    while (!message.empty() && message.back() == '\n')
        message.pop_back();
    log_sink(level == LIBBPF_WARN, message);
    return 0;
}

int forward_xdp_log(enum libxdp_print_level level, const char *format, va_list args)
{
    return forward_bpf_log(libbpf_print_level(level), format, args);
}

void quiet_libraries()
{
    static std::once_flag once;
    std::call_once(once,
                   []
                   {
                       libbpf_set_print(forward_bpf_log);
                       libxdp_set_print(forward_xdp_log);
                   });
}

/// "what: strerror", with the capabilities that would help when the kernel says EPERM.
[[noreturn]] void fail(const std::string &what, int err, const char *capabilities)
{
    if (err < 0)
        err = -err;
    std::string message = what + ": " + std::strerror(err);
    if (err == EPERM || err == EACCES)
        message += std::string(" (needs ") + capabilities + ", or root)";
    throw std::runtime_error(message);
}

constexpr const char *bpf_capabilities = "CAP_BPF and CAP_NET_ADMIN";
constexpr const char *xsk_capabilities = "CAP_NET_RAW";

} // namespace

void set_xdp_log_function(xdp_log_function function)
{
    log_sink = function;
}

xdp_program::xdp_program()
{
    quiet_libraries();
    bpf_object_open_opts opts{};
    opts.sz = sizeof(opts);
    opts.object_name = "spead2_udp_redirect";
    object_ = bpf_object__open_mem(udp_redirect_bpf_object, udp_redirect_bpf_object_size, &opts);
    if (!object_)
        fail("cannot open the XDP program", errno, bpf_capabilities);
    const int err = bpf_object__load(object_);
    if (err)
    {
        bpf_object__close(object_);
        fail("cannot load the XDP program", err, bpf_capabilities);
    }
    sockets_fd_ = bpf_object__find_map_fd_by_name(object_, "sockets");
    endpoints_fd_ = bpf_object__find_map_fd_by_name(object_, "endpoints");
    counters_fd_ = bpf_object__find_map_fd_by_name(object_, "counters");
}

xdp_program::~xdp_program()
{
    if (link_fd_ >= 0)
        ::close(link_fd_); // the only reference to the link: this detaches the program
    bpf_object__close(object_);
}

void xdp_program::add_endpoint(std::uint32_t address, std::uint16_t port)
{
    struct
    {
        std::uint32_t address;
        std::uint16_t port;
        std::uint16_t pad;
    } key{htonl(address), htons(port), 0};
    const std::uint8_t value = 1;
    const int err = bpf_map_update_elem(endpoints_fd_, &key, &value, BPF_ANY);
    if (err)
        fail("cannot add an endpoint to the XDP program", err, bpf_capabilities);
}

void xdp_program::set_socket(std::uint32_t queue, int fd)
{
    const int err = bpf_map_update_elem(sockets_fd_, &queue, &fd, BPF_ANY);
    if (err)
        fail("cannot add the AF_XDP socket to the XDP program", err, bpf_capabilities);
}

void xdp_program::attach(const network_interface &iface, xdp_attach_mode mode)
{
    const int prog_fd = bpf_program__fd(bpf_object__find_program_by_name(object_, "spead2_udp_redirect"));
    auto try_attach = [&](std::uint32_t flags)
    {
        bpf_link_create_opts opts{};
        opts.sz = sizeof(opts);
        opts.flags = flags;
        const int fd = bpf_link_create(prog_fd, int(iface.index), BPF_XDP, &opts);
        return fd >= 0 ? fd : -errno;
    };
    int result;
    if (mode == xdp_attach_mode::generic)
        result = try_attach(XDP_FLAGS_SKB_MODE);
    else
    {
        result = try_attach(XDP_FLAGS_DRV_MODE);
        native_ = result >= 0;
        if (result < 0 && mode == xdp_attach_mode::automatic && result != -EBUSY && result != -EEXIST &&
            result != -EPERM)
            result = try_attach(XDP_FLAGS_SKB_MODE);
    }
    if (result == -EBUSY || result == -EEXIST)
        throw std::runtime_error("cannot attach the XDP program: " + iface.name +
                                 " already has an XDP program (" + std::strerror(-result) + ")");
    if (result < 0)
        fail("cannot attach the XDP program to " + iface.name +
                 (mode == xdp_attach_mode::native ? " in native mode" : ""),
             result, bpf_capabilities);
    link_fd_ = result;
}

namespace
{

std::uint64_t sum_counter(int fd, std::uint32_t which)
{
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0)
        return 0;
    std::vector<std::uint64_t> values(std::size_t(cpus), 0);
    if (bpf_map_lookup_elem(fd, &which, values.data()) != 0)
        return 0;
    std::uint64_t total = 0;
    for (std::uint64_t v : values)
        total += v;
    return total;
}

} // namespace

std::uint64_t xdp_program::redirected() const
{
    return sum_counter(counters_fd_, 0);
}

std::uint64_t xdp_program::passed() const
{
    return sum_counter(counters_fd_, 1);
}

xsk_endpoint::xsk_endpoint(const network_interface &iface, std::uint32_t queue, std::size_t frames,
                           xdp_copy_mode mode, bool receive)
{
    quiet_libraries();
    frames_ = std::bit_ceil(std::max<std::size_t>(frames, 64));
    area_size_ = frames_ * frame_size;
    void *area = ::mmap(nullptr, area_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED)
        fail("cannot allocate the AF_XDP frames", errno, "");
    area_ = static_cast<std::uint8_t *>(area);
    try
    {
        xsk_umem_config umem_config{};
        // Each direction uses two of the four rings; the others get the smallest size allowed.
        umem_config.fill_size = receive ? std::uint32_t(frames_) : 64;
        umem_config.comp_size = receive ? 64 : std::uint32_t(frames_);
        umem_config.frame_size = std::uint32_t(frame_size);
        umem_config.frame_headroom = 0;
        int err = xsk_umem__create(&umem_, area_, area_size_, &fill_, &completion_, &umem_config);
        if (err)
        {
            // The kernel pins the frames and charges them to RLIMIT_MEMLOCK unless the process
            // has CAP_IPC_LOCK; running out of that says ENOBUFS or ENOMEM.
            if (err == -ENOBUFS || err == -ENOMEM)
                throw std::runtime_error("cannot register " + std::to_string(area_size_) +
                                         " bytes of AF_XDP frames (UMEM): " + std::strerror(-err) +
                                         " (they are locked memory: raise RLIMIT_MEMLOCK (ulimit -l), "
                                         "give CAP_IPC_LOCK, or use a smaller buffer size)");
            fail("cannot register the AF_XDP frames (UMEM)", err, xsk_capabilities);
        }

        xsk_socket_config socket_config{};
        socket_config.rx_size = receive ? std::uint32_t(frames_) : 0;
        socket_config.tx_size = receive ? 0 : std::uint32_t(frames_);
        socket_config.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD; // our own program
        socket_config.bind_flags = XDP_USE_NEED_WAKEUP;
        if (mode == xdp_copy_mode::zero_copy)
            socket_config.bind_flags |= XDP_ZEROCOPY;
        else if (mode == xdp_copy_mode::copy)
            socket_config.bind_flags |= XDP_COPY;
        // The kernel frees a closed socket's hold on the queue in deferred work, so a queue that
        // was just given up can still be busy for a moment: retry for up to a second.
        for (int attempt = 0; attempt < 100; attempt++)
        {
            err = xsk_socket__create(&socket_, iface.name.c_str(), queue, umem_, receive ? &rx_ : nullptr,
                                     receive ? nullptr : &tx_, &socket_config);
            if (err != -EBUSY)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (err == -EBUSY)
            throw std::runtime_error("cannot create an AF_XDP socket: queue " + std::to_string(queue) +
                                     " of " + iface.name + " is in use by another AF_XDP socket");
        if (err)
            fail("cannot create an AF_XDP socket on " + iface.name + " queue " + std::to_string(queue) +
                     (mode == xdp_copy_mode::zero_copy ? " in zero-copy mode" : ""),
                 err, xsk_capabilities);
        xdp_options options{};
        socklen_t length = sizeof(options);
        if (::getsockopt(fd(), SOL_XDP, XDP_OPTIONS, &options, &length) == 0)
            zero_copy_ = options.flags & XDP_OPTIONS_ZEROCOPY;
    }
    catch (...)
    {
        if (socket_)
            xsk_socket__delete(socket_);
        if (umem_)
            xsk_umem__delete(umem_);
        ::munmap(area_, area_size_);
        throw;
    }
}

xsk_endpoint::~xsk_endpoint()
{
    xsk_socket__delete(socket_);
    xsk_umem__delete(umem_);
    ::munmap(area_, area_size_);
}

int xsk_endpoint::fd() const
{
    return xsk_socket__fd(socket_);
}

xsk_receiver::xsk_receiver(const network_interface &iface, std::uint32_t queue, std::size_t frames,
                           xdp_copy_mode mode)
    : xsk_endpoint(iface, queue, frames, mode, true)
{
    recycled_.resize(frames_);
    for (std::size_t i = 0; i < frames_; i++)
        recycled_[i] = i * frame_size;
    refill(std::uint32_t(frames_));
}

void xsk_receiver::refill(std::uint32_t count)
{
    std::uint32_t index = 0;
    // Every frame is either in the fill ring, the RX ring or being handed back here, and the
    // fill ring holds them all: the reservation cannot fall short.
    const std::uint32_t reserved = xsk_ring_prod__reserve(&fill_, count, &index);
    for (std::uint32_t i = 0; i < reserved; i++)
        *xsk_ring_prod__fill_addr(&fill_, index + i) = recycled_[i] & ~std::uint64_t(frame_size - 1);
    xsk_ring_prod__submit(&fill_, reserved);
    if (xsk_ring_prod__needs_wakeup(&fill_))
        poll_kernel();
}

void xsk_receiver::set_busy_poll(int usec, int budget)
{
    const struct
    {
        int option;
        const char *name;
        int value;
    } options[] = {{SO_PREFER_BUSY_POLL, "SO_PREFER_BUSY_POLL", 1},
                   {SO_BUSY_POLL, "SO_BUSY_POLL", usec},
                   {SO_BUSY_POLL_BUDGET, "SO_BUSY_POLL_BUDGET", budget}};
    for (const auto &o : options)
    {
        if (::setsockopt(fd(), SOL_SOCKET, o.option, &o.value, sizeof(o.value)) < 0)
        {
            const int err = errno;
            // Values above net.core.busy_poll need CAP_NET_ADMIN; kernels before 5.11 lack the
            // preferred busy polling options.
            fail(std::string("cannot set ") + o.name + " on the AF_XDP socket" +
                     (err == ENOPROTOOPT ? " (busy polling needs Linux 5.11 or later)" : ""),
                 err, "CAP_NET_ADMIN");
        }
    }
}

void xsk_receiver::poll_kernel()
{
    ::recvfrom(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
}

std::uint64_t xsk_receiver::kernel_drops() const
{
    xdp_statistics stats{};
    socklen_t length = sizeof(stats);
    if (::getsockopt(fd(), SOL_XDP, XDP_STATISTICS, &stats, &length) != 0)
        return 0;
    // rx_dropped covers frames with no fill-ring frame to go to; invalid descriptors are ours.
    return stats.rx_dropped + stats.rx_ring_full;
}

xsk_sender::xsk_sender(const network_interface &iface, std::uint32_t queue, std::size_t frames,
                       xdp_copy_mode mode)
    : xsk_endpoint(iface, queue, frames, mode, false)
{
    free_.reserve(frames_);
    for (std::size_t i = frames_; i-- > 0;)
        free_.push_back(i * frame_size);
}

void xsk_sender::reclaim()
{
    std::uint32_t index = 0;
    const std::uint32_t n = xsk_ring_cons__peek(&completion_, std::uint32_t(frames_), &index);
    for (std::uint32_t i = 0; i < n; i++)
        free_.push_back(*xsk_ring_cons__comp_addr(&completion_, index + i));
    xsk_ring_cons__release(&completion_, n);
}

bool xsk_sender::acquire(std::uint64_t &addr)
{
    if (free_.empty())
    {
        reclaim();
        if (free_.empty())
        {
            flush(); // copy mode sends (and completes) inside the wake-up call
            reclaim();
            if (free_.empty())
                return false;
        }
    }
    addr = free_.back();
    free_.pop_back();
    return true;
}

void xsk_sender::push(std::uint64_t addr, std::size_t length)
{
    std::uint32_t index = 0;
    // At most frames_ frames are in flight and the TX ring holds that many: this cannot fail.
    xsk_ring_prod__reserve(&tx_, 1, &index);
    xdp_desc *desc = xsk_ring_prod__tx_desc(&tx_, index);
    desc->addr = addr;
    desc->len = std::uint32_t(length);
    desc->options = 0;
    pending_++;
}

void xsk_sender::flush()
{
    if (pending_)
    {
        xsk_ring_prod__submit(&tx_, pending_);
        pending_ = 0;
    }
    if (zero_copy_)
    {
        if (xsk_ring_prod__needs_wakeup(&tx_))
            ::sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0);
        return;
    }
    // In copy mode the kernel transmits only inside this call, and at most 32 frames per call
    // (EAGAIN: more to do). Keep calling until it has taken the whole TX ring, within reason: a
    // device that stays busy keeps the rest for the next flush.
    for (int calls = 0; calls < 4096; calls++)
    {
        if (__atomic_load_n(tx_.consumer, __ATOMIC_ACQUIRE) == tx_.cached_prod)
            break;
        if (::sendto(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0 && errno != EAGAIN && errno != EBUSY &&
            errno != ENOBUFS)
            break;
    }
}

} // namespace spead2::detail

#endif // SPEAD2_USE_XDP
