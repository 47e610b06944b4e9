// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// C++ twin of 05_item_group.py: the same three heaps through an in-process queue. C++ has no
/// ItemGroup, so the receiver keeps its own table of descriptors by ID and shows which items each
/// heap described or updated:
///   heap 1: descriptors and values of every item;
///   heap 2: only the counter's new value;
///   heap 3: a new descriptor for ID 0x1002 (replacing "count" by "flags") and its value.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/ringbuffer.h>
#include <spead2/common/thread_pool.h>
#include <spead2/protocol/constants.h>
#include <spead2/protocol/descriptor.h>
#include <spead2/recv/heap.h>
#include <spead2/recv/inproc_reader.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/send/heap.h>
#include <spead2/send/inproc_stream.h>

namespace
{

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

spead2::descriptor make_descriptor(spead2::s_item_pointer_t id, const std::string &name,
                                   const std::string &description, const std::string &numpy_header)
{
    spead2::descriptor d;
    d.id = id;
    d.name = name;
    d.description = description;
    d.numpy_header = numpy_header;
    return d;
}

} // namespace

int main()
{
    spead2::thread_pool thread_pool;
    auto queue = std::make_shared<spead2::inproc_queue>();
    spead2::send::inproc_stream sender(thread_pool, {queue});

    const spead2::descriptor gain = make_descriptor(
        0x1000, "gain", "Gain per channel", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}");
    spead2::descriptor name;
    name.id = 0x1001;
    name.name = "name";
    name.description = "Observation name";
    name.format = {{'c', 8}};
    name.shape = {-1};
    spead2::descriptor count;
    count.id = 0x1002;
    count.name = "count";
    count.description = "A counter";
    count.format = {{'u', 32}};
    const spead2::descriptor flags = make_descriptor(
        0x1002, "flags", "Flag bits", "{'descr': '|u1', 'fortran_order': False, 'shape': (2,)}");

    const float gain_values[4] = {1.0f, 1.5f, 2.0f, 2.5f}; // little-endian hosts only, as '<f4' says
    const std::string name_value = "test";
    const std::uint8_t flag_values[2] = {3, 5};

    spead2::send::heap first;
    for (const auto &d : {gain, name, count})
        first.add_descriptor(d);
    first.add_item(gain.id, gain_values, sizeof(gain_values), false);
    first.add_item(name.id, name_value.data(), name_value.size(), false);
    first.add_item(count.id, std::uint64_t(1));
    send_and_wait(sender, first);

    spead2::send::heap second;
    second.add_item(count.id, std::uint64_t(2));
    send_and_wait(sender, second);

    spead2::send::heap third;
    third.add_descriptor(flags);
    third.add_item(flags.id, flag_values, sizeof(flag_values), false);
    send_and_wait(sender, third);

    spead2::send::heap end;
    end.add_end();
    send_and_wait(sender, end);

    spead2::recv::ring_stream<> receiver(thread_pool);
    receiver.emplace_reader<spead2::recv::inproc_reader>(queue);
    std::map<spead2::s_item_pointer_t, spead2::descriptor> known;
    while (true)
    {
        try
        {
            spead2::recv::heap heap = receiver.pop();
            std::printf("heap %lld:\n", static_cast<long long>(heap.get_cnt()));
            for (const spead2::descriptor &d : heap.get_descriptors())
            {
                auto old = known.find(d.id);
                if (old != known.end() && old->second.name != d.name)
                    std::printf("  descriptor 0x%llx replaces %s by %s\n",
                                static_cast<unsigned long long>(d.id), old->second.name.c_str(),
                                d.name.c_str());
                else if (old == known.end())
                    std::printf("  descriptor 0x%llx: %s\n", static_cast<unsigned long long>(d.id),
                                d.name.c_str());
                known[d.id] = d;
            }
            for (const spead2::recv::item &item : heap.get_items())
            {
                if (item.id == spead2::DESCRIPTOR_ID)
                    continue; // the raw descriptors, already decoded by get_descriptors()
                const std::string &item_name = known.count(item.id) ? known[item.id].name : "?";
                if (item.is_immediate)
                    std::printf("  %s = %llu (immediate)\n", item_name.c_str(),
                                static_cast<unsigned long long>(item.immediate_value));
                else
                    std::printf("  %s: %zu bytes\n", item_name.c_str(), item.length);
            }
        }
        catch (spead2::ringbuffer_stopped &)
        {
            break;
        }
    }
    return 0;
}
