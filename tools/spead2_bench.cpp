// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// spead2_bench: measures sustainable UDP receive rates between two machines, and decode speed
/// (API.md §6.3).
///
/// - `agent <port>` listens for a master on TCP <port> and receives its UDP data on the same port.
/// - `master [opts] <host>:<port>` drives an agent: a warm-up run, then 5 runs at full speed; if
///   every run delivers at least num_heaps - 1 heaps it reports "Limited by send speed",
///   otherwise it binary-searches the send rate until within 2%, each probe being 5 runs. Each run
///   sends --run-bytes of data (default 1e9; an extension over spead2 so that tests can be
///   short). It prints "Sustainable rate: X Gbps", or only X with --quiet.
/// - `mem [opts]` decodes --size bytes of in-memory packets (default 1 GiB) --passes times
///   (default 100) and prints the decode rate. With --ring a worker thread decodes into a ring of
///   --ring-heaps heaps that this thread empties; --quiet prints only the rate in Gb/s. As in
///   spead2, heaps always come from a pool sized from --heap-size.
///
/// Control protocol (C++ flavour; lines over TCP): the master sends `start`, then `name = value`
/// lines naming receiver settings (the agent's own option names, the set and order spead2's master
/// sends: multicast, tcp, pyspead, bind, packet, buffer, concurrent-heaps, substreams, ring-heaps,
/// mem-pool, mem-lower, mem-upper, mem-max-free, mem-initial, ring, memcpy-nt, ibv, ibv-vector,
/// ibv-max-poll; then the xdp ones only with --recv-xdp), then `end_config`; the agent answers
/// `ready` (or `error: <message>`). So our master and agent work with spead2's. The agent also
/// takes heap-size (a pool for heaps of that size), which our masters sent before.
/// `stop` is answered with the number of complete heaps received; `exit` ends the session (the
/// agent then waits for the next master until SIGINT/SIGTERM).
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>
#include <spead2/common/memory_pool.h>
#include <spead2/common/thread_pool.h>
#include <spead2/recv/mem_reader.h>
#include <spead2/recv/mem_to_stream.h>
#include <spead2/recv/ring_stream.h>
#include <spead2/recv/stream.h>
#include <spead2/recv/stream_base.h>
#include <spead2/send/heap.h>
#include <spead2/send/packet_generator.h>
#include <spead2/send/stream.h>
#include "cmdline/app.h"
#include "cmdline/endpoint.h"
#include "cmdline/interrupt_watcher.h"
#include "cmdline/protocol_options.h"
#include "cmdline/receiver_options.h"
#include "cmdline/sender_options.h"
#include "cmdline/test_data.h"

namespace
{

using namespace spead2;
using namespace spead2::tools;

/// A line-oriented view of a connected socket.
class line_socket
{
private:
    int fd_;
    std::string buffer_;

public:
    explicit line_socket(int fd)
        : fd_(fd)
    {
    }
    ~line_socket()
    {
        if (fd_ >= 0)
            close(fd_);
    }
    line_socket(const line_socket &) = delete;
    line_socket &operator=(const line_socket &) = delete;

    int get_fd() const { return fd_; }

    /// Reads one line (without its newline); false at end of stream or on error.
    bool read_line(std::string &line)
    {
        while (true)
        {
            auto pos = buffer_.find('\n');
            if (pos != std::string::npos)
            {
                line = buffer_.substr(0, pos);
                buffer_.erase(0, pos + 1);
                if (!line.empty() && line.back() == '\r')
                    line.pop_back();
                return true;
            }
            char chunk[4096];
            ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return false;
            buffer_.append(chunk, std::size_t(n));
        }
    }

