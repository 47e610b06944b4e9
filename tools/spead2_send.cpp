// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// spead2_send: sends test heaps over UDP or TCP (API.md §6.1).
///
/// Each heap holds --items items of --heap-size / --items bytes (rounded down to whole uint32
/// values), IDs 0x1000 + i, described as numpy '>u4' arrays by descriptors on the first heap of
/// every substream. Heaps go round-robin over the destinations, with heap counters 1, 2, 3, ...;
/// then one stop heap per destination. --verify fills the items with the values spead2_recv
/// --verify checks. On SIGINT/SIGTERM the tool stops queuing heaps, sends the stop heaps and prints
/// the summary "Sent N bytes in T seconds, R Gb/s". Exit status: 0, 1 on a send error, 2 on a bad
/// command line.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <iostream>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>
#include <spead2/common/endian.h>
#include <spead2/common/thread_pool.h>
#include <spead2/send/heap.h>
#include <spead2/send/stream.h>
#include "cmdline/app.h"
#include "cmdline/endpoint.h"
#include "cmdline/interrupt_watcher.h"
#include "cmdline/protocol_options.h"
#include "cmdline/sender_options.h"
#include "cmdline/test_data.h"

namespace
{

using namespace spead2;
using namespace spead2::tools;

struct options
{
    std::size_t heap_size = 4194304;
    std::size_t items = 1;
    std::int64_t heaps = -1;
    bool verify = false;
    std::vector<std::string> destinations;
    protocol_options protocol;
    sender_options sender;
};

options parse_args(int argc, char **argv)
{
    options opts;
    CLI::App app("Send SPEAD heaps of test data", "spead2_send");
    setup_app(app);
    app.add_option("destination", opts.destinations, "Destinations host:port (only one with --tcp)")
        ->required();
    app.add_option("--heap-size", opts.heap_size, "Payload size for heap");
    app.add_option("--items", opts.items, "Number of items per heap")->check(CLI::PositiveNumber);
    app.add_option("--heaps", opts.heaps, "Number of data heaps to send (-1 = infinite)")
        ->check(CLI::Range(std::int64_t(-1), std::numeric_limits<std::int64_t>::max()));
    app.add_flag("--verify", opts.verify, "Insert values that spead2_recv --verify checks");
    opts.protocol.add_options(app);
    opts.sender.add_options(app);
    parse_or_exit(app, argc, argv);
    try
    {
        opts.sender.finalize(opts.protocol);
        if (opts.protocol.tcp && opts.destinations.size() != 1)
            throw std::invalid_argument("Only one destination may be given with --tcp");
        for (const auto &d : opts.destinations)
            parse_endpoint(d, false);
    }
    catch (const std::invalid_argument &e)
    {
        usage_error(app, e.what());
    }
    return opts;
}

/// Tracks heaps in flight, the bytes sent and the first error.
class flight_tracker
{
private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::size_t in_flight_ = 0;
    std::uint64_t bytes_ = 0;
    std::error_code error_;
    bool stop_ = false;

public:
    void start()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        in_flight_++;
    }

    void done(const std::error_code &ec, item_pointer_t bytes)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        in_flight_--;
        bytes_ += bytes;
        if (ec && !error_)
            error_ = ec;
        cv_.notify_all();
    }

    void interrupt()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
        cv_.notify_all();
    }

    /// Waits for fewer than @a limit heaps in flight; false if interrupted or failed.
    bool wait_below(std::size_t limit)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return in_flight_ < limit || stop_ || error_; });
        return !stop_ && !error_;
    }

    void wait_idle()
    {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return in_flight_ == 0; });
    }

    std::uint64_t get_bytes()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return bytes_;
    }

    std::error_code get_error()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return error_;
    }
};

void fill_verify(std::uint8_t *data, verify_sequence values, std::size_t elements)
{
    for (std::size_t j = 0; j < elements; j++)
        store_be<std::uint32_t>(data + 4 * j, values.next());
}

