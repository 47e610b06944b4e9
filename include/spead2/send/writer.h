// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The transport interface of send streams: a writer takes batches of packets and puts them on
/// the wire (or in a queue, a file, ...).
#ifndef SPEAD2_SEND_WRITER_H
#define SPEAD2_SEND_WRITER_H

#include <cstddef>
#include <cstdint>
#include <system_error>
#include <vector>
#include <spead2/common/io_context_ref.h>
#include <spead2/send/packet_generator.h>
#include <spead2/send/stream_config.h>

namespace spead2::send
{

class stream;

namespace detail
{
class send_engine;
} // namespace detail

/// One packet of a batch: a range of the batch's pieces, and where the transport reports back.
struct transmit_packet
{
    std::size_t first_piece = 0;
    std::size_t num_pieces = 0;
    std::size_t size = 0; ///< Bytes in the packet
    std::size_t substream_index = 0;
    std::error_code result;        ///< Set by the transport on failure; left clear on success
    std::uint64_t queue_index = 0; ///< Internal: the heap the packet belongs to
};

/// Up to writer::max_batch packets, described by scatter-gather pieces.
struct packet_batch
{
    std::vector<transmit_packet> packets;
    std::vector<packet_piece> pieces;

    const packet_piece *get_pieces(const transmit_packet &p) const { return pieces.data() + p.first_piece; }
};

/**
 * Base class for transports: a writer puts batches of packets on the wire (or in a queue, a
 * file, ...). Everything else (queue walking, packetisation, group interleaving, rate limiting,
 * completions) is the stream's send engine (src/send/send_engine.h), which hands the writer one
 * batch at a time. A transport implements send_batch and get_num_substreams.
 *
 * Threads: the engine never has two steps in flight, so send_batch is never called while a
 * batch is outstanding and transports need no locking of their own state. Batches are sent from
 * the io_context's threads, except that a step started by stream::async_send_heap(s)_inline
 * runs on the sending thread.
 *
 * Lifetime: owned by its stream, which flushes before destroying it.
 */
class writer
{
public:
    /// Most packets handed to send_batch at once (one sendmmsg call's worth).
    static constexpr std::size_t max_batch = 64;

    virtual ~writer();
    writer(const writer &) = delete;
    writer &operator=(const writer &) = delete;

    virtual std::size_t get_num_substreams() const = 0;
    const stream_config &get_config() const { return config_; }
    /// The rate heaps sent without one of their own are paced at in software (bytes/s, 0 = not):
    /// the config's, unless the transport paces in hardware.
    double get_software_rate() const { return hardware_rate_ ? 0.0 : config_.get_rate(); }
    asio::io_context &get_io_context() const { return *io_context_; }

    /**
     * Sends @a batch (1 to max_batch packets, in order); called by the send engine. For each
     * packet that fails, set its result. Call batch_done() exactly once when finished, either
     * before returning or later from an io_context handler. The batch stays untouched until then.
     */
    virtual void send_batch(packet_batch &batch) = 0;

protected:
    writer(io_context_ref io_context, const stream_config &config);

    /// Reports that the batch given to send_batch has been handled.
    void batch_done();

    /// Says that the transport paces the config's rate in hardware (call from the constructor).
    void set_hardware_rate() { hardware_rate_ = true; }

private:
    friend class stream; // connects the engine, which batch_done() reports to

    io_context_ref io_context_;
    stream_config config_;
    bool hardware_rate_ = false;
    detail::send_engine *engine_ = nullptr;
};

} // namespace spead2::send

#endif // SPEAD2_SEND_WRITER_H
