// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Host staging for chunks that a copy engine fills (see chunk_copy_engine).
#ifndef SPEAD2_SRC_RECV_CHUNK_STAGER_H
#define SPEAD2_SRC_RECV_CHUNK_STAGER_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>
#include <spead2/recv/chunk.h>
#include <spead2/recv/chunk_copy_engine.h>

namespace spead2::recv::detail
{

/// The staging buffer of one chunk (see chunk_stager).
struct chunk_stager_stage
{
    /// Null while the buffer is spare.
    chunk *owner = nullptr;
    memory_allocator::pointer buffer;
    std::size_t size = 0;
    /// Ranges [first, second) written since the last flush.
    std::vector<std::pair<std::size_t, std::size_t>> dirty;
};

/**
 * Gives each chunk in a stream's window a host buffer that mirrors its data, remembers the byte
 * ranges written in the current batch, and has the copy engine move exactly those ranges (never
 * the gaps between them: in a group, other members fill the gaps of the same chunk).
 *
 * Used under the owning stream's lock only.
 */
class chunk_stager
{
public:
    typedef chunk_stager_stage stage;

private:
    std::unique_ptr<chunk_copy_engine> engine_;
    /// One per chunk the window can hold; buffers are kept for the next chunk.
    std::vector<stage> stages_;
    /// Ticket of the last flush that queued copies, and whether copies are outstanding.
    std::uint64_t last_ticket_ = 0;
    bool pending_ = false;

public:
    chunk_stager(std::unique_ptr<chunk_copy_engine> engine, std::size_t max_chunks);

    /**
     * The stage of @a c (which has data_size bytes), attached on first use. Returns null, after
     * logging, if staging memory cannot be had.
     */
    stage *attach(chunk &c);

    /// Notes that [offset, offset + n) of @a s was written.
    static void mark(stage &s, std::size_t offset, std::size_t n)
    {
        if (!s.dirty.empty() && s.dirty.back().second == offset)
            s.dirty.back().second = offset + n;
        else
            s.dirty.emplace_back(offset, offset + n);
    }

    /// Queues the copies of everything written since the last flush.
    void flush();

    /// flush(), then waits until every copy queued so far has completed.
    void complete();

    /// @a c leaves the window: its buffer becomes spare (call after complete()).
    void detach(const chunk *c);
};

} // namespace spead2::recv::detail

#endif // SPEAD2_SRC_RECV_CHUNK_STAGER_H