    /// @throws std::system_error on failure
    void write_line(const std::string &line)
    {
        std::string data = line + '\n';
        std::size_t done = 0;
        while (done < data.size())
        {
            ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw std::system_error(errno, std::system_category(), "send");
            done += std::size_t(n);
        }
    }
};

/// A stream that only counts complete heaps.
class counting_stream : public recv::stream
{
private:
    std::atomic<std::uint64_t> heaps_{0};

protected:
    void heap_ready(recv::live_heap &&h) override
    {
        if (h.is_contiguous())
            heaps_.fetch_add(1, std::memory_order_relaxed);
    }

public:
    using recv::stream::stream;
    ~counting_stream() override { stop(); }
    std::uint64_t get_heaps() const { return heaps_.load(std::memory_order_relaxed); }
};

/**
 * The agent's receiver: a stream that counts complete heaps, through callbacks or, with
 * `ring = 1` (as spead2's agent), through a ring drained by a thread of its own.
 */
class agent_receiver
{
private:
    std::unique_ptr<counting_stream> callbacks_;
    std::unique_ptr<recv::ring_stream<>> ring_;
    std::thread consumer_;
    std::atomic<std::uint64_t> ring_heaps_{0};

public:
    agent_receiver(thread_pool &pool, const recv::stream_config &config, const receiver_options &receiver,
                   bool ring)
    {
        if (!ring)
        {
            callbacks_ = std::make_unique<counting_stream>(pool, config);
            return;
        }
        ring_ = std::make_unique<recv::ring_stream<>>(pool, config, receiver.make_ring_config());
        consumer_ = std::thread(
            [this]
            {
                try
                {
                    while (true)
                        if (ring_->pop_live().is_contiguous())
                            ring_heaps_.fetch_add(1, std::memory_order_relaxed);
                }
                catch (ringbuffer_stopped &)
                {
                }
            });
    }

    ~agent_receiver() { stop(); }

    recv::stream &stream() { return callbacks_ ? static_cast<recv::stream &>(*callbacks_) : *ring_; }

