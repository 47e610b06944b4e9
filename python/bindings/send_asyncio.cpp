// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Bindings of the send streams for asyncio (spead2._spead2.send.*StreamAsyncio): completions are
/// queued by C++ and handed to Python on the event loop thread through a pollable fd.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>
#include <asio.hpp>
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/vector.h>
#include <spead2/common/inproc_queue.h>
#include <spead2/common/semaphore.h>
#include <spead2/send/udp_ibv_stream.h>
#include <spead2/send/inproc_stream.h>
#include <spead2/send/stream.h>
#include <spead2/send/stream_config.h>
#include <spead2/send/tcp_stream.h>
#include <spead2/send/udp_stream.h>
#include <spead2/send/udp_xdp_stream.h>
#include "ibv_bindings.h"
#include "bindings.h"
#include "bindings_util.h"
#include "common.h"
#include "gil.h"
#include "net_bindings.h"
#include "send_bindings.h"
#include "udp_stream_bindings.h"
#include "string_caster.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace spead2::python
{

namespace
{

/**
 * Completions waiting for the event loop. C++ handlers push from io_context threads (no GIL, no
 * Python); the event loop thread takes them all in process_callbacks. The fd polls readable while
 * anything is queued: the semaphore holds one token exactly while @c signalled_ is set, so a
 * burst of completions costs one wakeup. Shared (std::shared_ptr) with the handlers, so a handler
 * that runs after the stream has gone (the TCP connect handler can) still has somewhere to push.
 */
class completion_queue
{
public:
    struct completion
    {
        std::uint64_t id;
        std::error_code ec;
        item_pointer_t bytes;
    };

private:
    std::mutex mutex_;
    std::vector<completion> items_;
    bool signalled_ = false;
    semaphore_fd sem_;

public:
    void push(std::uint64_t id, const std::error_code &ec, item_pointer_t bytes)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        items_.push_back(completion{id, ec, bytes});
        if (!signalled_)
        {
            signalled_ = true;
            sem_.put();
        }
    }

    /// Takes everything queued into @a out (cleared first) and drains the fd.
    void take(std::vector<completion> &out)
    {
        out.clear();
        std::lock_guard<std::mutex> lock(mutex_);
        out.swap(items_);
        if (signalled_)
        {
            signalled_ = false;
            // Cannot fail: the token was put by push and only this function takes it.
            (void)sem_.try_get();
        }
    }

    int get_fd() const { return sem_.get_fd(); }
};

/// The id of the TCP connect completion; heaps are numbered from 1.
constexpr std::uint64_t connect_id = 0;

/**
 * A send stream for asyncio: @a Base (a send::stream) plus the Python side of its completions.
 * Each queued heap or group gets an id; the Python callback and the objects that keep the heaps
 * alive stay in @c pending_ (touched only with the GIL), while the C++ handler only pushes the id
 * into the completion queue. process_callbacks then calls `callback(exc_or_None, bytes)` and
 * drops the heaps. So no Python runs on an io_context thread, and the heaps are released as soon
 * as the event loop has seen their completion.
 *
 * Registered with the atexit hook (which waits for the heaps queued so far). The destructor flushes with the
 * GIL released and then releases the pending callbacks, which never run.
 */
template<typename Base>
class asyncio_stream : public Base
{
private:
    struct pending
    {
        nb::object callback;
        nb::object keep_alive; ///< The heap(s), until the completion is processed
    };

    std::shared_ptr<completion_queue> queue_;
    std::unordered_map<std::uint64_t, pending> pending_;
    std::uint64_t next_id_ = 1;
    std::vector<completion_queue::completion> scratch_;

    /// A handler that only touches the (shared) queue.
    send::stream::completion_handler make_handler(std::uint64_t id) const
    {
        return [queue = queue_, id](const std::error_code &ec, item_pointer_t bytes)
        { queue->push(id, ec, bytes); };
    }

    /**
     * Registers @a callback and @a keep_alive under a new id and calls @a queue_fn(handler).
     * Once @a queue_fn returns the handler will be called (also when it returns false), so the
     * entry stays; if it throws, the handler was never taken and the entry is removed.
     */
    template<typename F>
    bool queue_with_callback(nb::object callback, nb::object keep_alive, F &&queue_fn)
    {
        std::uint64_t id = next_id_++;
        pending_.emplace(id, pending{std::move(callback), std::move(keep_alive)});
        try
        {
            return queue_fn(make_handler(id));
        }
        catch (...)
        {
            pending_.erase(id);
            throw;
        }
    }

public:
    template<typename... Args>
    explicit asyncio_stream(std::shared_ptr<completion_queue> queue, Args &&...args)
        : Base(std::forward<Args>(args)...)
        , queue_(std::move(queue))
    {
        register_stoppable(this, [this] { this->flush_queued(); });
    }

    ~asyncio_stream() override
    {
        unregister_stoppable(this);
        // Wait for every heap, so no handler refers to heap memory about to be freed; handlers
        // never need the GIL, so other Python threads can run meanwhile (not while finalizing).
        if (Py_IsInitialized() && PyGILState_Check())
        {
            gil_release release;
            this->flush();
        }
        else
            this->flush();
        // Normally the GIL is held here (Python deallocates the object), also while the
        // interpreter finalizes; otherwise the Python objects cannot be released: leak them.
        if (!PyGILState_Check())
        {
            for (auto &[id, p] : pending_)
            {
                p.callback.release();
                p.keep_alive.release();
            }
        }
    }

    /// Registers the callback for the connect completion (TCP); GIL held.
    void set_connect_callback(nb::object callback)
    {
        pending_.emplace(connect_id, pending{std::move(callback), nb::none()});
    }

    int get_fd() const { return queue_->get_fd(); }

    /**
     * For the cyclic GC: the callbacks usually refer to a future, its loop and through the loop's
     * reader to this stream. The heaps are not visited: they must stay until sent.
     */
    int traverse(visitproc visit, void *arg) const
    {
        for (const auto &[id, p] : pending_)
            Py_VISIT(p.callback.ptr());
        return 0;
    }

    /// Breaks such a cycle (tp_clear): the callbacks are dropped, their completions ignored.
    void clear()
    {
        for (auto &[id, p] : pending_)
            p.callback.reset();
    }

    bool async_send_heap_py(nb::handle_t<heap_wrapper> h, nb::object callback, s_item_pointer_t cnt,
                            std::size_t substream_index, double rate)
    {
        const heap_wrapper &heap = *nb::inst_ptr<heap_wrapper>(h);
        return queue_with_callback(
            std::move(callback), nb::borrow(h),
            [&](send::stream::completion_handler &&handler)
            { return this->async_send_heap(heap, std::move(handler), cnt, substream_index, rate); });
    }

    bool async_send_heaps_list(nb::handle_t<heap_reference_list> heaps, nb::object callback,
                               send::group_mode mode)
    {
        // The list is immutable and holds its heaps.
        const auto &refs = nb::inst_ptr<heap_reference_list>(heaps)->get_refs();
        return queue_with_callback(
            std::move(callback), nb::borrow(heaps),
            [&](send::stream::completion_handler &&handler)
            { return this->async_send_heaps(refs.begin(), refs.end(), std::move(handler), mode); });
    }

    bool async_send_heaps_seq(const std::vector<const heap_reference_wrapper *> &heaps, nb::object callback,
                              send::group_mode mode)
    {
        // Keep the heaps themselves (not the caller's list, which may change while they are in
        // flight).
        nb::list keep;
        std::vector<send::heap_reference> refs;
        refs.reserve(heaps.size());
        for (const heap_reference_wrapper *r : heaps)
        {
            keep.append(r->heap_obj);
            refs.push_back(r->get());
        }
        return queue_with_callback(
            std::move(callback), std::move(keep),
            [&](send::stream::completion_handler &&handler)
            { return this->async_send_heaps(refs.begin(), refs.end(), std::move(handler), mode); });
    }

    /**
     * Runs the callbacks of every completion queued so far, in order, with the GIL held. A
     * callback that raises does not stop the others; the first exception is raised at the end.
     */
    void process_callbacks()
    {
        std::vector<completion_queue::completion> done;
        done.swap(scratch_); // reuse the allocation, also if a callback re-enters
        queue_->take(done);
        std::optional<nb::python_error> first_error;
        for (const auto &c : done)
        {
            auto it = pending_.find(c.id);
            if (it == pending_.end())
                continue; // e.g. a connect completion without a callback
            pending p = std::move(it->second);
            pending_.erase(it);
            // Free the heaps before the callback, so that they are gone when a future is done.
            p.keep_alive.reset();
            if (!p.callback.is_valid())
                continue; // cleared by the garbage collector
            try
            {
                nb::object exc = c.ec ? make_exception(c.ec) : nb::none();
                if (c.id == connect_id)
                    p.callback(exc);
                else
                    p.callback(exc, c.bytes);
            }
            catch (nb::python_error &e)
            {
                if (!first_error)
                    first_error.emplace(std::move(e));
            }
        }
        done.clear();
        scratch_.swap(done);
        if (first_error)
            throw std::move(*first_error);
    }
};

using inproc_stream_asyncio_base = asyncio_stream<send::inproc_stream>;
using udp_stream_asyncio = asyncio_stream<send::udp_stream>;
using tcp_stream_asyncio = asyncio_stream<send::tcp_stream>;
using udp_ibv_stream_asyncio = asyncio_stream<send::udp_ibv_stream>;
#if SPEAD2_USE_XDP
using udp_xdp_stream_asyncio = asyncio_stream<send::udp_xdp_stream>;
#endif

/// spead2.send.InprocStreamAsyncio: also keeps the Python queue objects, for `queues`.
class inproc_stream_asyncio : public inproc_stream_asyncio_base
{
private:
    nb::list queues_;

public:
    inproc_stream_asyncio(io_context_ref io_context,
                          const std::vector<std::shared_ptr<inproc_queue_wrapper>> &queues,
                          const send::stream_config &config)
        : inproc_stream_asyncio_base(std::make_shared<completion_queue>(), std::move(io_context),
                                     std::vector<std::shared_ptr<inproc_queue>>(queues.begin(), queues.end()),
                                     config)
    {
        for (const auto &q : queues)
            queues_.append(nb::cast(q));
    }

    nb::list get_queues_py() const { return nb::list(queues_); }
};

template<typename T, typename Cls>
void add_asyncio_methods(Cls &cls)
{
    // Lambdas taking T: the member functions belong to asyncio_stream<...>, which is not the bound type.
    cls.def_prop_ro(
           "fd", [](const T &self) { return self.get_fd(); },
           "File descriptor that polls readable while completions wait for process_callbacks.")
        .def(
            "async_send_heap",
            [](T &self, nb::handle_t<heap_wrapper> heap, nb::object callback, s_item_pointer_t cnt,
               std::size_t substream_index, double rate)
            { return self.async_send_heap_py(heap, std::move(callback), cnt, substream_index, rate); },
            "heap"_a, "callback"_a, "cnt"_a = -1, "substream_index"_a = 0, "rate"_a = -1.0,
            "Queue a heap; returns whether it was queued. callback(exc_or_None, bytes_transferred) is "
            "called from process_callbacks in either case.")
        .def(
            "async_send_heaps",
            [](T &self, nb::handle_t<heap_reference_list> heaps, nb::object callback, send::group_mode mode)
            { return self.async_send_heaps_list(heaps, std::move(callback), mode); },
            "heaps"_a, "callback"_a, "mode"_a.noconvert(),
            "Queue a group of heaps (all or nothing); returns whether they were queued. The callback "
            "is called once, for the whole group.")
        .def(
            "async_send_heaps",
            [](T &self, const std::vector<const heap_reference_wrapper *> &heaps, nb::object callback,
               send::group_mode mode) { return self.async_send_heaps_seq(heaps, std::move(callback), mode); },
            "heaps"_a, "callback"_a, "mode"_a.noconvert())
        .def(
            "flush", [](T &self) { self.flush(); }, release_gil(),
            "Block until every queued heap has completed (callbacks still wait for process_callbacks).")
        .def(
            "process_callbacks", [](T &self) { self.process_callbacks(); },
            "Call the callbacks of the completed heaps (in order). Call it when fd is readable.");
}

} // anonymous namespace

