// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Heap placement into chunks and the plain chunk stream.
#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>
#include <spead2/common/endian.h>
#include <spead2/common/logging.h>
#include <spead2/protocol/pointer_codec.h>
#include <spead2/recv/chunk_stream.h>
#include "common/memcpy_impl.h"
#include "recv/chunk_stager.h"

namespace spead2::recv
{

namespace detail
{

namespace
{

/// The copier for chunks of one kind (@a large: of nontemporal_chunk_size bytes or more).
payload_copier chunk_copier(const memcpy_choice &choice, bool large)
{
    // Streaming stores go unfenced: chunk_stream_state fences once per batch and per retired chunk.
    if (choice.get_kind() == memcpy_choice::kind::automatic)
        return large ? payload_copier(spead2::detail::memcpy_nontemporal_unfenced) : payload_copier(choice);
    if (choice.get_kind() == memcpy_choice::kind::builtin && choice.get_id() == MEMCPY_NONTEMPORAL)
        return payload_copier(spead2::detail::memcpy_nontemporal_unfenced);
    return payload_copier(choice);
}

} // namespace

stream_config chunk_stream_state::adjust_config(const stream_config &config,
                                                const chunk_stream_config &chunk_config)
{
    if (!chunk_config.get_place())
        throw std::invalid_argument("chunk_config.place is not set");
    stream_config out(config);
    // Chunk placement needs the heap size up front.
    out.set_allow_unsized_heaps(false);
    out.add_stat("too_old_heaps");
    out.add_stat("rejected_heaps");
    return out;
}

chunk_stream_state::chunk_stream_state(const stream_config &config, const chunk_stream_config &chunk_config,
                                       std::uint64_t *batch_stats)
    : chunk_config_(chunk_config)
    , stream_id_(config.get_stream_id())
    , presence_payload_size_(chunk_config.get_packet_presence_payload_size())
    , too_old_index_(config.get_stat_index("too_old_heaps"))
    , rejected_index_(config.get_stat_index("rejected_heaps"))
    , batch_stats_(batch_stats)
    , item_values_(chunk_config.get_items().size())
    , extra_scratch_(chunk_config.get_max_heap_extra())
    , small_chunk_copier_(chunk_copier(config.get_memcpy_choice(), false))
    , large_chunk_copier_(chunk_copier(config.get_memcpy_choice(), true))
    , places_(config.get_max_heaps() * config.get_substreams())
    , window_(chunk_config.get_max_chunks())
{
    if (chunk_config.get_copy_engine())
    {
        std::unique_ptr<chunk_copy_engine> engine = chunk_config.get_copy_engine()();
        if (!engine)
            throw std::invalid_argument("chunk_config.copy_engine returned no engine");
        stager_ = std::make_unique<chunk_stager>(std::move(engine), chunk_config.get_max_chunks());
    }
}

chunk_stream_state::~chunk_stream_state() = default;

void chunk_stream_state::publish_copies()
{
    spead2::detail::store_fence();
    if (stager_)
        stager_->flush();
}

void chunk_stream_state::complete_copies()
{
    spead2::detail::store_fence();
    if (stager_)
        stager_->complete();
}

void chunk_stream_state::detach(const chunk *c)
{
    if (stager_)
        stager_->detach(c);
}

void chunk_stream_state::place_heap(const live_heap &h, const packet_header &packet, heap_place &place)
{
    const std::vector<item_pointer_t> &items = chunk_config_.get_items();
    std::fill(item_values_.begin(), item_values_.end(), -1);
    if (!items.empty())
    {
        const pointer_decoder decoder(packet.heap_address_bits);
        for (int i = 0; i < packet.n_items; i++)
        {
            const item_pointer_t pointer =
                load_be<item_pointer_t>(packet.pointers + i * sizeof(item_pointer_t));
            if (!pointer_decoder::is_immediate(pointer))
                continue;
            const item_pointer_t id = item_pointer_t(decoder.get_id(pointer));
            for (std::size_t j = 0; j < items.size(); j++)
                if (items[j] == id)
                    item_values_[j] = decoder.get_immediate(pointer);
        }
    }
    chunk_place_data data;
    data.packet = packet.packet;
    data.packet_size = std::size_t(packet.payload - packet.packet) + std::size_t(packet.payload_length);
    data.items = item_values_.data();
    data.chunk_id = -1;
    data.heap_index = 0;
    data.heap_offset = 0;
    data.batch_stats = batch_stats_;
    data.extra = extra_scratch_.empty() ? nullptr : extra_scratch_.data();
    data.extra_offset = 0;
    data.extra_size = 0;
    chunk_config_.get_place()(&data, sizeof(data));

    // INT64_MAX is refused too: the window's tail would overflow past it.
    if (data.chunk_id < 0 || data.chunk_id == std::numeric_limits<std::int64_t>::max())
    {
        batch_stats_[rejected_index_]++;
        return;
    }
    if (data.chunk_id < window_.get_head())
    {
        batch_stats_[too_old_index_]++;
        return;
    }
    if (data.chunk_id >= window_.get_tail())
        move_window(data.chunk_id);
    if (data.chunk_id < window_.get_head() || data.chunk_id >= window_.get_tail())
    {
        // A group moved on without us (lossy eviction): the chunk is gone.
        batch_stats_[too_old_index_]++;
        return;
    }
    chunk *c = window_.get(data.chunk_id);
    if (!c)
        return; // allocation declined: drop silently
    const std::size_t heap_length = std::size_t(std::max<s_item_pointer_t>(h.get_heap_length(), 0));
    if (!c->data || (c->data_size != 0 &&
                     (data.heap_offset > c->data_size || heap_length > c->data_size - data.heap_offset)))
    {
        SPEAD2_LOG_INFO("heap %" PRId64 " rejected: %zu bytes at offset %zu do not fit chunk %" PRId64,
                        std::int64_t(h.get_cnt()), heap_length, data.heap_offset, data.chunk_id);
        batch_stats_[rejected_index_]++;
        return;
    }
    if (presence_payload_size_ == 0 && (data.heap_index >= c->present_size || !c->present))
    {
        SPEAD2_LOG_INFO("heap %" PRId64 " rejected: heap_index %zu is beyond present_size %zu",
                        std::int64_t(h.get_cnt()), data.heap_index, c->present_size);
        batch_stats_[rejected_index_]++;
        return;
    }
    if (c->data_on_device && !stager_)
    {
        SPEAD2_LOG_INFO("heap %" PRId64 " rejected: chunk %" PRId64
                        " is device memory and the stream has no copy engine",
                        std::int64_t(h.get_cnt()), data.chunk_id);
        batch_stats_[rejected_index_]++;
        return;
    }
    std::uint8_t *data_base = c->data.get();
    if (stager_)
    {
        chunk_stager::stage *stage = c->data_size > 0 ? stager_->attach(*c) : nullptr;
        if (!stage)
        {
            SPEAD2_LOG_INFO("heap %" PRId64 " rejected: chunk %" PRId64 " has no staging buffer%s",
                            std::int64_t(h.get_cnt()), data.chunk_id,
                            c->data_size == 0 ? " (a copy engine needs chunk data_size)" : "");
            batch_stats_[rejected_index_]++;
            return;
        }
        place.stage = stage;
        data_base = stage->buffer.get();
    }
    if (data.extra_size > 0)
    {
        // Copied now, so that even a heap that never completes delivers its extra data.
        if (data.extra_size <= extra_scratch_.size() && c->extra &&
            (c->extra_size == 0 ||
             (data.extra_offset <= c->extra_size && data.extra_size <= c->extra_size - data.extra_offset)))
            std::memcpy(c->extra.get() + data.extra_offset, extra_scratch_.data(), data.extra_size);
        else
            SPEAD2_LOG_INFO("extra data of heap %" PRId64 " dropped: %zu bytes at offset %zu do not fit",
                            std::int64_t(h.get_cnt()), data.extra_size, data.extra_offset);
    }
    place.chunk_id = data.chunk_id;
    place.heap_index = data.heap_index;
    place.heap_offset = data.heap_offset;
    place.base = data_base + data.heap_offset;
    place.copier = &get_copier(c->data_size);
}

bool chunk_stream_state::write(std::size_t slot, live_heap &heap, const packet_header &packet, bool first)
{
    heap_place &place = places_[slot];
    if (first)
    {
        place = heap_place();
        // Like spead2, where placement happens when the heap's memory is allocated, a heap
        // without payload is never placed (and never counted as rejected).
        if (heap.get_heap_length() > 0)
            place_heap(heap, packet, place);
    }
    // Dropped, or the chunk has been retired (handed to the user) since the heap's first packet.
    if (place.chunk_id < 0 || place.chunk_id < window_.get_head())
        return true;
    chunk *c = window_.get(place.chunk_id);
    if (presence_payload_size_ != 0)
    {
        const std::size_t index =
            place.heap_index + std::size_t(packet.payload_offset) / presence_payload_size_;
        if (index < c->present_size && c->present)
            c->present[index] = 1;
    }
    if (packet.payload_length > 0)
    {
        place.copier->copy(place.base, nullptr, packet);
        if (place.stage)
            chunk_stager::mark(*place.stage, place.heap_offset + std::size_t(packet.payload_offset),
                               std::size_t(packet.payload_length));
    }
    return true;
}

void chunk_stream_state::heap_done(std::size_t slot, const live_heap &heap)
{
    const heap_place &place = places_[slot];
    if (place.chunk_id < 0 || !heap.is_complete())
        return;
    if (place.chunk_id < window_.get_head())
    {
        // Completed after its chunk was retired (spead2 4.4.1 counts these as too old).
        batch_stats_[too_old_index_]++;
        return;
    }
    if (presence_payload_size_ == 0)
        window_.get(place.chunk_id)->present[place.heap_index] = 1;
}

void chunk_stream_state::publish()
{
    // Whoever takes the stream lock next may hand the chunks out.
    publish_copies();
}

} // namespace detail

/// Chunks come from the allocate callback and go to the ready callback.
class chunk_stream::simple_state : public detail::chunk_stream_state
{
private:
    void release(chunk *c)
    {
        std::unique_ptr<chunk> owned(c);
        if (owned && get_chunk_config().get_ready())
            get_chunk_config().get_ready()(std::move(owned), get_batch_stats());
    }

protected:
    void move_window(std::int64_t id) override
    {
        const std::int64_t target = id - std::int64_t(window_.get_max_chunks()) + 1;
        retire_until(target, [this](chunk *c) { release(c); });
        window_.extend_to(id,
                          [this](std::int64_t chunk_id) -> chunk *
                          {
                              std::unique_ptr<chunk> c =
                                  get_chunk_config().get_allocate()(chunk_id, get_batch_stats());
                              if (c)
                              {
                                  c->chunk_id = chunk_id;
                                  c->stream_id = get_stream_id();
                              }
                              return c.release();
                          });
    }

public:
    using detail::chunk_stream_state::chunk_stream_state;

    ~simple_state() override
    {
        // Normally empty (stop flushes); free whatever is left without readying it.
        window_.flush_until(window_.get_tail(), [](chunk *c) { delete c; });
    }

    void flush()
    {
        retire_until(window_.get_tail(), [this](chunk *c) { release(c); });
    }
};

chunk_stream::chunk_stream(io_context_ref io_context, const stream_config &config,
                           const chunk_stream_config &chunk_config)
    : stream(std::move(io_context), detail::chunk_stream_state::adjust_config(config, chunk_config))
{
    if (!chunk_config.get_allocate())
        throw std::invalid_argument("chunk_config.allocate is not set");
    auto state = std::make_unique<simple_state>(get_config(), chunk_config, batch_stats.data());
    state_ = state.get();
    set_payload_sink(std::move(state));
}

chunk_stream::~chunk_stream()
{
    stop();
}

const chunk_stream_config &chunk_stream::get_chunk_config() const
{
    return state_->get_chunk_config();
}

void chunk_stream::flush_chunks()
{
    state_->flush();
}

void chunk_stream::stop_received()
{
    // Live heaps first (they may still mark chunks present), then the chunks themselves.
    stream::stop_received();
    flush_chunks();
}

} // namespace spead2::recv
