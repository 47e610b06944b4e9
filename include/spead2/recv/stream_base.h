// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The transport-agnostic core of a receive stream: live heaps, eviction, stop items, statistics.
#ifndef SPEAD2_RECV_STREAM_BASE_H
#define SPEAD2_RECV_STREAM_BASE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>
#include <spead2/common/checked_mutex.h>
#include <spead2/protocol/packet_header.h>
#include <spead2/recv/detail/payload_sink.h>
#include <spead2/recv/live_heap.h>
#include <spead2/recv/stream_config.h>
#include <spead2/recv/stream_stats.h>

namespace spead2::recv
{

class stream_base;

namespace detail
{

/**
 * The part of a stream that outlives it: asynchronous handlers hold a shared_ptr to this, lock
 * queue_mutex, and touch the stream only if @a self is still set. The stream's destructor clears
 * @a self under the lock, so a handler that runs late does nothing.
 */
struct stream_shared_state
{
    std::mutex queue_mutex;
    /// Guarded by queue_mutex; null once the stream is being destroyed.
    stream_base *self = nullptr;
};

} // namespace detail

/**
 * Reassembles packets into heaps and hands them to heap_ready(). Transports feed it in batches
 * through add_packet_state, which holds the stream's lock for the whole batch and merges the
 * batch's statistics once at the end; the per-packet path takes no lock, makes one virtual call
 * (the payload sink's write, see docs/dev/payload-seam.md) and allocates nothing but heap payload.
 *
 * Each substream (heap cnt % substreams) has a circular window of max_heaps slots; every new cnt
 * claims the next slot of its substream and evicts whatever heap is there (API.md §2.5, §2.8).
 *
 * Threads: at most one batch runs at a time (the lock serialises them). heap_ready() and
 * stop_received() run with the lock held, on the thread running the batch or calling
 * stop()/flush(). get_stats() takes only a separate statistics lock, so it never waits behind a
 * batch (e.g. one blocked on a full ringbuffer). stop() and flush() may be called from any thread
 * except from inside heap_ready().
 *
 * Lifetime: a subclass that overrides stop_received() or heap_ready() must call stop() in its own
 * destructor, because those overrides are gone by the time ~stream_base runs.
 */
class stream_base
{
public:
    /**
     * One batch of packets, on the stack of the thread that delivers them. Constructing it takes
     * the stream lock; destroying it merges the batch statistics and releases the lock.
     */
    class add_packet_state
    {
    private:
        stream_base &owner_;
        std::unique_lock<std::mutex> lock_;

    public:
        explicit add_packet_state(stream_base &owner);
        /// As above, for a handler that already holds the shared state's lock.
        add_packet_state(stream_base &owner, std::unique_lock<std::mutex> &&lock);
        ~add_packet_state();
        add_packet_state(const add_packet_state &) = delete;
        add_packet_state &operator=(const add_packet_state &) = delete;

        /**
         * Adds one decoded packet (its memory need only live for the call). Returns true if it
         * was accepted. Packets offered after the stream stopped are ignored and not counted.
         */
        bool add_packet(const packet_header &packet)
        {
            if (owner_.stopped_)
                return false;
            owner_.batch_packets_++;
            return owner_.add_packet(packet);
        }
        /**
         * Adds @a value to statistic @a index (a COUNTER, e.g. a reader's drop count found with
         * stream_config::get_stat_index) for this batch; merged when the batch ends.
         */
        void add_stat(std::size_t index, std::uint64_t value) { owner_.batch_stats[index] += value; }
        /// Whether the stream has stopped (readers stop reading then).
        bool is_stopped() const { return owner_.stopped_; }
        /// The transport has ended: a network stop (flushes, then stop_received()).
        void stop();
        stream_base &get_stream() const { return owner_; }
    };

private:
    struct table_entry
    {
        s_item_pointer_t cnt;
        std::uint32_t slot;
    };
    static constexpr std::uint32_t empty_slot = 0xffffffffu;

    const stream_config config_;
    /// Where payload goes; owned here so that it outlives every batch, even those of the
    /// destructors. Const after construction, except for set_payload_sink.
    std::unique_ptr<detail::payload_sink> sink_;
    detail::live_heap_config heap_config_;
    const std::size_t max_heaps_;
    const std::size_t substreams_;
    const bug_compat_mask bug_compat_;
    const bool stop_on_stop_item_;
    const bool allow_unsized_heaps_;
    const bool allow_out_of_order_;

    std::shared_ptr<detail::stream_shared_state> shared_;

