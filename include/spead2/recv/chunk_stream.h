// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The chunking receiver: heaps placed straight into large chunks (API.md §2.10).
#ifndef SPEAD2_RECV_CHUNK_STREAM_H
#define SPEAD2_RECV_CHUNK_STREAM_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>
#include <spead2/common/io_context_ref.h>
#include <spead2/recv/chunk.h>
#include <spead2/recv/chunk_stream_config.h>
#include <spead2/recv/chunk_window.h>
#include <spead2/recv/detail/payload_sink.h>
#include <spead2/recv/live_heap.h>
#include <spead2/recv/stream.h>

namespace spead2::recv
{

namespace detail
{

class chunk_stager;
struct chunk_stager_stage;

/**
 * The chunk payload sink, shared by chunk_stream and chunk_stream_group_member: runs the place
 * callback on a heap's first packet, keeps the stream's window of chunks, copies each packet's
 * payload to its place in a chunk and marks complete heaps present. Subclasses decide where
 * chunks come from and go to (move_window), which happens once per chunk, never per packet.
 *
 * Copies into chunks of nontemporal_chunk_size or more may be streaming stores: they are fenced
 * once per batch (publish) and before a chunk is retired, never per copy. With a copy engine,
 * payload goes to staging buffers instead, the engine's copies are queued once per batch and
 * waited for before a chunk is retired (chunk_copy_engine).
 *
 * Used only under the owning stream's lock.
 */
class chunk_stream_state : public payload_sink
{
private:
    /// Where the heap in one slot of the stream goes.
    struct heap_place
    {
        /// -1: the payload is dropped (rejected, too old, no chunk, or no payload).
        std::int64_t chunk_id = -1;
        std::size_t heap_index = 0;
        std::size_t heap_offset = 0;
        /// Where payload offset 0 is written: in the chunk's data, or in its staging buffer.
        std::uint8_t *base = nullptr;
        const payload_copier *copier = nullptr;
        /// The chunk's staging, with a copy engine.
        chunk_stager_stage *stage = nullptr;
    };

    const chunk_stream_config chunk_config_;
    const std::uintptr_t stream_id_;
    const std::size_t presence_payload_size_;
    const std::size_t too_old_index_;
    const std::size_t rejected_index_;
    std::uint64_t *const batch_stats_;
    std::vector<s_item_pointer_t> item_values_;
    std::vector<std::uint8_t> extra_scratch_;
    /// For chunks smaller than nontemporal_chunk_size, and for the others.
    const payload_copier small_chunk_copier_;
    const payload_copier large_chunk_copier_;
    /// One per slot of the stream (stream_config max_heaps * substreams).
    std::vector<heap_place> places_;
    /// Only with a copy engine (chunk_stream_config::set_copy_engine).
    std::unique_ptr<chunk_stager> stager_;

    void place_heap(const live_heap &h, const packet_header &packet, heap_place &place);
    /// Makes this thread's copies into chunks (maybe streaming stores) visible to other threads.
    void publish_copies();
    /// Makes the copies into the chunks about to be retired complete.
    void complete_copies();
    /// @a c leaves the window (its copies are complete).
    void detach(const chunk *c);

protected:
    chunk_window window_;

    /// Makes the window reach chunk @a id (>= tail), retiring and acquiring chunks as needed.
    virtual void move_window(std::int64_t id) = 0;

    /// Removes the chunks before @a target from the window, calling @a release on each, once this
    /// thread's copies into them are visible (chunks that are only deleted may skip this).
    template<typename F>
    void retire_until(std::int64_t target, F &&release)
    {
        complete_copies();
        window_.flush_until(target,
                            [&](chunk *c)
                            {
                                detach(c);
                                release(c);
                            });
    }

public:
    /// @a config must be the result of adjust_config; @a batch_stats is the stream's batch statistics.
    chunk_stream_state(const stream_config &config, const chunk_stream_config &chunk_config,
                       std::uint64_t *batch_stats);
    ~chunk_stream_state() override;
    chunk_stream_state(const chunk_stream_state &) = delete;
    chunk_stream_state &operator=(const chunk_stream_state &) = delete;

    /**
     * Chunks at least this large receive payload through streaming stores when the stream
     * configuration leaves memcpy automatic: such a chunk cannot still be in the consumer's cache
     * when it is handed over, so bypassing the cache saves reading each line before writing it.
     */
    static constexpr std::size_t nontemporal_chunk_size = std::size_t(8) << 20;

    /**
     * The stream configuration a chunk stream really runs with: unsized heaps refused and the
     * statistics too_old_heaps and rejected_heaps added.
     * @throws std::invalid_argument if @a chunk_config has no place callback, or if those
     * statistics already exist
     */
    static stream_config adjust_config(const stream_config &config, const chunk_stream_config &chunk_config);

    bool write(std::size_t slot, live_heap &heap, const packet_header &packet, bool first) override;
    /// Marks a complete heap present (or counts it too old if its chunk has gone).
    void heap_done(std::size_t slot, const live_heap &heap) override;
    void publish() override;

    /// How payload is copied into a chunk of @a data_size bytes.
    const payload_copier &get_copier(std::size_t data_size) const
    {
        return data_size >= nontemporal_chunk_size ? large_chunk_copier_ : small_chunk_copier_;
    }

    const chunk_stream_config &get_chunk_config() const { return chunk_config_; }
    std::uintptr_t get_stream_id() const { return stream_id_; }
    std::uint64_t *get_batch_stats() const { return batch_stats_; }
    const chunk_window &get_window() const { return window_; }
};

} // namespace detail

/**
 * A stream that places the payload of each heap directly into chunks supplied by the allocate
 * callback and hands finished chunks, in chunk ID order, to the ready callback (API.md §2.10).
 * Only payload reaches the chunks; item pointers serve only the place callback.
 *
 * Window: the stream holds at most max_chunks chunks [head, tail). A heap for a chunk beyond the
 * tail makes the stream allocate every chunk up to it, retiring the oldest ones (or, for a jump
 * of max_chunks or more, all of them); a heap for a chunk behind the head is counted in
 * too_old_heaps; a negative chunk ID is counted in rejected_heaps.
 *
 * Threads: the callbacks run on the worker thread with the stream lock held and must not throw
 * or call back into the stream. Stopping (any kind) readies every chunk still in the window in
 * order. A subclass that overrides stop_received must call stop() in its destructor.
 */
class chunk_stream : public stream
{
private:
    class simple_state;
    /// Owned by stream_base, as its payload sink.
    simple_state *state_;

protected:
    void stop_received() override;
    /// Readies every chunk in the window (lock held).
    void flush_chunks();

public:
    /**
     * @throws std::invalid_argument if the place or allocate callback is missing, and see
     * detail::chunk_stream_state::adjust_config
     */
    chunk_stream(io_context_ref io_context, const stream_config &config,
                 const chunk_stream_config &chunk_config);
    ~chunk_stream() override;

    const chunk_stream_config &get_chunk_config() const;
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_CHUNK_STREAM_H
