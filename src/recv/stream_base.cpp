// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The stream core: slot windows, the cnt hash table, stop items and batch statistics.
#include <algorithm>
#include <bit>
#include <cinttypes>
#include <limits>
#include <stdexcept>
#include <string>
#include <spead2/common/logging.h>
#include <spead2/recv/stream_base.h>
#include "recv/heap_buffer_sink.h"

namespace spead2::recv
{

stream_base::add_packet_state::add_packet_state(stream_base &owner)
    : owner_(owner)
    , lock_(owner.shared_->queue_mutex)
{
    owner_.begin_batch();
}

stream_base::add_packet_state::add_packet_state(stream_base &owner, std::unique_lock<std::mutex> &&lock)
    : owner_(owner)
    , lock_(std::move(lock))
{
    owner_.begin_batch();
}

stream_base::add_packet_state::~add_packet_state()
{
    // Before the lock goes: whoever takes it next may hand the payload out.
    owner_.sink_->publish();
    owner_.publish_batch_stats();
}

void stream_base::add_packet_state::stop()
{
    if (!owner_.stopped_)
        owner_.stop_received();
}

stream_base::stream_base(const stream_config &config)
    : config_(config)
    , sink_(std::make_unique<detail::heap_buffer_sink>(config_))
    , heap_config_{config_.get_allow_out_of_order(), config_.get_max_heap_size(), sink_.get()}
    , max_heaps_(config.get_max_heaps())
    , substreams_(config.get_substreams())
    , bug_compat_(config.get_bug_compat())
    , stop_on_stop_item_(config.get_stop_on_stop_item())
    , allow_unsized_heaps_(config.get_allow_unsized_heaps())
    , allow_out_of_order_(config.get_allow_out_of_order())
    , shared_(std::make_shared<detail::stream_shared_state>())
    , heads_(substreams_, 0)
    , stats_config_(std::make_shared<const std::vector<stream_stat_config>>(config.get_stats()))
    , stats_(stats_config_->size(), 0)
    , batch_stats(stats_config_->size(), 0)
{
    // The table stores slot indices in 32 bits and has up to 8 entries per slot: keep both in range.
    if (max_heaps_ > std::numeric_limits<std::uint32_t>::max() / 8 / substreams_)
        throw std::invalid_argument("max_heaps * substreams is too large (" + std::to_string(max_heaps_) +
                                    " * " + std::to_string(substreams_) + ")");
    const std::size_t n_slots = max_heaps_ * substreams_;
    slots_.resize(n_slots);
    // At most a quarter full, so probe sequences stay short.
    const std::size_t table_size = std::bit_ceil(std::max<std::size_t>(4 * n_slots, 16));
    table_.assign(table_size, table_entry{0, empty_slot});
    table_shift_ = 64 - std::countr_zero(table_size);
    for (const auto &stat : *stats_config_)
        stat_is_max_.push_back(stat.get_mode() == stream_stat_config::mode::MAXIMUM);
    shared_->self = this;
}

stream_base::~stream_base()
{
    detach_shared();
}

void stream_base::set_payload_sink(std::unique_ptr<detail::payload_sink> sink)
{
    sink_ = std::move(sink);
    heap_config_.sink = sink_.get();
}

void stream_base::detach_shared()
{
    std::lock_guard<std::mutex> lock(shared_->queue_mutex);
    shared_->self = nullptr;
}

std::size_t stream_base::table_home(s_item_pointer_t cnt) const
{
    // Fibonacci hashing: consecutive cnts (the usual case) spread over the whole table.
    return std::size_t((std::uint64_t(cnt) * 0x9E3779B97F4A7C15ull) >> table_shift_);
}

std::uint32_t stream_base::table_find(s_item_pointer_t cnt)
{
    const std::size_t mask = table_.size() - 1;
    std::size_t pos = table_home(cnt);
    std::uint64_t probes = 1;
    while (true)
    {
        const table_entry &e = table_[pos];
        if (e.slot == empty_slot || e.cnt == cnt)
        {
            batch_stats[stream_stat_indices::SEARCH_DIST] += probes;
            return e.slot;
        }
        pos = (pos + 1) & mask;
        probes++;
    }
}

void stream_base::table_insert(s_item_pointer_t cnt, std::uint32_t slot)
{
    const std::size_t mask = table_.size() - 1;
    std::size_t pos = table_home(cnt);
    while (table_[pos].slot != empty_slot)
    {
        if (table_[pos].cnt == cnt)
            return; // a live heap already owns this cnt (only via the single-packet path)
        pos = (pos + 1) & mask;
    }
    table_[pos] = table_entry{cnt, slot};
}

void stream_base::table_erase(s_item_pointer_t cnt, std::uint32_t slot)
{
    const std::size_t mask = table_.size() - 1;
    std::size_t pos = table_home(cnt);
    while (true)
    {
        if (table_[pos].slot == empty_slot)
            return;
        if (table_[pos].cnt == cnt)
            break;
        pos = (pos + 1) & mask;
    }
    if (table_[pos].slot != slot)
        return; // the entry belongs to another heap with the same cnt
    // Backward-shift deletion keeps every remaining entry reachable from its home position.
    std::size_t hole = pos;
    std::size_t next = (hole + 1) & mask;
    while (table_[next].slot != empty_slot)
    {
        const std::size_t home = table_home(table_[next].cnt);
        // Move the entry into the hole unless its home lies cyclically in (hole, next].
        const bool stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
        if (!stays)
        {
            table_[hole] = table_[next];
            hole = next;
        }
        next = (next + 1) & mask;
    }
    table_[hole].slot = empty_slot;
}

std::size_t stream_base::claim_slot(std::size_t substream)
{
    std::size_t &head = heads_[substream];
    const std::size_t slot = substream * max_heaps_ + head;
    if (++head == max_heaps_)
        head = 0;
    std::optional<live_heap> &old = slots_[slot];
    if (old)
    {
        // The slot at the head still holds this substream's oldest live heap: evict it.
        table_erase(old->get_cnt(), std::uint32_t(slot));
        batch_stats[stream_stat_indices::HEAPS]++;
        batch_stats[stream_stat_indices::INCOMPLETE_HEAPS_EVICTED]++;
        sink_->heap_done(slot, *old);
        heap_ready(std::move(*old));
        old.reset();
    }
    return slot;
}

bool stream_base::add_packet(const packet_header &packet)
{
    using namespace stream_stat_indices;
    if (!allow_unsized_heaps_ && packet.heap_length < 0)
    {
        SPEAD2_LOG_INFO("packet rejected because it has no HEAP_LEN");
        return false;
    }
    const s_item_pointer_t cnt = packet.heap_cnt;
    const std::size_t substream = substreams_ == 1 ? 0 : std::size_t(std::uint64_t(cnt) % substreams_);
    std::size_t slot;
    bool is_new = true;
    bool in_table = false;
    if (packet.heap_length >= 0 && packet.heap_length == packet.payload_length)
    {
        // A heap in one packet: no lookup, but it still claims (and may evict from) a slot.
        batch_stats[SINGLE_PACKET_HEAPS]++;
        slot = claim_slot(substream);
        slots_[slot].emplace(packet, bug_compat_);
    }
    else
    {
        const std::uint32_t found = table_find(cnt);
        if (found != empty_slot)
        {
            slot = found;
            is_new = false;
            in_table = true;
        }
        else
        {
            if (!allow_out_of_order_ && packet.payload_offset != 0)
            {
                SPEAD2_LOG_DEBUG("packet rejected because it is not the first packet of heap %" PRId64
                                 " and allow_out_of_order is false",
                                 std::int64_t(cnt));
                return false;
            }
            slot = claim_slot(substream);
            slots_[slot].emplace(packet, bug_compat_);
        }
    }

    live_heap &h = *slots_[slot];
    if (!h.add_packet(packet, heap_config_, slot, is_new))
    {
        // A heap whose first packet is refused is dropped (it was not in the table yet), though
        // claiming its slot may already have evicted an older heap; a refused later packet
        // leaves its heap as it was.
        if (is_new)
            slots_[slot].reset();
        return false;
    }
    const bool end_of_stream = stop_on_stop_item_ && h.is_end_of_stream();
    if (h.is_complete())
    {
        if (in_table)
            table_erase(cnt, std::uint32_t(slot));
        // The heap that stops the stream is swallowed, not passed on or counted.
        if (!end_of_stream)
        {
            batch_stats[HEAPS]++;
            sink_->heap_done(slot, h);
            heap_ready(std::move(h));
        }
        slots_[slot].reset();
    }
    else if (!in_table)
        table_insert(cnt, std::uint32_t(slot));
    if (end_of_stream)
        stop_received();
    return true;
}

void stream_base::flush_unlocked()
{
    using namespace stream_stat_indices;
    for (std::size_t s = 0; s < substreams_; s++)
    {
        // From the substream's head: the oldest heap comes out first, as eviction would order them.
        for (std::size_t k = 0; k < max_heaps_; k++)
        {
            std::size_t index = heads_[s] + k;
            if (index >= max_heaps_)
                index -= max_heaps_;
            const std::size_t slot = s * max_heaps_ + index;
            std::optional<live_heap> &h = slots_[slot];
            if (h)
            {
                table_erase(h->get_cnt(), std::uint32_t(slot));
                batch_stats[HEAPS]++;
                batch_stats[INCOMPLETE_HEAPS_FLUSHED]++;
                sink_->heap_done(slot, *h);
                heap_ready(std::move(*h));
                h.reset();
            }
        }
    }
}

void stream_base::stop_received()
{
    stopped_ = true;
    flush_unlocked();
}

void stream_base::begin_batch()
{
    std::fill(batch_stats.begin(), batch_stats.end(), 0);
    batch_packets_ = 0;
    batch_packets_published_ = 0;
    batch_is_reader_ = true;
    batch_counted_ = false;
}

void stream_base::publish_batch_stats()
{
    using namespace stream_stat_indices;
    batch_stats[PACKETS] += batch_packets_ - batch_packets_published_;
    batch_packets_published_ = batch_packets_;
    // A batch that did nothing because the stream had stopped is not counted.
    if (batch_is_reader_ && (batch_counted_ || batch_packets_ > 0 || !stopped_))
    {
        batch_stats[BATCHES] += !batch_counted_;
        batch_stats[MAX_BATCH] = std::max(batch_stats[MAX_BATCH], batch_packets_);
        batch_counted_ = true;
    }
    {
        std::lock_guard<spead2::detail::checked_mutex> lock(stats_mutex_);
        for (std::size_t i = 0; i < stats_.size(); i++)
            stats_[i] = stat_is_max_[i] ? std::max(stats_[i], batch_stats[i]) : stats_[i] + batch_stats[i];
    }
    std::fill(batch_stats.begin(), batch_stats.end(), 0);
}

void stream_base::add_stat_now(std::size_t index, std::uint64_t value)
{
    std::lock_guard<spead2::detail::checked_mutex> lock(stats_mutex_);
    stats_[index] = stat_is_max_[index] ? std::max(stats_[index], value) : stats_[index] + value;
}

stream_stats stream_base::get_stats() const
{
    std::lock_guard<spead2::detail::checked_mutex> lock(stats_mutex_);
    return stream_stats(stats_config_, stats_);
}

void stream_base::flush()
{
    // A pseudo-batch: it takes the lock and publishes what the flush counts, but is not a batch
    // in the statistics.
    add_packet_state state(*this);
    batch_is_reader_ = false;
    flush_unlocked();
}

void stream_base::stop()
{
    add_packet_state state(*this);
    batch_is_reader_ = false;
    state.stop();
}

bool stream_base::is_stopped() const
{
    std::lock_guard<std::mutex> lock(shared_->queue_mutex);
    return stopped_;
}

} // namespace spead2::recv