    // Guarded by shared_->queue_mutex
    bool stopped_ = false;
    /// Packets of this batch so far.
    std::uint64_t batch_packets_ = 0;
    /// False for the pseudo-batches of stop() and flush(), which are not reader batches.
    bool batch_is_reader_ = true;
    /// Whether this batch has already been counted in BATCHES.
    bool batch_counted_ = false;
    /// max_heaps slots per substream, substream-major.
    std::vector<std::optional<live_heap>> slots_;
    /// Per substream: the window index of the next slot to claim (also the oldest one).
    std::vector<std::size_t> heads_;
    /// Open-addressing hash table cnt -> slot, power-of-two sized, linear probing.
    std::vector<table_entry> table_;
    int table_shift_;
    /// How many of batch_packets_ are already in the stream's statistics (after the fields of the
    /// per-packet path, so as not to move them).
    std::uint64_t batch_packets_published_ = 0;

    // Guarded by stats_mutex_
    mutable spead2::detail::checked_mutex stats_mutex_;
    std::shared_ptr<const std::vector<stream_stat_config>> stats_config_;
    std::vector<std::uint64_t> stats_;
    std::vector<bool> stat_is_max_;

    std::size_t table_home(s_item_pointer_t cnt) const;
    /// Returns the slot holding @a cnt or empty_slot; adds the probe count to search_dist.
    std::uint32_t table_find(s_item_pointer_t cnt);
    void table_insert(s_item_pointer_t cnt, std::uint32_t slot);
    void table_erase(s_item_pointer_t cnt, std::uint32_t slot);
    std::size_t claim_slot(std::size_t substream);
    bool add_packet(const packet_header &packet);
    void begin_batch();

protected:
    /**
     * Statistics of the current batch, one per configured statistic, zeroed when a batch starts
     * and merged (by each statistic's mode) when it ends. Subclasses, allocators and copy
     * functions running inside a batch may add to their own custom entries. Guarded by the lock.
     */
    std::vector<std::uint64_t> batch_stats;

    /**
     * Receives every heap passed on: complete, evicted or flushed (live_heap::is_complete() and
     * is_contiguous() tell which). Called with the lock held; must not throw, and must not call
     * stop() or flush().
     */
    virtual void heap_ready(live_heap &&) {}

    /**
     * Called once, with the lock held, when the stream stops for any reason (stop item, end of
     * transport, stop()). The default marks the stream stopped and flushes it; overrides must
     * call it.
     */
    virtual void stop_received();

    /// Passes every live heap on (oldest first, substream by substream). Lock must be held.
    void flush_unlocked();

    /**
     * Merges the current batch's statistics into the stream's now rather than at the end of the
     * batch (lock must be held); the batch goes on, and is still counted once in batches. A
     * subclass calls it before it signals the end of the stream to consumers, so that they then
     * see final statistics, and before its worker may block, so that statistics read meanwhile
     * include what the worker has done.
     */
    void publish_batch_stats();

    /// Whether the stream has stopped; lock must be held.
    bool is_stopped_unlocked() const { return stopped_; }

    /// Adds @a value to statistic @a index immediately (not at the end of the batch).
    void add_stat_now(std::size_t index, std::uint64_t value);

    /**
     * Sends payload to @a sink instead of heap buffers (chunk streams). Call only from a subclass
     * constructor, before any reader exists. The sink lives as long as the stream base.
     */
    void set_payload_sink(std::unique_ptr<detail::payload_sink> sink);

    /// Clears the back-pointer in the shared state; the subclass destructor calls it first.
    void detach_shared();

public:
    /// @throws std::invalid_argument if max_heaps * substreams is too large
    explicit stream_base(const stream_config &config = stream_config());
    virtual ~stream_base();
    stream_base(const stream_base &) = delete;
    stream_base &operator=(const stream_base &) = delete;

    const stream_config &get_config() const { return config_; }
    const std::shared_ptr<detail::stream_shared_state> &get_shared() const { return shared_; }

    /// A consistent snapshot of the statistics. Any thread.
    stream_stats get_stats() const;

    /// Passes every live heap on now, as on stop (counted in incomplete_heaps_flushed).
    void flush();

    /// Stops the stream (idempotent): flushes live heaps and calls stop_received(). Any thread.
    virtual void stop();

    /// Whether the stream has stopped (takes the lock).
    bool is_stopped() const;
};

} // namespace spead2::recv

#endif // SPEAD2_RECV_STREAM_BASE_H
