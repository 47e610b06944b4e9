// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The sliding window of chunk pointers used by chunk streams and chunk stream groups.
#ifndef SPEAD2_RECV_CHUNK_WINDOW_H
#define SPEAD2_RECV_CHUNK_WINDOW_H

#include <cstddef>
#include <cstdint>
#include <vector>
#include <spead2/recv/chunk.h>

namespace spead2::recv::detail
{

/**
 * Chunks with IDs in [head, tail), at most max_chunks of them, in a circular array indexed by
 * chunk ID. Entries may be null (allocation declined). The window never moves backwards and
 * starts at [0, 0), so every ID it holds is non-negative. Not thread-safe; does not own chunks.
 */
class chunk_window
{
private:
    std::vector<chunk *> chunks_;
    std::int64_t head_ = 0;
    std::int64_t tail_ = 0;

    std::size_t pos(std::int64_t id) const { return std::size_t(std::uint64_t(id) % chunks_.size()); }

public:
    explicit chunk_window(std::size_t max_chunks)
        : chunks_(max_chunks, nullptr)
    {
    }

    std::size_t get_max_chunks() const { return chunks_.size(); }
    std::int64_t get_head() const { return head_; }
    std::int64_t get_tail() const { return tail_; }
    bool empty() const { return head_ == tail_; }

    /// The chunk with ID @a id, which must lie in [head, tail).
    chunk *get(std::int64_t id) const { return chunks_[pos(id)]; }

    /**
     * Removes every chunk with ID below @a target, oldest first, passing each (possibly null)
     * to @a release. If that empties the window, it restarts at [target, target).
     */
    template<typename F>
    void flush_until(std::int64_t target, F &&release)
    {
        while (head_ < tail_ && head_ < target)
        {
            chunk *&slot = chunks_[pos(head_)];
            chunk *c = slot;
            slot = nullptr;
            head_++;
            release(c);
        }
        if (head_ < target)
            head_ = tail_ = target;
    }

    /// Appends chunks up to and including @a id (which must be < head + max_chunks), each from @a
    /// acquire(id).
    template<typename F>
    void extend_to(std::int64_t id, F &&acquire)
    {
        while (tail_ <= id)
        {
            chunks_[pos(tail_)] = acquire(tail_);
            tail_++;
        }
    }
};

} // namespace spead2::recv::detail

#endif // SPEAD2_RECV_CHUNK_WINDOW_H
