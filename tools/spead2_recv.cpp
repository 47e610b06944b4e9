// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// spead2_recv: receives heaps from UDP, TCP or pcap sources and prints them (API.md §6.2).
///
/// Output (stdout): one "Received heap N" block per heap (unless --quiet), then, when every
/// stream has stopped or on SIGINT/SIGTERM, "Received N heaps" and one "name: value" line per
/// stream statistic (summed over the streams). Progress: unless --quiet, a line "Received N heaps
/// so far" goes to stderr every 5 seconds in which heaps arrived. Exit status: 0; 1 on a runtime
/// error or a failed --verify check; 2 on a bad command line.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <spead2/common/endian.h>
#include <spead2/common/ringbuffer.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/heap.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/recv/stream.h>
#include "cmdline/app.h"
#include "cmdline/interrupt_watcher.h"
#include "cmdline/protocol_options.h"
#include "cmdline/receiver_options.h"
#include "cmdline/test_data.h"

namespace
{

using namespace spead2;
using namespace spead2::tools;

struct options
{
    bool quiet = false;
    bool descriptors = false;
    bool joint = false;
    bool ring = false;
    bool verify = false;
    int threads = 1;
    std::vector<std::string> sources;
    protocol_options protocol;
    receiver_options receiver;
};

// --descriptors prints descriptors as spead2's spead2_recv does, byte for byte:
// "[(u, 8), (f, 32)]", "(?, 4)", "(5)", and an empty dtype line when there is no numpy header.
std::string format_list(const std::vector<std::pair<char, s_item_pointer_t>> &format)
{
    std::ostringstream out;
    out << '[';
    for (std::size_t i = 0; i < format.size(); i++)
    {
        if (i > 0)
            out << ", ";
        out << '(' << format[i].first << ", " << format[i].second << ')';
    }
    out << ']';
    return out.str();
}

std::string shape_tuple(const std::vector<s_item_pointer_t> &shape)
{
    std::ostringstream out;
    out << '(';
    for (std::size_t i = 0; i < shape.size(); i++)
    {
        if (i > 0)
            out << ", ";
        if (shape[i] < 0)
            out << '?';
        else
            out << shape[i];
    }
    out << ')';
    return out.str();
}

/// Shows and counts heaps from any number of streams (serialised by a mutex).
class heap_handler
{
private:
    const options &opts_;
    std::mutex mutex_;
    std::uint64_t complete_ = 0;
    std::uint64_t verify_failures_ = 0;
    const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();

    void verify(const recv::heap &h)
    {
        const auto &items = h.get_items();
        for (const auto &it : items)
        {
            if (it.is_immediate || it.id < first_item_id)
                continue;
            if (it.length % 4 != 0)
            {
                verify_failures_++;
                std::cerr << "Verification failed in heap " << h.get_cnt() << ", item 0x" << std::hex << it.id
                          << std::dec << ": " << it.length
                          << " bytes is not a whole number of 32-bit values\n";
                continue;
            }
            const std::size_t elements = it.length / 4;
            verify_sequence expected(h.get_cnt(), items.size(), std::size_t(it.id - first_item_id), elements);
            for (std::size_t j = 0; j < elements; j++)
            {
                const auto value = load_be<std::uint32_t>(it.ptr + 4 * j);
                const std::uint32_t want = expected.next();
                if (value != want)
                {
                    // spead2's message; it stops at the first mismatch, we count them all.
                    verify_failures_++;
                    std::cerr << "Verification mismatch in heap " << h.get_cnt() << ", item 0x" << std::hex
                              << it.id << std::dec << " offset " << j << "\nexpected 0x" << std::hex << want
                              << ", actual 0x" << value << std::dec << '\n';
                    break;
                }
            }
        }
    }

    void show(const recv::heap &h)
    {
        auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        std::ostringstream out;
        out << "Received heap " << h.get_cnt() << " at " << elapsed << '\n';
        if (opts_.descriptors)
        {
            for (const auto &d : h.get_descriptors())
            {
                out << "Descriptor for " << d.name << " (0x" << std::hex << d.id << std::dec << ")\n"
                    << "  description: " << d.description << '\n'
                    << "  format:      " << format_list(d.format) << '\n'
                    << "  dtype:       " << d.numpy_header << '\n'
                    << "  shape:       " << shape_tuple(d.shape) << '\n';
            }
        }
        for (const auto &it : h.get_items())
        {
            out << "0x" << std::hex << it.id << std::dec << " = [" << it.length << " bytes]";
            if (it.is_immediate)
                out << " = 0x" << std::hex << it.immediate_value << std::dec;
            out << '\n';
        }
        std::cout << out.str() << std::flush;
    }

public:
    explicit heap_handler(const options &opts)
        : opts_(opts)
    {
    }

    void handle(recv::live_heap &&lh)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!lh.is_contiguous())
        {
            if (!opts_.quiet)
                std::cout << "Discarding incomplete heap " << lh.get_cnt() << '\n' << std::flush;
            return;
        }
        recv::heap h(std::move(lh));
        complete_++;
        if (opts_.verify)
            verify(h);
        if (!opts_.quiet)
            show(h);
    }

    std::uint64_t get_complete()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return complete_;
    }

    std::uint64_t get_verify_failures()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return verify_failures_;
    }
};

/// Tells the main thread when streams stop.
class stop_tracker
{
private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::size_t stopped_ = 0;
    bool interrupted_ = false;

public:
    void stream_stopped()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopped_++;
        cv_.notify_all();
    }

    void interrupt()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        interrupted_ = true;
        cv_.notify_all();
    }

    /// Waits until @a n streams stopped or an interrupt; returns false on timeout.
    template<typename Duration>
    bool wait_for(std::size_t n, Duration timeout)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return stopped_ >= n || interrupted_; });
    }
};