    /// Stops receiving; returns the complete heaps received.
    std::uint64_t stop()
    {
        if (callbacks_)
        {
            callbacks_->stop();
            return callbacks_->get_heaps();
        }
        ring_->stop();
        if (consumer_.joinable())
            consumer_.join();
        return ring_heaps_.load(std::memory_order_relaxed);
    }
};

/// Receiver settings that travel from master to agent.
struct agent_config
{
    protocol_options protocol;
    receiver_options receiver;
    /// Sizes a memory pool for the heaps when given (by our older masters); spead2's master sends
    /// mem-pool, mem-lower and mem-upper instead, which the receiver options turn into a pool.
    std::size_t heap_size = 0;
    bool ring = false;
    std::string multicast;
};

/// Parses the `name = value` lines of a start command with the receiver's own option parser.
agent_config parse_agent_config(const std::vector<std::string> &lines)
{
    agent_config config;
    CLI::App app("agent configuration", "agent");
    setup_app(app);
    config.protocol.add_options(app);
    config.receiver.add_options(app);
    app.add_option("--heap-size", config.heap_size);
    app.add_flag("--ring", config.ring);
    app.add_option("--multicast", config.multicast);
    std::vector<std::string> args;
    for (const auto &line : lines)
    {
        auto eq = line.find('=');
        if (eq == std::string::npos)
            throw std::invalid_argument("bad configuration line '" + line + "'");
        auto trim = [](std::string s)
        {
            s.erase(0, s.find_first_not_of(" \t"));
            s.erase(s.find_last_not_of(" \t") + 1);
            return s;
        };
        std::string name = trim(line.substr(0, eq));
        std::string value = trim(line.substr(eq + 1));
        CLI::Option *opt = app.get_option_no_throw("--" + name);
        if (!opt)
            throw std::invalid_argument("unknown setting '" + name + "'");
        static const char *const flags[] = {"pyspead", "tcp", "memcpy-nt", "mem-pool", "ibv", "xdp", "ring"};
        if (std::find(std::begin(flags), std::end(flags), name) != std::end(flags))
        {
            if (value == "1" || value == "true")
                args.push_back("--" + name);
        }
        else if (!value.empty())
        {
            args.push_back("--" + name);
            args.push_back(value);
        }
    }
    std::reverse(args.begin(), args.end()); // CLI11 takes a vector in reverse order
    app.parse(args);
    config.receiver.finalize(config.protocol);
    return config;
}

/// Serves one master connection. Returns when the master sends exit or disconnects.
void agent_session(line_socket &control, std::uint16_t port, thread_pool &pool)
{
    std::unique_ptr<agent_receiver> receiver;
    std::string line;
    while (control.read_line(line))
    {
        if (line == "start")
        {
            std::vector<std::string> config_lines;
            while (control.read_line(line) && line != "end_config")
                config_lines.push_back(line);
            try
            {
                receiver.reset();
                agent_config config = parse_agent_config(config_lines);
                recv::stream_config sconfig = config.receiver.make_stream_config(config.protocol);
                if (config.heap_size)
                {
                    const std::size_t buffers = config.receiver.max_heaps * config.receiver.substreams + 4;
                    sconfig.set_memory_allocator(
                        std::make_shared<memory_pool>(config.heap_size, config.heap_size, buffers, buffers));
                }
                receiver = std::make_unique<agent_receiver>(pool, sconfig, config.receiver, config.ring);
                std::string source = std::to_string(port);
                if (!config.multicast.empty())
                    source = config.multicast + ":" + source;
                config.receiver.add_readers(receiver->stream(), {source}, config.protocol);
                control.write_line("ready");
            }
            catch (const std::exception &e)
            {
                receiver.reset();
                control.write_line(std::string("error: ") + e.what());
            }
        }
        else if (line == "stop")
        {
            std::uint64_t heaps = 0;
            if (receiver)
            {
                heaps = receiver->stop();
                receiver.reset();
            }
            std::cout << heaps << std::endl; // as spead2's agent does, one line per run
            control.write_line(std::to_string(heaps));
        }
        else if (line == "exit")
            break;
        else if (!line.empty())
            control.write_line("error: unknown command '" + line + "'");
    }
}

int run_agent(std::uint16_t port)
{
    std::atomic<int> listen_fd{-1};
    std::atomic<int> session_fd{-1};
    std::atomic<bool> stopping{false};
    interrupt_watcher watcher(
        [&]
        {
            stopping = true;
            // shutdown() wakes a thread blocked in accept() or recv() on these sockets.
            if (int fd = listen_fd.load(); fd >= 0)
                shutdown(fd, SHUT_RDWR);
            if (int fd = session_fd.load(); fd >= 0)
                shutdown(fd, SHUT_RDWR);
        });
    thread_pool pool(1);

    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    bool v6 = fd >= 0;
    if (!v6)
        fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        throw std::system_error(errno, std::system_category(), "socket");
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc;
    if (v6)
    {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        sockaddr_in6 addr{};
        addr.sin6_family = AF_INET6;
        addr.sin6_addr = in6addr_any;
        addr.sin6_port = htons(port);
        rc = bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
    }
    else
    {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_ANY);
        addr.sin_port = htons(port);
        rc = bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
    }
    if (rc < 0 || listen(fd, 1) < 0)
    {
        int err = errno;
        close(fd);
        throw std::system_error(err, std::system_category(), "cannot listen on port " + std::to_string(port));
    }
    listen_fd = fd;
    while (!stopping)
    {
        int conn = accept(fd, nullptr, nullptr);
        if (conn < 0)
        {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        session_fd = conn;
        if (stopping) // the signal may have come before session_fd was set
            shutdown(conn, SHUT_RDWR);
        line_socket control(conn);
        agent_session(control, port, pool);
        session_fd = -1;
    }
    listen_fd = -1;
    close(fd);
    return 0;
}

struct master_options
{
    bool quiet = false;
    bool ring = false;
    std::size_t heap_size = 4194304;
    std::string multicast;
    double run_bytes = 1e9;
    std::string endpoint_text;
    protocol_options protocol;
    receiver_options receiver;
    sender_options sender;
};

/// Talks to an agent and runs the sends of one measurement.
class master
{
private:
    const master_options &opts_;
    endpoint agent_;
    line_socket control_;
    std::size_t num_heaps_;
    std::vector<std::uint8_t> data_;

