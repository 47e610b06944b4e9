// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A reader that takes packets from a buffer in memory.
#ifndef SPEAD2_RECV_MEM_READER_H
#define SPEAD2_RECV_MEM_READER_H

#include <cstddef>
#include <cstdint>
#include <spead2/recv/reader.h>

namespace spead2::recv
{

/**
 * Feeds a buffer of back-to-back packets to the stream in one batch on the io_context, up to
 * the first packet that does not decode, then stops the stream (a network stop: live heaps are
 * flushed). Lossless. The caller keeps the buffer alive until the stream stops.
 */
class mem_reader : public reader
{
private:
    const std::uint8_t *ptr_;
    std::size_t length_;

public:
    mem_reader(stream &owner, const std::uint8_t *ptr, std::size_t length);
    void start() override;
    void stop() override {}
    bool lossy() const override { return false; }
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_MEM_READER_H