/// A stream that hands each heap to the handler as soon as it is ready (no ringbuffer).
class callback_stream : public recv::stream
{
private:
    heap_handler &handler_;
    stop_tracker &tracker_;

protected:
    void heap_ready(recv::live_heap &&h) override { handler_.handle(std::move(h)); }

    void stop_received() override
    {
        recv::stream::stop_received();
        tracker_.stream_stopped();
    }

public:
    callback_stream(io_context_ref io, const recv::stream_config &config, heap_handler &handler,
                    stop_tracker &tracker)
        : recv::stream(std::move(io), config)
        , handler_(handler)
        , tracker_(tracker)
    {
    }

    ~callback_stream() override { stop(); }
};

/// Prints a progress line to stderr every 5 seconds (when the count changed) until destroyed.
class progress_reporter
{
private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;

public:
    progress_reporter(heap_handler &handler, bool enabled)
    {
        if (!enabled)
            return;
        thread_ = std::thread(
            [this, &handler]
            {
                std::unique_lock<std::mutex> lock(mutex_);
                std::uint64_t last = 0;
                while (!cv_.wait_for(lock, std::chrono::seconds(5), [this] { return done_; }))
                {
                    std::uint64_t now = handler.get_complete();
                    if (now != last)
                        std::cerr << "Received " << now << " heaps so far\n" << std::flush;
                    last = now;
                }
            });
    }

    ~progress_reporter()
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            done_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable())
            thread_.join();
    }
};

options parse_args(int argc, char **argv)
{
    options opts;
    CLI::App app("Receive SPEAD heaps and print them", "spead2_recv");
    setup_app(app);
    app.add_option("source", opts.sources, "Sources: [host:]port or a pcap file")->required();
    app.add_flag("--quiet", opts.quiet, "Only show total of heaps received");
    app.add_flag("--descriptors", opts.descriptors, "Show descriptors");
    app.add_flag("--joint", opts.joint, "Treat all sources as a single stream");
    app.add_flag("--ring", opts.ring, "Use ringbuffer instead of callbacks (implies --joint)");
    app.add_flag("--verify", opts.verify, "Verify the data sent by spead2_send --verify");
    app.add_option("--threads", opts.threads, "Number of worker threads")->check(CLI::PositiveNumber);
    opts.protocol.add_options(app);
    opts.receiver.add_options(app);
    parse_or_exit(app, argc, argv);
    try
    {
        opts.receiver.finalize(opts.protocol);
    }
    catch (const std::invalid_argument &e)
    {
        usage_error(app, e.what());
    }
    if (opts.ring)
        opts.joint = true;
    return opts;
}

int run(const options &opts)
{
    heap_handler handler(opts);
    stop_tracker tracker;
    // Declared before the streams so that it outlives them; created after the watcher so that
    // its threads inherit the blocked signals.
    std::unique_ptr<thread_pool> pool_holder;
    std::vector<std::unique_ptr<recv::stream>> streams;
    recv::ring_stream<> *ring = nullptr;
    // Streams are stopped from the watcher's thread on SIGINT/SIGTERM; guard the list.
    std::mutex streams_mutex;
    interrupt_watcher watcher(
        [&]
        {
            std::lock_guard<std::mutex> lock(streams_mutex);
            for (auto &s : streams)
                s->stop();
            tracker.interrupt();
        });
    pool_holder = std::make_unique<thread_pool>(opts.threads);
    thread_pool &pool = *pool_holder;

    {
        std::lock_guard<std::mutex> lock(streams_mutex);
        if (opts.ring)
        {
            auto s = std::make_unique<recv::ring_stream<>>(
                pool, opts.receiver.make_stream_config(opts.protocol), opts.receiver.make_ring_config());
            ring = s.get();
            streams.push_back(std::move(s));
            opts.receiver.add_readers(*ring, opts.sources, opts.protocol);
        }
        else if (opts.joint)
        {
            streams.push_back(std::make_unique<callback_stream>(
                pool, opts.receiver.make_stream_config(opts.protocol), handler, tracker));
            opts.receiver.add_readers(*streams.back(), opts.sources, opts.protocol);
        }
        else
        {
            for (const auto &source : opts.sources)
            {
                streams.push_back(std::make_unique<callback_stream>(
                    pool, opts.receiver.make_stream_config(opts.protocol), handler, tracker));
                opts.receiver.add_readers(*streams.back(), {source}, opts.protocol);
            }
        }
    }

    {
        progress_reporter progress(handler, !opts.quiet);
        if (ring)
        {
            try
            {
                while (true)
                    handler.handle(ring->pop_live());
            }
            catch (ringbuffer_stopped &)
            {
            }
        }
        else
        {
            while (!tracker.wait_for(streams.size(), std::chrono::seconds(1)))
            {
            }
        }
    }

    recv::stream_stats stats;
    {
        std::lock_guard<std::mutex> lock(streams_mutex);
        for (std::size_t i = 0; i < streams.size(); i++)
        {
            streams[i]->stop();
            if (i == 0)
                stats = streams[i]->get_stats();
            else
                stats += streams[i]->get_stats();
        }
    }
    std::cout << "Received " << handler.get_complete() << " heaps\n";
    const auto &config = stats.get_config();
    for (std::size_t i = 0; i < stats.size(); i++)
        std::cout << config[i].get_name() << ": " << stats[i] << '\n';
    std::cout << std::flush;
    {
        std::lock_guard<std::mutex> lock(streams_mutex);
        streams.clear();
    }
    if (opts.verify && handler.get_verify_failures() > 0)
    {
        std::cerr << handler.get_verify_failures() << " items failed verification\n";
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
        std::cerr << "spead2_recv: " << e.what() << '\n';
        return 1;
    }
}
