// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A reader that takes packets from an in-process queue.
#ifndef SPEAD2_RECV_INPROC_READER_H
#define SPEAD2_RECV_INPROC_READER_H

#include <memory>
#include <system_error>
#include <vector>
#include <spead2/common/inproc_queue.h>
#include <spead2/recv/reader.h>

namespace spead2::recv
{

/**
 * Takes packets from an inproc_queue (filled by send::inproc_stream), up to 64 per batch, waiting
 * on the queue's fd with the io_context. Stopping the queue stops the stream (a network stop)
 * once the queued packets are consumed. Lossless. Packets that do not decode to exactly their
 * own size are dropped.
 */
class inproc_reader : public reader
{
private:
    struct impl;
    std::shared_ptr<inproc_queue> queue_;
    std::unique_ptr<impl> impl_;
    std::vector<inproc_queue::packet> batch_;

    void enqueue();
    void packet_handler(stream_base::add_packet_state &state, const std::error_code &error);

public:
    /// @throws std::system_error if the queue's fd cannot be duplicated
    inproc_reader(stream &owner, std::shared_ptr<inproc_queue> queue);
    ~inproc_reader() override;
    void start() override;
    void stop() override;
    bool lossy() const override { return false; }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_INPROC_READER_H