    static int connect_to(const endpoint &ep)
    {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo *result = nullptr;
        std::string port = std::to_string(ep.port);
        int rc = getaddrinfo(ep.host.empty() ? nullptr : ep.host.c_str(), port.c_str(), &hints, &result);
        if (rc != 0)
            throw std::runtime_error("cannot resolve " + ep.host + ": " + gai_strerror(rc));
        int err = 0;
        for (addrinfo *a = result; a; a = a->ai_next)
        {
            int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
            if (fd < 0)
            {
                err = errno;
                continue;
            }
            if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            {
                freeaddrinfo(result);
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                return fd;
            }
            err = errno;
            close(fd);
        }
        freeaddrinfo(result);
        throw std::system_error(err, std::system_category(), "cannot connect to agent");
    }

    std::string read_reply()
    {
        std::string line;
        if (!control_.read_line(line))
            throw std::runtime_error("agent closed the connection");
        if (line.rfind("error", 0) == 0)
            throw std::runtime_error("agent: " + line);
        return line;
    }

    void send_config()
    {
        const receiver_options &r = opts_.receiver;
        control_.write_line("start");
        auto set = [&](const std::string &name, const auto &value)
        {
            std::ostringstream out;
            out << name << " = " << value;
            control_.write_line(out.str());
        };
        // The settings and their order are spead2's, so that either agent understands us.
        set("multicast", opts_.multicast);
        set("tcp", 0);
        set("pyspead", opts_.protocol.pyspead ? 1 : 0);
        set("bind", r.bind);
        set("packet", r.packet);
        set("buffer", r.buffer);
        set("concurrent-heaps", r.max_heaps);
        set("substreams", r.substreams);
        set("ring-heaps", r.ring_heaps);
        // A pool of buffers that fit one heap (with spead2's 1 KiB of slack).
        set("mem-pool", 1);
        set("mem-lower", opts_.heap_size);
        set("mem-upper", opts_.heap_size + 1024);
        set("mem-max-free", r.mem_max_free);
        set("mem-initial", r.mem_initial);
        set("ring", opts_.ring ? 1 : 0);
        set("memcpy-nt", r.memcpy_nt ? 1 : 0);
        set("ibv", r.ibv ? 1 : 0);
        set("ibv-vector", r.ibv_comp_vector);
        set("ibv-max-poll", r.ibv_max_poll);
        if (r.xdp) // only then: an agent without AF_XDP (the reference's) knows none of these
        {
            set("xdp", 1);
            std::string queues;
            for (std::uint32_t q : r.xdp_queues)
                queues += (queues.empty() ? "" : ",") + std::to_string(q);
            set("xdp-queue", queues);
            set("xdp-attach", r.xdp_attach);
            set("xdp-copy", r.xdp_copy);
            set("xdp-max-poll", r.xdp_max_poll);
            if (r.xdp_busy_poll) // only then: our older agents know no busy polling
                set("xdp-busy-poll", r.xdp_busy_poll);
        }
        control_.write_line("end_config");
        if (read_reply() != "ready")
            throw std::runtime_error("agent did not answer ready");
    }

public:
    explicit master(const master_options &opts)
        : opts_(opts)
        , agent_(parse_endpoint(opts.endpoint_text, false))
        , control_(connect_to(agent_))
        , num_heaps_(std::max<std::size_t>(2, std::size_t(opts.run_bytes / double(opts.heap_size))))
        , data_(opts.heap_size)
    {
    }

    ~master()
    {
        try
        {
            control_.write_line("exit");
        }
        catch (std::exception &)
        {
        }
    }

    std::size_t get_num_heaps() const { return num_heaps_; }

    struct result
    {
        std::uint64_t heaps;
        double rate; ///< achieved send rate in bytes/s
    };

