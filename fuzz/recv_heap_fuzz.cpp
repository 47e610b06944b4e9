// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Fuzz target: arbitrary bytes as back-to-back packets into a stream core with a small window,
/// in both ordering modes; every heap is frozen and its items and descriptors are read.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <spead2/common/logging.h>
#include <spead2/recv/heap.h>
#include <spead2/recv/incomplete_heap.h>
#include <spead2/recv/live_heap.h>
#include <spead2/recv/mem_to_stream.h>
#include <spead2/recv/stream_base.h>

namespace
{

using namespace spead2;
using namespace spead2::recv;

volatile std::uint8_t sink;

void touch(const heap_base &h)
{
    std::uint8_t acc = 0;
    for (const item &it : h.get_items())
        for (std::size_t i = 0; i < it.length; i++)
            acc ^= it.ptr[i];
    sink = acc;
}

class fuzz_stream : public stream_base
{
public:
    using stream_base::stream_base;
    ~fuzz_stream() override { stop(); }

protected:
    void heap_ready(live_heap &&h) override
    {
        if (h.is_contiguous())
        {
            heap fh(std::move(h));
            touch(fh);
            for (const auto &d : fh.get_descriptors())
                sink = std::uint8_t(d.name.size());
            (void)fh.is_end_of_stream();
        }
        else
        {
            incomplete_heap ih(std::move(h), true, true);
            touch(ih);
            sink = std::uint8_t(ih.get_payload_ranges().size());
        }
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    static bool quiet = []
    {
        set_log_function([](log_level, const std::string &) {});
        return true;
    }();
    (void)quiet;
    if (size < 1)
        return 0;
    // The first byte picks the configuration; the rest is the packet stream.
    const std::uint8_t mode = data[0];
    stream_config config;
    config.set_max_heaps(1 + (mode & 3))
        .set_substreams(1 + ((mode >> 2) & 1))
        .set_allow_out_of_order(mode & 8)
        .set_stop_on_stop_item(!(mode & 16))
        .set_allow_unsized_heaps(!(mode & 32))
        .set_bug_compat(mode >> 6)
        .set_max_heap_size(1 << 20);
    fuzz_stream s(config);
    mem_to_stream(s, data + 1, size - 1);
    auto stats = s.get_stats();
    sink = std::uint8_t(stats.heaps);
    return 0;
}
