// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The interface every transport implements to feed a stream.
#ifndef SPEAD2_RECV_READER_H
#define SPEAD2_RECV_READER_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <spead2/recv/stream_base.h>

namespace asio
{
class io_context;
} // namespace asio

namespace spead2::recv
{

class stream;

/**
 * Names of the optional COUNTER statistics in which readers count what they drop from the wire.
 * A user who wants the count adds the statistic (stream_config::add_stat) and reads it from the
 * stream's stats; the reasons are logged at info level. Every UDP reader (sockets, pcap files,
 * AF_XDP, ibverbs) counts datagrams or frames it refuses in udp_dropped_stat_name; the TCP reader
 * counts skipped packets, and runs of bytes skipped to resynchronise, in tcp_dropped_stat_name.
 */
inline constexpr const char *udp_dropped_stat_name = "udp_dropped";
inline constexpr const char *tcp_dropped_stat_name = "tcp_dropped";

/**
 * A source of packets for one stream (UDP socket, buffer, queue, ...). The stream owns it and
 * calls start() and lossy() with its reader-list lock held, and stop() with both that lock and
 * the stream lock held; start() must therefore never run a handler synchronously. The reader delivers packets
 * in batches from handlers on the stream's io_context, wrapped with bind_handler(), so that one virtual call
 * and one lock acquisition are paid per batch, never per packet.
 *
 * Lifetime: readers are destroyed by the stream after it has stopped and detached its shared
 * state, in the thread destroying the stream; a handler that runs later sees the detached state
 * and returns without touching the reader. stop() must cancel outstanding operations without
 * blocking.
 */
class reader
{
private:
    stream &owner_;
    std::shared_ptr<detail::stream_shared_state> shared_;
    /// Index of the drop statistic, if the user added it.
    std::optional<std::size_t> dropped_stat_;

protected:
    /// A reader that counts its drops with count_drop() in the statistic @a dropped_stat_name.
    reader(stream &owner, std::string_view dropped_stat_name);

    stream &get_stream() const { return owner_; }
    asio::io_context &get_io_context() const;

    /**
     * Counts one drop (a datagram, frame or packet refused) in the drop statistic, if the user
     * added it. Call it when the drop happens, not once at the end of the batch: a stop packet
     * later in the same batch publishes the batch's statistics early, and the drops before it
     * must be in them.
     */
    void count_drop(stream_base::add_packet_state &state) const
    {
        if (dropped_stat_)
            state.add_stat(*dropped_stat_, 1);
    }

    /// How many SPEAD packets a datagram may carry (see add_datagram).
    enum class datagram_packets
    {
        one,
        /// Several back to back that fill it exactly: a GSO send captured before segmentation.
        several
    };

    /**
     * The one way readers turn bytes into packets: decodes a datagram (a UDP payload, a queued
     * packet, a length-delimited TCP record) and hands its packet(s) to the stream. With
     * datagram_packets::several, every packet is checked before any is added, so that a bad tail
     * does not leave half a datagram. Returns how many packets were added: 0 when the bytes are
     * not what @a packets allows (the caller then counts the drop).
     */
    static std::size_t add_datagram(stream_base::add_packet_state &state, const std::uint8_t *data,
                                    std::size_t length, datagram_packets packets = datagram_packets::one);

    /**
     * Wraps @a handler (called as handler(add_packet_state &, args...)) so that, when invoked, it
     * takes the stream lock and runs as one batch, or does nothing if the stream has gone away.
     */
    template<typename F>
    auto bind_handler(F &&handler) const
    {
        return [shared = shared_, handler = std::forward<F>(handler)](auto &&...args) mutable
        {
            std::unique_lock<std::mutex> lock(shared->queue_mutex);
            if (!shared->self)
                return;
            stream_base::add_packet_state state(*shared->self, std::move(lock));
            handler(state, std::forward<decltype(args)>(args)...);
        };
    }

public:
    explicit reader(stream &owner);
    virtual ~reader() = default;
    reader(const reader &) = delete;
    reader &operator=(const reader &) = delete;

    /// Begins listening (posts the first asynchronous operation). Reader-list lock held.
    virtual void start() {}
    /// Cancels outstanding operations; called once, both locks held, when the stream stops.
    virtual void stop() = 0;
    /// Whether the transport can lose packets when the stream falls behind (UDP, ibverbs).
    virtual bool lossy() const = 0;
};

/**
 * How stream::emplace_reader<T> makes a T: by default its constructor. A specialisation may
 * make another reader instead (udp_reader becomes udp_ibv_reader under SPEAD2_IBV_INTERFACE).
 */
template<typename T>
struct reader_factory
{
    template<typename... Args>
    static std::unique_ptr<reader> make_reader(stream &owner, Args &&...args)
    {
        return std::make_unique<T>(owner, std::forward<Args>(args)...);
    }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_READER_H