    /// One run at @a rate bytes/s (0: as fast as possible).
    result run_once(double rate)
    {
        send_config();
        thread_pool pool(1);
        sender_options sender = opts_.sender;
        sender.packet = opts_.receiver.packet;
        sender.rate = rate * 8e-9;
        endpoint dest{opts_.multicast.empty() ? agent_.host : opts_.multicast, agent_.port};
        protocol_options protocol = opts_.protocol;
        protocol.tcp = false;
        std::unique_ptr<send::stream> stream = sender.make_stream(pool, protocol, {dest});

        send::heap h(sender.make_flavour(protocol));
        h.add_item(first_item_id, data_.data(), data_.size(), false);
        std::mutex mutex;
        std::condition_variable cv;
        std::size_t in_flight = 0;
        std::uint64_t bytes = 0;
        std::error_code error;
        auto handler = [&](const std::error_code &ec, item_pointer_t n)
        {
            std::lock_guard<std::mutex> lock(mutex);
            in_flight--;
            bytes += n;
            if (ec && !error)
                error = ec;
            cv.notify_all();
        };
        const auto start = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < num_heaps_; i++)
        {
            {
                std::unique_lock<std::mutex> lock(mutex);
                cv.wait(lock, [&] { return in_flight < sender.max_heaps; });
                in_flight++;
            }
            stream->async_send_heap(h, handler);
        }
        {
            std::unique_lock<std::mutex> lock(mutex);
            cv.wait(lock, [&] { return in_flight == 0; });
        }
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        stream.reset();
        if (error)
            throw std::system_error(error, "send");
        // Give the receiver a moment to drain its socket buffer before it is stopped.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        control_.write_line("stop");
        std::uint64_t heaps = std::stoull(read_reply());
        return {heaps, double(bytes) / elapsed};
    }

    /// Five runs at @a rate: whether all kept up, and the mean achieved rate.
    std::pair<bool, double> probe(double rate)
    {
        bool good = true;
        double total = 0;
        constexpr int runs = 5;
        for (int i = 0; i < runs; i++)
        {
            result r = run_once(rate);
            if (r.heaps + 1 < num_heaps_)
                good = false;
            total += r.rate;
        }
        return {good, total / runs};
    }
};

int run_master(const master_options &opts)
{
    master m(opts);
    m.run_once(0.0); // warm-up
    auto [good, actual] = m.probe(0.0);
    double best = 0.0;
    // spead2's output, three decimals of Gb/s.
    const auto gbps = [](double bytes_per_second)
    {
        std::ostringstream out;
        out << std::fixed << std::setprecision(3) << bytes_per_second * 8e-9;
        return out.str();
    };
    if (!opts.quiet)
        std::cout << "Send rate: " << gbps(actual) << " Gbps\n" << std::flush;
    if (good)
    {
        if (!opts.quiet)
            std::cout << "Limited by send speed\n" << std::flush;
        best = actual;
    }
    else
    {
        double low = 0.0, high = actual;
        while (high - low > high * 0.02)
        {
            double mid = (low + high) / 2;
            auto [ok, achieved] = m.probe(mid);
            if (!opts.quiet)
                std::cout << "Rate: " << gbps(mid) << " Gbps (" << gbps(achieved)
                          << " actual): " << (ok ? "GOOD" : "BAD") << '\n'
                          << std::flush;
            if (ok)
            {
                low = mid;
                best = achieved;
            }
            else
                high = mid;
        }
    }
    if (opts.quiet)
        std::cout << best * 8e-9 << '\n';
    else
        std::cout << "Sustainable rate: " << gbps(best) << " Gbps\n";
    return 0;
}

/// A synchronous stream that counts heaps (for mem mode).
class counting_stream_base : public recv::stream_base
{
private:
    std::uint64_t heaps_ = 0;

protected:
    void heap_ready(recv::live_heap &&h) override
    {
        if (h.is_contiguous())
            heaps_++;
    }

public:
    using recv::stream_base::stream_base;
    ~counting_stream_base() override { stop(); }
    std::uint64_t get_heaps() const { return heaps_; }
};

