// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// C++ twin of demo.py: send a few heaps through an in-process queue and receive them again,
/// printing the items of each heap and the final stream statistics.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <system_error>
#include <vector>
#include <spead2/common/endian.h>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/inproc_reader.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/send/heap.h>
#include <spead2/send/inproc_stream.h>

namespace
{

constexpr spead2::s_item_pointer_t timestamp_id = 0x1000;
constexpr spead2::s_item_pointer_t spectrum_id = 0x1001;

/// Blocks until the stream has sent @a heap; returns the bytes sent.
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

void send(const std::shared_ptr<spead2::inproc_queue> &queue, int heaps)
{
    spead2::thread_pool thread_pool;
    spead2::send::inproc_stream stream(thread_pool, {queue},
                                       spead2::send::stream_config().set_max_packet_size(1024));
    spead2::descriptor spectrum_descriptor;
    spectrum_descriptor.id = spectrum_id;
    spectrum_descriptor.name = "spectrum";
    spectrum_descriptor.description = "Power per channel (big-endian float32)";
    spectrum_descriptor.numpy_header = "{'descr': '>f4', 'fortran_order': False, 'shape': (8,)}";
    for (int i = 0; i < heaps; i++)
    {
        std::vector<std::uint8_t> spectrum(8 * sizeof(float));
        for (int c = 0; c < 8; c++)
        {
            float value = float(c * (i + 1));
            std::uint32_t bits;
            std::memcpy(&bits, &value, sizeof(bits));
            spead2::store_be<std::uint32_t>(spectrum.data() + 4 * c, bits);
        }
        spead2::send::heap heap;
        if (i == 0)
            heap.add_descriptor(spectrum_descriptor);
        heap.add_item(timestamp_id, std::uint64_t(1'000'000 + 4096 * i));
        heap.add_item(spectrum_id, spectrum.data(), spectrum.size(), false);
        send_and_wait(stream, heap);
    }
    spead2::send::heap end;
    end.add_end();
    send_and_wait(stream, end);
}

void print_heap(const spead2::recv::heap &heap)
{
    std::printf("heap %lld:\n", static_cast<long long>(heap.get_cnt()));
    for (const spead2::descriptor &d : heap.get_descriptors())
        std::printf("  descriptor 0x%llx: %s (%s)\n", static_cast<unsigned long long>(d.id), d.name.c_str(),
                    d.numpy_header.c_str());
    for (const spead2::recv::item &item : heap.get_items())
    {
        if (item.id == timestamp_id)
            std::printf("  timestamp = %llu\n", static_cast<unsigned long long>(item.immediate_value));
        else if (item.id == spectrum_id)
        {
            std::printf("  spectrum =");
            for (std::size_t c = 0; c + 4 <= item.length; c += 4)
            {
                std::uint32_t bits = spead2::load_be<std::uint32_t>(item.ptr + c);
                float value;
                std::memcpy(&value, &bits, sizeof(value));
                std::printf(" %g", value);
            }
            std::printf("\n");
        }
    }
}

void receive(const std::shared_ptr<spead2::inproc_queue> &queue)
{
    spead2::thread_pool thread_pool;
    spead2::recv::ring_stream<> stream(thread_pool, spead2::recv::stream_config().set_max_heaps(2));
    stream.emplace_reader<spead2::recv::inproc_reader>(queue);
    while (true)
    {
        try
        {
            print_heap(stream.pop());
        }
        catch (spead2::ringbuffer_stopped &)
        {
            break;
        }
    }
    std::printf("stream statistics:\n");
    const spead2::recv::stream_stats stats = stream.get_stats();
    for (std::size_t i = 0; i < stats.size(); i++)
        std::printf("  %s: %llu\n", stats.get_config()[i].get_name().c_str(),
                    static_cast<unsigned long long>(stats[i]));
}

} // namespace

int main()
{
    auto queue = std::make_shared<spead2::inproc_queue>();
    send(queue, 5);
    receive(queue);
    return 0;
}
