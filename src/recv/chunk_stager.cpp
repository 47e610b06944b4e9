// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Staging buffers and batched copies for chunks that a copy engine fills.
#include <algorithm>
#include <exception>
#include <tuple>
#include <spead2/common/logging.h>
#include "recv/chunk_stager.h"

namespace spead2::recv::detail
{

chunk_stager::chunk_stager(std::unique_ptr<chunk_copy_engine> engine, std::size_t max_chunks)
    : engine_(std::move(engine))
    , stages_(max_chunks)
{
}

chunk_stager::stage *chunk_stager::attach(chunk &c)
{
    stage *spare = nullptr;
    for (stage &s : stages_)
    {
        if (s.owner == &c)
            return &s;
        // Prefer a spare buffer that is big enough.
        if (!s.owner && (!spare || (spare->size < c.data_size && s.size >= c.data_size)))
            spare = &s;
    }
    if (!spare)
        return nullptr; // cannot happen: the window holds at most max_chunks chunks
    if (spare->size < c.data_size)
    {
        spare->buffer.reset();
        spare->size = 0;
        try
        {
            spare->buffer = engine_->allocate_staging(c.data_size);
        }
        catch (std::exception &e)
        {
            SPEAD2_LOG_WARNING("cannot allocate %zu bytes of staging memory for chunk %lld: %s", c.data_size,
                               static_cast<long long>(c.chunk_id), e.what());
            return nullptr;
        }
        spare->size = c.data_size;
    }
    spare->owner = &c;
    spare->dirty.clear();
    return spare;
}

void chunk_stager::flush()
{
    bool queued = false;
    try
    {
        for (stage &s : stages_)
        {
            if (!s.owner || s.dirty.empty())
                continue;
            // Out-of-order packets and interleaved heaps leave ranges unsorted: merge those that
            // touch, never across a gap (another group member may own the bytes in it).
            std::sort(s.dirty.begin(), s.dirty.end());
            std::size_t first = s.dirty.front().first, last = s.dirty.front().second;
            for (std::size_t i = 1; i <= s.dirty.size(); i++)
            {
                if (i < s.dirty.size() && s.dirty[i].first <= last)
                {
                    last = std::max(last, s.dirty[i].second);
                    continue;
                }
                engine_->copy_async(s.owner->data.get() + first, s.buffer.get() + first, last - first);
                if (i < s.dirty.size())
                    std::tie(first, last) = s.dirty[i];
            }
            s.dirty.clear();
            queued = true;
        }
        if (queued)
        {
            last_ticket_ = engine_->record();
            pending_ = true;
        }
    }
    catch (std::exception &e)
    {
        // The engine contract forbids this (we run inside a batch's destructor): keep going.
        SPEAD2_LOG_WARNING("chunk copy engine failed: %s", e.what());
    }
}

void chunk_stager::complete()
{
    flush();
    if (pending_)
    {
        try
        {
            engine_->wait(last_ticket_);
        }
        catch (std::exception &e)
        {
            SPEAD2_LOG_WARNING("chunk copy engine failed: %s", e.what());
        }
        pending_ = false;
    }
}

void chunk_stager::detach(const chunk *c)
{
    for (stage &s : stages_)
        if (s.owner == c)
        {
            s.owner = nullptr;
            s.dirty.clear();
        }
}

} // namespace spead2::recv::detail