void bind_send_asyncio(nb::module_ &m)
{
    auto inproc_cls = nb::class_<inproc_stream_asyncio, send::stream>(
        m, "InprocStreamAsyncio", nb::type_slots(gc_slots<inproc_stream_asyncio>),
        "An InprocStream with callback-based sends, for spead2.send.asyncio.");
    inproc_cls
        .def(
            "__init__",
            [](inproc_stream_asyncio *self, std::shared_ptr<thread_pool_wrapper> tp,
               const std::vector<std::shared_ptr<inproc_queue_wrapper>> &queues,
               const send::stream_config &config)
            { new (self) inproc_stream_asyncio(make_io_context(tp), queues, config); },
            "thread_pool"_a, "queues"_a, "config"_a = send::stream_config())
        .def_prop_ro("queues", &inproc_stream_asyncio::get_queues_py);
    add_asyncio_methods<inproc_stream_asyncio>(inproc_cls);

    // Network constructors resolve names (and TCP may bind), so they run without the GIL; the
    // arguments are C++ values by then. Setup failures are RuntimeError, as for the sync classes.
    using udp = udp_stream_asyncio;
    auto udp_cls = nb::class_<udp, send::stream>(
        m, "UdpStreamAsyncio", "A UdpStream with callback-based sends, for spead2.send.asyncio.");
    def_udp_stream_constructors<udp>(
        udp_cls, [](udp *self, auto &&...args)
        { new (self) udp(std::make_shared<completion_queue>(), std::forward<decltype(args)>(args)...); });
    add_asyncio_methods<udp>(udp_cls);

    using ibv = udp_ibv_stream_asyncio;
    auto ibv_cls = nb::class_<ibv, send::stream>(
        m, "UdpIbvStreamAsyncio", "A UdpIbvStream with callback-based sends, for spead2.send.asyncio.");
    ibv_cls.def(
        "__init__",
        [](ibv *self, std::shared_ptr<thread_pool_wrapper> tp, const send::stream_config &config,
           const py_send_ibv_config &ibv_config)
        {
            gil_release release;
            with_setup_errors(
                [&] {
                    new (self)
                        ibv(std::make_shared<completion_queue>(), make_io_context(tp), config, ibv_config);
                });
        },
        "thread_pool"_a, "config"_a, "udp_ibv_config"_a);
    add_asyncio_methods<ibv>(ibv_cls);

#if SPEAD2_USE_XDP
    using xdp = udp_xdp_stream_asyncio;
    auto xdp_cls = nb::class_<xdp, send::stream>(
        m, "UdpXdpStreamAsyncio", "A UdpXdpStream with callback-based sends, for spead2.send.asyncio.");
    xdp_cls.def(
        "__init__",
        [](xdp *self, std::shared_ptr<thread_pool_wrapper> tp, const send::stream_config &config,
           const send::udp_xdp_config &xdp_config)
        {
            gil_release release;
            with_setup_errors(
                [&] {
                    new (self)
                        xdp(std::make_shared<completion_queue>(), make_io_context(tp), config, xdp_config);
                });
        },
        "thread_pool"_a, "config"_a, "udp_xdp_config"_a);
    add_asyncio_methods<xdp>(xdp_cls);
#endif

    using tcp = tcp_stream_asyncio;
    auto tcp_cls = nb::class_<tcp, send::stream>(
        m, "TcpStreamAsyncio", nb::type_slots(gc_slots<tcp>),
        "A TcpStream with callback-based sends, for spead2.send.asyncio. The form with a callback connects "
        "asynchronously and calls callback(exc_or_None) from process_callbacks.");
    tcp_cls
        .def(
            "__init__",
            [](tcp *self, std::shared_ptr<thread_pool_wrapper> tp, tcp_socket_arg socket,
               const send::stream_config &config)
            {
                gil_release release;
                with_setup_errors(
                    [&] {
                        new (self)
                            tcp(std::make_shared<completion_queue>(), make_io_context(tp), socket.fd, config);
                    });
            },
            "thread_pool"_a, "socket"_a, "config"_a = send::stream_config(),
            "Send over a connected socket (which is duplicated).")
        .def(
            "__init__",
            [](tcp *self, nb::object callback, std::shared_ptr<thread_pool_wrapper> tp,
               const endpoint_list &endpoints, const send::stream_config &config, std::size_t buffer_size,
               const std::string &interface_address)
            {
                auto queue = std::make_shared<completion_queue>();
                {
                    gil_release release;
                    with_setup_errors(
                        [&]
                        {
                            // Resolve only a single endpoint: a wrong count is the C++ class's ValueError.
                            endpoint_list resolved =
                                endpoints.size() == 1 ? resolve_endpoints(endpoints) : endpoints;
                            std::string interface = resolve_host(interface_address);
                            check_bind_family(resolved, interface);
                            send::tcp_stream::connect_handler handler = [queue](const std::error_code &ec)
                            { queue->push(connect_id, ec, 0); };
                            new (self) tcp(queue, make_io_context(tp), std::move(handler), resolved, config,
                                           buffer_size, interface);
                        });
                }
                // The connect completion may already be queued; it is only processed (with the GIL)
                // once this is set.
                self->set_connect_callback(std::move(callback));
            },
            "callback"_a, "thread_pool"_a, "endpoints"_a, "config"_a = send::stream_config(),
            "buffer_size"_a = send::tcp_stream::default_buffer_size, "interface_address"_a = "",
            "Start connecting to the single endpoint; callback(exc_or_None) reports the outcome from "
            "process_callbacks.");
    def_constant(tcp_cls, "DEFAULT_BUFFER_SIZE", send::tcp_stream::default_buffer_size);
    add_asyncio_methods<tcp_stream_asyncio>(tcp_cls);
}

} // namespace spead2::python
