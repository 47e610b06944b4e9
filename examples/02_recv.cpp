// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// C++ twin of 02_recv.py: receive heaps over UDP until the end-of-stream heap, printing the
/// timestamp and the sum of the samples of each heap, then the statistics. The sender is 01_send.
/// C++ has no ItemGroup: items are found by ID and decoded by hand.
///
///     02_recv [[HOST:]PORT]        (default 127.0.0.1:8888)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <spead2/common/ringbuffer.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/heap.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/recv/stream_config.h>
#include <spead2/recv/stream_stats.h>
#include <spead2/recv/udp_reader.h>

namespace
{

constexpr spead2::s_item_pointer_t timestamp_id = 0x1600;
constexpr spead2::s_item_pointer_t samples_id = 0x1601;

/// Finds the items by ID and decodes them by hand (C++ has no ItemGroup).
void print_heap(const spead2::recv::heap &heap)
{
    std::uint64_t timestamp = 0;
    long sum = 0;
    bool has_samples = false;
    for (const spead2::recv::item &item : heap.get_items())
    {
        if (item.id == timestamp_id && item.is_immediate)
            timestamp = item.immediate_value;
        else if (item.id == timestamp_id)
        {
            // A 48-bit value does not fit the 40 address bits of an immediate in SPEAD-64-40,
            // so a sender may send it as big-endian payload instead.
            timestamp = 0;
            for (std::size_t i = 0; i < item.length && i < 8; i++)
                timestamp = (timestamp << 8) | item.ptr[i];
        }
        else if (item.id == samples_id)
        {
            has_samples = true;
            for (std::size_t i = 0; i < item.length; i++)
                sum += static_cast<std::int8_t>(item.ptr[i]);
        }
    }
    if (has_samples)
        std::printf("heap %lld: timestamp=%llu samples (2, 64) sum=%ld\n",
                    static_cast<long long>(heap.get_cnt()), static_cast<unsigned long long>(timestamp), sum);
}

} // namespace

int main(int argc, char **argv)
{
    std::string source = argc > 1 ? argv[1] : "127.0.0.1:8888";
    auto colon = source.rfind(':');
    std::string host = colon == std::string::npos ? "127.0.0.1" : source.substr(0, colon);
    auto port =
        static_cast<std::uint16_t>(std::atoi(source.c_str() + (colon == std::string::npos ? 0 : colon + 1)));

    spead2::thread_pool thread_pool;
    spead2::recv::ring_stream<> stream(thread_pool, spead2::recv::stream_config().set_max_heaps(4));
    // 1 MiB of socket buffer absorbs bursts (the kernel caps it at net.core.rmem_max).
    stream.emplace_reader<spead2::recv::udp_reader>(host, port, spead2::recv::udp_reader::default_max_size,
                                                    1024 * 1024);
    std::printf("listening on %s:%u\n", host.c_str(), unsigned(port));
    std::fflush(stdout);

    while (true)
    {
        try
        {
            print_heap(stream.pop());
        }
        catch (spead2::ringbuffer_stopped &)
        {
            break; // the end-of-stream heap (or a stop()) ended the stream
        }
    }
    const spead2::recv::stream_stats stats = stream.get_stats();
    std::printf(
        "received %llu heaps, %llu packets, %llu incomplete\n", static_cast<unsigned long long>(stats.heaps),
        static_cast<unsigned long long>(stats.packets),
        static_cast<unsigned long long>(stats.incomplete_heaps_evicted + stats.incomplete_heaps_flushed));
    return 0;
}