int run(const options &opts)
{
    flight_tracker tracker;
    std::unique_ptr<thread_pool> pool;
    std::unique_ptr<send::stream> stream;
    interrupt_watcher watcher([&] { tracker.interrupt(); });
    pool = std::make_unique<thread_pool>(1);

    std::vector<endpoint> endpoints;
    for (const auto &d : opts.destinations)
        endpoints.push_back(parse_endpoint(d, false));
    const flavour f = opts.sender.make_flavour(opts.protocol);
    stream = opts.sender.make_stream(*pool, opts.protocol, endpoints);
    const std::size_t n_dest = stream->get_num_substreams();
    const std::size_t max_heaps = opts.sender.max_heaps;

    const std::size_t elements = opts.heap_size / (opts.items * 4);
    const std::size_t item_bytes = elements * 4;
    if (item_bytes * opts.items != opts.heap_size)
        std::cerr << "Heap size is not an exact multiple: using " << item_bytes * opts.items << " instead of "
                  << opts.heap_size << '\n';
    std::vector<descriptor> descriptors;
    for (std::size_t i = 0; i < opts.items; i++)
        descriptors.push_back(make_test_descriptor(i, elements));

    // Without --verify every heap shares one buffer; with it, each queue slot owns its data.
    struct slot
    {
        std::vector<std::uint8_t> data;
        std::optional<send::heap> heap;
    };
    std::vector<slot> slots(max_heaps);
    std::vector<std::uint8_t> shared_data(opts.verify ? 0 : opts.items * item_bytes);
    if (opts.verify)
        for (auto &s : slots)
            s.data.resize(opts.items * item_bytes);

    const item_pointer_t cnt_mask = (item_pointer_t(1) << f.get_heap_address_bits()) - 1;
    auto handler = [&tracker](const std::error_code &ec, item_pointer_t bytes) { tracker.done(ec, bytes); };
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t n = 0;
    for (; opts.heaps < 0 || n < std::uint64_t(opts.heaps); n++)
    {
        if (!tracker.wait_below(max_heaps))
            break;
        slot &s = slots[n % max_heaps];
        const s_item_pointer_t cnt = s_item_pointer_t(n % cnt_mask + 1);
        const std::size_t substream = n % n_dest;
        s.heap.emplace(f);
        const bool with_descriptors = n < n_dest;
        if (with_descriptors)
            for (const auto &d : descriptors)
                s.heap->add_descriptor(d);
        const std::size_t heap_items = opts.items * (with_descriptors ? 2 : 1);
        std::uint8_t *base = opts.verify ? s.data.data() : shared_data.data();
        for (std::size_t i = 0; i < opts.items; i++)
        {
            if (opts.verify)
                fill_verify(base + i * item_bytes, verify_sequence(cnt, heap_items, i, elements), elements);
            s.heap->add_item(first_item_id + s_item_pointer_t(i), base + i * item_bytes, item_bytes, false);
        }
        tracker.start();
        stream->async_send_heap(*s.heap, handler, cnt, substream);
    }
    tracker.wait_idle();

    // The stop heaps take the next counters (so that they never collide with a data heap).
    std::vector<send::heap> stop_heaps;
    stop_heaps.reserve(n_dest);
    for (std::size_t d = 0; d < n_dest; d++)
    {
        stop_heaps.emplace_back(f);
        stop_heaps.back().add_end();
        tracker.start();
        stream->async_send_heap(stop_heaps.back(), handler, s_item_pointer_t((n + d) % cnt_mask + 1), d);
    }
    tracker.wait_idle();
    stream->flush();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::uint64_t bytes = tracker.get_bytes();
    std::cout << "Sent " << bytes << " bytes in " << elapsed << " seconds, " << bytes * 8.0 / elapsed * 1e-9
              << " Gb/s\n"
              << std::flush;
    stream.reset();
    if (auto ec = tracker.get_error())
    {
        std::cerr << "spead2_send: " << ec.message() << '\n';
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    options opts = parse_args(argc, argv);
    try
    {
        return run(opts);
    }
    catch (const std::exception &e)
    {
        std::cerr << "spead2_send: " << e.what() << '\n';
        return 1;
    }
}
