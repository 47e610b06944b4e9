// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// C++ twin of 01_send.py: send heaps of a 48-bit timestamp and 2x64 int8 samples over UDP,
/// descriptors in the first heap, then the end-of-stream heap. The receiver is 02_recv.
///
///     01_send [HOST:PORT] [HEAPS]        (default 127.0.0.1:8888, 10 heaps)
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <random>
#include <string>
#include <system_error>
#include <vector>
#include <spead2/common/thread_pool.h>
#include <spead2/protocol/descriptor.h>
#include <spead2/send/heap.h>
#include <spead2/send/stream_config.h>
#include <spead2/send/udp_stream.h>

namespace
{

constexpr spead2::s_item_pointer_t timestamp_id = 0x1600;
constexpr spead2::s_item_pointer_t samples_id = 0x1601;

/// Queues @a heap and blocks until it has been sent; returns the bytes sent.
spead2::item_pointer_t send_and_wait(spead2::send::stream &stream, const spead2::send::heap &heap)
{
    std::promise<spead2::item_pointer_t> done;
    stream.async_send_heap(heap,
                           [&done](const std::error_code &ec, spead2::item_pointer_t bytes)
                           {
                               if (ec)
                                   done.set_exception(std::make_exception_ptr(std::system_error(ec)));
                               else
                                   done.set_value(bytes);
                           });
    return done.get_future().get();
}

} // namespace

int main(int argc, char **argv)
{
    std::string destination = argc > 1 ? argv[1] : "127.0.0.1:8888";
    int heaps = argc > 2 ? std::atoi(argv[2]) : 10;
    auto colon = destination.rfind(':');
    if (colon == std::string::npos)
    {
        std::fprintf(stderr, "usage: %s [HOST:PORT] [HEAPS]\n", argv[0]);
        return 2;
    }
    std::string host = destination.substr(0, colon);
    auto port = static_cast<std::uint16_t>(std::atoi(destination.c_str() + colon + 1));

    spead2::thread_pool thread_pool;
    // The rate is in bytes per second: pacing keeps a loopback receiver from dropping packets.
    spead2::send::udp_stream stream(thread_pool, {{host, port}},
                                    spead2::send::stream_config().set_rate(50e6).set_max_packet_size(1472));

    spead2::descriptor timestamp;
    timestamp.id = timestamp_id;
    timestamp.name = "timestamp";
    timestamp.description = "Index of the first sample";
    timestamp.format = {{'u', 48}};
    spead2::descriptor samples;
    samples.id = samples_id;
    samples.name = "samples";
    samples.description = "ADC samples (2 polarisations)";
    samples.numpy_header = "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 64)}";

    std::mt19937 rng(1);
    std::uniform_int_distribution<int> sample(-128, 127);
    for (int i = 0; i < heaps; i++)
    {
        // The heap refers to this buffer (no copy), so it must live until the heap is sent.
        std::vector<std::int8_t> data(2 * 64);
        for (auto &value : data)
            value = static_cast<std::int8_t>(sample(rng));
        spead2::send::heap heap;
        if (i == 0)
        {
            heap.add_descriptor(timestamp);
            heap.add_descriptor(samples);
        }
        // The descriptor says 48 bits, wider than the 40-bit immediates of SPEAD-64-40, so the
        // timestamp travels as 6 bytes of big-endian payload (as the Python sender does).
        std::array<std::uint8_t, 6> timestamp_bytes;
        std::uint64_t value = std::uint64_t(i) * 64;
        for (int b = 5; b >= 0; b--, value >>= 8)
            timestamp_bytes[b] = static_cast<std::uint8_t>(value & 0xff);
        heap.add_item(timestamp_id, timestamp_bytes.data(), timestamp_bytes.size(), false);
        heap.add_item(samples_id, data.data(), data.size(), false);
        send_and_wait(stream, heap);
    }
    spead2::send::heap end;
    end.add_end();
    send_and_wait(stream, end);
    std::printf("sent %d heaps to %s:%u\n", heaps, host.c_str(), unsigned(port));
    return 0;
}