struct mem_options
{
    std::size_t heap_size = 4194304;
    double size = 1024.0 * 1024 * 1024;
    int passes = 100;
    bool quiet = false;
    bool ring = false;
    protocol_options protocol;
    receiver_options receiver;
};

int run_mem(const mem_options &opts)
{
    const flavour f(4, 64, 40, opts.protocol.get_bug_compat());
    std::vector<std::uint8_t> data(opts.heap_size);
    send::heap h(f);
    h.add_item(first_item_id, data.data(), data.size(), false);
    std::vector<std::uint8_t> packets;
    packets.reserve(std::size_t(opts.size) + opts.receiver.packet);
    std::uint64_t heaps = 0;
    while (packets.size() < opts.size)
    {
        send::packet_generator gen(h, heaps + 1, opts.receiver.packet);
        while (gen.has_next_packet())
        {
            std::vector<std::uint8_t> p = gen.next_packet();
            packets.insert(packets.end(), p.begin(), p.end());
        }
        heaps++;
    }
    const recv::stream_config config = opts.receiver.make_stream_config(opts.protocol);
    const recv::ring_stream_config ring_config = opts.receiver.make_ring_config();
    std::unique_ptr<thread_pool> pool;
    if (opts.ring)
        pool = std::make_unique<thread_pool>(1);
    const auto start = std::chrono::steady_clock::now();
    for (int pass = 0; pass < opts.passes; pass++)
    {
        std::uint64_t received = 0;
        if (opts.ring)
        {
            // A worker thread decodes into the ring, this thread takes the heaps out: the
            // hand-over between them is part of what is measured.
            recv::ring_stream<> stream(*pool, config, ring_config);
            stream.emplace_reader<recv::mem_reader>(packets.data(), packets.size());
            try
            {
                while (true)
                    if (stream.pop_live().is_contiguous())
                        received++;
            }
            catch (ringbuffer_stopped &)
            {
            }
        }
        else
        {
            counting_stream_base stream(config);
            recv::mem_to_stream(stream, packets.data(), packets.size());
            received = stream.get_heaps();
        }
        if (received != heaps)
            throw std::runtime_error("decoded " + std::to_string(received) + " heaps instead of " +
                                     std::to_string(heaps));
    }
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double total = double(packets.size()) * opts.passes;
    const double gbps = total * 8e-9 / elapsed;
    if (opts.quiet)
        std::cout << gbps << '\n';
    else
        std::cout << "Decoded " << heaps << " heaps (" << packets.size() << " bytes) " << opts.passes
                  << " times in " << elapsed << " seconds\n"
                  << "Rate: " << gbps << " Gbps\n";
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    CLI::App app("Measure SPEAD receive performance", "spead2_bench");
    setup_app(app);
    app.require_subcommand(1, 1);

    std::uint16_t agent_port = 0;
    CLI::App *agent = app.add_subcommand("agent", "Receive data from a master");
    agent->add_option("port", agent_port, "TCP control port (also the UDP data port)")->required();

    master_options mopts;
    CLI::App *master_cmd =
        app.add_subcommand("master", "Send data to an agent and find the sustainable rate");
    setup_app(*master_cmd);
    master_cmd->add_option("endpoint", mopts.endpoint_text, "Agent host:port")->required();
    master_cmd->add_flag("--quiet", mopts.quiet, "Print only the final result");
    master_cmd->add_flag("--ring", mopts.ring, "Use ringbuffer instead of callbacks (in the agent)");
    master_cmd->add_option("--heap-size", mopts.heap_size, "Payload size for heap")
        ->check(CLI::PositiveNumber);
    master_cmd->add_option("--multicast", mopts.multicast,
                           "Send to this multicast group instead of the agent");
    master_cmd->add_option("--run-bytes", mopts.run_bytes, "Bytes of payload per run")
        ->check(CLI::PositiveNumber);
    mopts.protocol.add_options(*master_cmd, option_namer(std::map<std::string, std::string>{{"tcp", ""}}));
    mopts.receiver.add_options(*master_cmd, option_namer({{"bind", "recv-bind"},
                                                          {"buffer", "recv-buffer"},
                                                          {"ibv", "recv-ibv"},
                                                          {"ibv-vector", "recv-ibv-vector"},
                                                          {"ibv-max-poll", "recv-ibv-max-poll"},
                                                          {"xdp", "recv-xdp"},
                                                          {"xdp-queue", "recv-xdp-queue"},
                                                          {"xdp-attach", "recv-xdp-attach"},
                                                          {"xdp-copy", "recv-xdp-copy"},
                                                          {"xdp-max-poll", "recv-xdp-max-poll"},
                                                          {"xdp-busy-poll", "recv-xdp-busy-poll"},
                                                          {"mem-pool", ""},
                                                          {"mem-lower", ""},
                                                          {"mem-upper", ""}}));
    mopts.sender.add_options(*master_cmd, option_namer({{"bind", "send-bind"},
                                                        {"buffer", "send-buffer"},
                                                        {"ibv", "send-ibv"},
                                                        {"ibv-vector", "send-ibv-vector"},
                                                        {"ibv-max-poll", "send-max-poll"},
                                                        {"xdp", "send-xdp"},
                                                        {"xdp-queue", "send-xdp-queue"},
                                                        {"xdp-copy", "send-xdp-copy"},
                                                        {"packet", ""},
                                                        {"rate", ""}}));

    mem_options memopts;
    CLI::App *mem = app.add_subcommand("mem", "Measure decoding speed of in-memory packets");
    setup_app(*mem);
    mem->add_option("--heap-size", memopts.heap_size, "Payload size for heap")->check(CLI::PositiveNumber);
    mem->add_option("--size", memopts.size, "Bytes of packets to decode per pass")
        ->check(CLI::PositiveNumber);
    mem->add_option("--passes", memopts.passes, "Number of passes")->check(CLI::PositiveNumber);
    mem->add_flag("--quiet", memopts.quiet, "Print only the final result (Gb/s)");
    mem->add_flag("--ring", memopts.ring, "Use ringbuffer instead of callbacks");
    memopts.protocol.add_options(*mem, option_namer(std::map<std::string, std::string>{{"tcp", ""}}));
    memopts.receiver.add_options(*mem, option_namer({{"bind", ""},
                                                     {"buffer", ""},
                                                     {"ibv", ""},
                                                     {"ibv-vector", ""},
                                                     {"ibv-max-poll", ""},
                                                     {"xdp", ""},
                                                     {"xdp-queue", ""},
                                                     {"xdp-attach", ""},
                                                     {"xdp-copy", ""},
                                                     {"xdp-max-poll", ""},
                                                     {"xdp-busy-poll", ""},
                                                     {"mem-pool", ""},
                                                     {"mem-lower", ""},
                                                     {"mem-upper", ""}}));

    parse_or_exit(app, argc, argv);
    try
    {
        if (master_cmd->parsed())
        {
            if (mopts.sender.ibv && mopts.multicast.empty())
                throw std::invalid_argument("--send-ibv requires --multicast");
            mopts.receiver.finalize(mopts.protocol);
            mopts.sender.finalize(mopts.protocol);
        }
        else if (mem->parsed())
        {
            // As spead2's: heaps always come from a pool sized for them (--mem-max-free and
            // --mem-initial tune it), the size range as the master sends the agent.
            memopts.receiver.mem_pool = true;
            memopts.receiver.mem_lower = memopts.heap_size;
            memopts.receiver.mem_upper = memopts.heap_size + 1024;
            memopts.receiver.finalize(memopts.protocol);
        }
    }
    catch (const std::invalid_argument &e)
    {
        usage_error(master_cmd->parsed() ? *master_cmd : *mem, e.what());
    }

    try
    {
        if (agent->parsed())
            return run_agent(agent_port);
        else if (master_cmd->parsed())
            return run_master(mopts);
        else
            return run_mem(memopts);
    }
    catch (const std::exception &e)
    {
        std::cerr << "spead2_bench: " << e.what() << '\n';
        return 1;
    }
}
