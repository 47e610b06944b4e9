// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: the synchronous send streams' plumbing (blocking send_heap/send_heaps
/// with the GIL released, errors raised as spead2 does, the atexit registration), shared by
/// send.cpp (BytesStream, InprocStream) and send_net.cpp (UdpStream, TcpStream).
#ifndef SPEAD2_PYTHON_SEND_SYNC_H
#define SPEAD2_PYTHON_SEND_SYNC_H

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>
#include <Python.h>
#include <nanobind/nanobind.h>
#include <nanobind/stl/vector.h>
#include <spead2/send/heap.h>
#include <spead2/send/stream.h>
#include "common.h"
#include "gil.h"
#include "send_bindings.h"

namespace spead2::python
{

namespace nb = nanobind;

/// Waits for one completion; filled in by a handler on an io_context thread (no GIL involved).
struct sync_completion
{
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    std::error_code ec;
    item_pointer_t bytes = 0;

    void set(const std::error_code &e, item_pointer_t b)
    {
        std::lock_guard<std::mutex> lock(mutex);
        ec = e;
        bytes = b;
        done = true;
        cv.notify_all();
    }

    void wait()
    {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait(lock, [this] { return done; });
    }
};

/**
 * Raises the error of a failed send as spead2 does: OSError(errno, "<message> [<category>:<errno>]")
 * (BlockingIOError for EAGAIN and so on). Needs the GIL.
 */
[[noreturn]] inline void raise_send_error(const std::error_code &ec)
{
    std::string message = ec.message() + " [" + ec.category().name() + ":" + std::to_string(ec.value()) + "]";
    nb::object exc = nb::handle(PyExc_OSError)(ec.value(), nb::str(message.data(), message.size()));
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exc.ptr())), exc.ptr());
    throw nb::python_error();
}

inline item_pointer_t send_heap_sync(send::stream &s, const heap_wrapper &h, s_item_pointer_t cnt,
                                     std::size_t substream_index, double rate)
{
    auto state = std::make_shared<sync_completion>();
    {
        gil_release release;
        s.async_send_heap_inline(
            h, [state](const std::error_code &ec, item_pointer_t bytes) { state->set(ec, bytes); }, cnt,
            substream_index, rate);
        state->wait();
    }
    if (state->ec)
        raise_send_error(state->ec);
    return state->bytes;
}

inline item_pointer_t send_heaps_sync(send::stream &s, const std::vector<send::heap_reference> &refs,
                                      send::group_mode mode)
{
    auto state = std::make_shared<sync_completion>();
    {
        gil_release release;
        s.async_send_heaps_inline(
            refs.begin(), refs.end(),
            [state](const std::error_code &ec, item_pointer_t bytes) { state->set(ec, bytes); }, mode);
        state->wait();
    }
    if (state->ec)
        raise_send_error(state->ec);
    return state->bytes;
}

/**
 * Registers a stream with the atexit hook (which waits for the heaps queued so far while the thread
 * pool still runs, but not for heaps that daemon threads keep queueing) and releases the GIL while
 * the stream is flushed and destroyed. Mixed into each stream class.
 */
template<typename Base>
class sync_stream : public Base
{
public:
    template<typename... Args>
    explicit sync_stream(std::in_place_t, Args &&...args)
        : Base(std::forward<Args>(args)...)
    {
        register_stoppable(this, [this] { this->flush_queued(); });
    }

    ~sync_stream() override
    {
        unregister_stoppable(this);
        // flush() waits for io_context threads; they never need the GIL, but other Python threads
        // should not be held up meanwhile.
        if (Py_IsInitialized() && PyGILState_Check())
        {
            gil_release release;
            this->flush();
        }
        else
            this->flush();
    }
};

/// Adds send_heap and send_heaps (blocking) to the binding @a cls of stream class @a T.
template<typename T, typename Cls>
void add_sync_send_methods(Cls &cls)
{
    using namespace nanobind::literals;
    cls.def(
           "send_heap",
           [](T &self, const heap_wrapper &h, s_item_pointer_t cnt, std::size_t substream_index, double rate)
           { return send_heap_sync(self, h, cnt, substream_index, rate); },
           "heap"_a, "cnt"_a = -1, "substream_index"_a = 0, "rate"_a = -1.0,
           "Send a heap, blocking until it has been sent. Returns the number of bytes sent. Raises "
           "OSError (BlockingIOError if the queue is full).")
        .def(
            "send_heaps",
            [](T &self, const std::vector<const heap_reference_wrapper *> &heaps, send::group_mode mode)
            {
                std::vector<send::heap_reference> refs;
                refs.reserve(heaps.size());
                for (const heap_reference_wrapper *r : heaps)
                    refs.push_back(r->get());
                return send_heaps_sync(self, refs, mode);
            },
            "heaps"_a, "mode"_a.noconvert(),
            "Send a group of heaps (all or nothing), blocking until they have been sent. Returns the "
            "total number of bytes sent.")
        .def(
            "send_heaps",
            [](T &self, const heap_reference_list &heaps, send::group_mode mode)
            { return send_heaps_sync(self, heaps.get_refs(), mode); },
            "heaps"_a, "mode"_a.noconvert());
}

/// UdpStream and TcpStream (send_net.cpp); after bind_send_streams.
void bind_send_net(nb::module_ &m);

} // namespace spead2::python

#endif // SPEAD2_PYTHON_SEND_SYNC_H
