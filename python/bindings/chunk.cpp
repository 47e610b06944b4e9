// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Bindings of the chunking receiver (API.md §2.10): Chunk and ChunkRingbuffer, ChunkStreamConfig,
/// ChunkRingStream and the chunk stream ring group.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <Python.h>
#include <nanobind/eval.h>
#include <nanobind/nanobind.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/vector.h>
#include <spead2/common/io_context_ref.h>
#include <spead2/common/ringbuffer.h>
#include <spead2/common/semaphore.h>
#include <spead2/protocol/constants.h>
#include <spead2/recv/chunk.h>
#include <spead2/recv/chunk_ring_pair.h>
#include <spead2/recv/chunk_stream.h>
#include <spead2/recv/chunk_stream_config.h>
#include <spead2/recv/chunk_stream_group.h>
#include <spead2/recv/chunk_stream_ring_group.h>
#include <spead2/recv/stream.h>
#include <spead2/recv/stream_config.h>
#include "bindings.h"
#include "bindings_util.h"
#include "chunk_bindings.h"
#include "cuda_bindings.h"
#include "common.h"
#include "gil.h"
#include "recv_bindings.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace spead2::python
{

namespace
{

// ---------------------------------------------------------------------------------------------
// Python references that C++ may drop without the GIL

/**
 * What a chunk holds from Python while C++ owns it: a strong reference to the Python Chunk, its
 * three buffer objects (present, data, extra: moved out of the Chunk until it comes back) and
 * their exports (zeroed when absent). Releasing needs the GIL.
 */
struct chunk_refs
{
    PyObject *owner = nullptr;
    PyObject *buffers[3] = {};
    Py_buffer views[3] = {};

    void release() noexcept
    {
        for (Py_buffer &view : views)
            PyBuffer_Release(&view); // a no-op on a zeroed view
        for (PyObject *&buffer : buffers)
        {
            Py_XDECREF(buffer);
            buffer = nullptr;
        }
        Py_XDECREF(owner);
        owner = nullptr;
    }
};

/**
 * Chunks are normally freed with the GIL held (popped by Python, or in a ring freed by Python),
 * but stop() frees undelivered chunks in the stopping thread, which runs without the GIL, and
 * waiting for the GIL there could deadlock with a Python thread waiting for the stream. Their
 * references are queued here instead and released by the next binding call that holds the GIL,
 * or by a pending call (Py_AddPendingCall needs no GIL) scheduled when the queue becomes
 * non-empty. Never destroyed, so that late chunks find it during interpreter shutdown.
 */
class deferred_releases
{
private:
    std::mutex mutex_;
    std::vector<chunk_refs> pending_;
    std::atomic<bool> nonempty_{false};

    static int pending_call(void *self)
    {
        static_cast<deferred_releases *>(self)->flush();
        return 0;
    }

public:
    /// Any thread, GIL or not.
    void add(chunk_refs &&refs)
    {
        if (!Py_IsInitialized())
            return; // the interpreter is shutting down: pending calls no longer run
        bool was_empty;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            was_empty = pending_.empty();
            pending_.push_back(refs);
            nonempty_.store(true, std::memory_order_release);
        }
        refs = chunk_refs();
        // If the queue of pending calls is full, the next binding call flushes instead.
        if (was_empty)
            Py_AddPendingCall(&pending_call, this);
    }

    /// Releases everything queued. GIL held.
    void flush() noexcept
    {
        if (!nonempty_.load(std::memory_order_acquire))
            return;
        std::vector<chunk_refs> todo;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            todo.swap(pending_);
            nonempty_.store(false, std::memory_order_relaxed);
        }
        for (chunk_refs &refs : todo)
            refs.release();
    }
};

deferred_releases &get_deferred()
{
    static deferred_releases *deferred = new deferred_releases;
    return *deferred;
}

void flush_deferred() noexcept
{
    get_deferred().flush();
}

// ---------------------------------------------------------------------------------------------
// Chunks

/**
 * spead2.recv.Chunk as Python sees it: IDs and the user's buffers (None or objects exporting
 * writable C-contiguous buffers, checked on assignment). It never enters C++ code that runs
 * without the GIL: a chunk_handle does.
 */
class py_chunk
{
public:
    std::int64_t chunk_id = -1;
    std::uintptr_t stream_id = 0;
    nb::object present = nb::none();
    nb::object data = nb::none();
    nb::object extra = nb::none();
};

constexpr int chunk_buffer_flags = PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS;

/**
 * Exports @a obj's buffer into @a view (left zeroed for None). With @a allow_device, a device
 * array (__cuda_array_interface__) is accepted too; returns whether it was one.
 * @throws nb::python_error
 */
bool get_chunk_buffer(nb::handle obj, Py_buffer &view, bool allow_device = false)
{
    if (obj.is_none())
        return false;
    if (allow_device && !PyObject_CheckBuffer(obj.ptr()) && get_cuda_array(obj, view))
        return true;
    if (PyObject_GetBuffer(obj.ptr(), &view, chunk_buffer_flags) != 0)
        throw nb::python_error();
    return false;
}

/// Setter of Chunk.present/data/extra: BufferError/ValueError at once for an unusable buffer.
void set_chunk_buffer(nb::object &field, nb::handle value, bool allow_device = false)
{
    Py_buffer view{};
    get_chunk_buffer(value, view, allow_device);
    PyBuffer_Release(&view);
    field = nb::borrow(value);
}

/**
 * The C++ chunk that travels through rings and streams on behalf of a Python Chunk: it points
 * into the Chunk's buffers (exported for as long as it lives) and holds a reference to the
 * Chunk, so the very same object (subclass, attributes and all) comes back out of the data ring.
 * As in spead2, the buffers move out of the Chunk meanwhile (its present, data and extra read
 * None) and are put back when it comes out: so a chunk cannot be queued twice (which would give
 * two chunk IDs one buffer) and an assignment to a chunk in flight is undone.
 * Created and unwrapped with the GIL held; may be destroyed anywhere.
 */
class chunk_handle final : public recv::chunk
{
private:
    chunk_refs refs_;

public:
    /// @throws std::invalid_argument if data or present is unset; nb::python_error if a buffer fails
    chunk_handle(nb::handle owner, py_chunk &c)
    {
        if (c.data.is_none())
            throw std::invalid_argument("data buffer is not set");
        if (c.present.is_none())
            throw std::invalid_argument("present buffer is not set");
        try
        {
            get_chunk_buffer(c.present, refs_.views[0]);
            data_on_device = get_chunk_buffer(c.data, refs_.views[1], true);
            get_chunk_buffer(c.extra, refs_.views[2]);
        }
        catch (...)
        {
            refs_.release();
            throw;
        }
        refs_.owner = owner.inc_ref().ptr();
        nb::object *fields[3] = {&c.present, &c.data, &c.extra};
        for (int i = 0; i < 3; i++)
        {
            refs_.buffers[i] = fields[i]->release().ptr();
            *fields[i] = nb::none();
        }
        chunk_id = c.chunk_id;
        stream_id = c.stream_id;
        // A zero size would mean "unknown" (unchecked) to the stream, so an empty buffer is
        // passed as no buffer at all: heaps (or extra data) aimed at it are dropped.
        auto wrap = [](Py_buffer &view, std::size_t &size) -> memory_allocator::pointer
        {
            size = std::size_t(view.len);
            return memory_allocator::pointer(size ? static_cast<std::uint8_t *>(view.buf) : nullptr);
        };
        present = wrap(refs_.views[0], present_size);
        data = wrap(refs_.views[1], data_size);
        extra = wrap(refs_.views[2], extra_size);
    }

    ~chunk_handle() override
    {
        // The memory belongs to the Python buffers, not to an allocator.
        (void)present.release();
        (void)data.release();
        (void)extra.release();
        // Not Py_IsInitialized(): it is already false while the interpreter's last objects
        // (rings holding chunks among them) are freed at exit, with the GIL held.
        if (PyGILState_Check())
            refs_.release();
        else
            get_deferred().add(std::move(refs_));
    }

    /// Puts the buffers back into the Python Chunk and gives it to the caller (a new reference). GIL held.
    nb::object take_owner()
    {
        nb::object owner = nb::steal(refs_.owner);
        refs_.owner = nullptr;
        py_chunk &c = nb::cast<py_chunk &>(owner);
        nb::object *fields[3] = {&c.present, &c.data, &c.extra};
        for (int i = 0; i < 3; i++)
        {
            *fields[i] = nb::steal(refs_.buffers[i]);
            refs_.buffers[i] = nullptr;
        }
        c.chunk_id = chunk_id;
        c.stream_id = stream_id;
        return owner;
    }
};

std::unique_ptr<recv::chunk> make_handle(nb::handle_t<py_chunk> chunk)
{
    return std::make_unique<chunk_handle>(chunk, nb::cast<py_chunk &>(chunk));
}

/// The Python Chunk behind a chunk popped from a ring (all of them are chunk_handles). GIL held.
nb::object chunk_to_python(std::unique_ptr<recv::chunk> &&c)
{
    auto &handle = static_cast<chunk_handle &>(*c);
    nb::object owner = handle.take_owner();
    c.reset();
    return owner;
}

/// Gives a chunk that was not queued (full or stopped ring) its buffers back. GIL held.
void give_back(std::unique_ptr<recv::chunk> &c) noexcept
{
    if (c)
        (void)chunk_to_python(std::move(c));
}

// ---------------------------------------------------------------------------------------------
// ChunkRingbuffer

/// Both semaphores have file descriptors: asyncio waits on data_fd to get and space_fd to put.
using py_ring = ringbuffer<std::unique_ptr<recv::chunk>, semaphore_fd, semaphore_fd>;

nb::object ring_get(py_ring &ring)
{
    flush_deferred();
    return chunk_to_python(pop_releasing_gil(ring));
}

nb::object ring_get_nowait(py_ring &ring)
{
    flush_deferred();
    return chunk_to_python(ring.try_pop());
}

void ring_put(py_ring &ring, nb::handle_t<py_chunk> chunk)
{
    flush_deferred();
    std::unique_ptr<recv::chunk> c = make_handle(chunk);
    try
    {
        gil_release release;
        ring.push(std::move(c), &check_signals);
    }
    catch (...)
    {
        give_back(c); // the ring did not take it
        throw;
    }
}

void ring_put_nowait(py_ring &ring, nb::handle_t<py_chunk> chunk)
{
    flush_deferred();
    std::unique_ptr<recv::chunk> c = make_handle(chunk);
    try
    {
        ring.try_push(std::move(c));
    }
    catch (...)
    {
        give_back(c);
        throw;
    }
}

nb::object ring_next(py_ring &ring)
{
    try
    {
        return ring_get(ring);
    }
    catch (ringbuffer_stopped &)
    {
        throw nb::stop_iteration();
    }
}

// ---------------------------------------------------------------------------------------------
// ChunkStreamConfig

/**
 * spead2.recv.ChunkStreamConfig: the C++ config plus the Python object given as place (returned
 * by the getter; streams keep it alive because the C++ callback points into it).
 */
class py_chunk_stream_config
{
public:
    recv::chunk_stream_config config;
    nb::object place = nb::none();
    nb::object copy_engine = nb::none();

    /// For the cyclic GC (gc_slots): a place callback's globals usually refer back to the config.
    int traverse(visitproc visit, void *arg) const
    {
        Py_VISIT(place.ptr());
        Py_VISIT(copy_engine.ptr());
        return 0;
    }

    /// Breaks such a cycle: the config is garbage, so nothing will call place again.
    void clear()
    {
        config.set_place(nullptr);
        place = nb::none();
    }
};

typedef void (*place_function_2)(void *data, std::size_t size);
typedef void (*place_function_3)(void *data, std::size_t size, void *user_data);

constexpr std::string_view place_signature_2 = "void (void *, size_t)";
constexpr std::string_view place_signature_3 = "void (void *, size_t, void *)";

/**
 * Sets place from None or a sequence (usually a tuple, e.g. scipy.LowLevelCallable) whose first
 * element is a PyCapsule holding a C function pointer, its name being the C signature. The
 * 3-argument form also receives the capsule's context. The messages are spead2's.
 */
void set_place(py_chunk_stream_config &self, nb::handle obj)
{
    if (obj.is_none())
    {
        self.config.set_place(nullptr);
        self.place = nb::none();
        return;
    }
    nb::object items = nb::steal(PySequence_Tuple(obj.ptr()));
    if (!items.is_valid())
        throw nb::python_error();
    if (PyTuple_GET_SIZE(items.ptr()) == 0)
        throw nb::index_error("tuple index out of range");
    PyObject *capsule = PyTuple_GET_ITEM(items.ptr(), 0);
    if (!PyCapsule_CheckExact(capsule))
        throw nb::type_error((std::string("Object of type '") + Py_TYPE(capsule)->tp_name +
                              "' is not an instance of 'capsule'")
                                 .c_str());
    const char *name = PyCapsule_GetName(capsule);
    if (!name && PyErr_Occurred())
        throw nb::python_error();
    const std::string_view signature = name ? name : "";
    if (signature != place_signature_2 && signature != place_signature_3)
        throw nb::value_error(
            ("Invalid callback signature \"" + std::string(signature) +
             "\". Expected one of:\n  void (void *, size_t)\n  void (void *, size_t, void *)")
                .c_str());
    void *pointer = PyCapsule_GetPointer(capsule, name);
    if (!pointer)
        PyErr_Clear(); // a capsule without a pointer counts as no callback
    void *context = PyCapsule_GetContext(capsule);
    if (!context)
        PyErr_Clear();

    recv::chunk_place_function place;
    if (pointer && signature == place_signature_2)
    {
        auto fn = reinterpret_cast<place_function_2>(pointer);
        place = [fn](recv::chunk_place_data *data, std::size_t size) { fn(data, size); };
    }
    else if (pointer)
    {
        auto fn = reinterpret_cast<place_function_3>(pointer);
        place = [fn, context](recv::chunk_place_data *data, std::size_t size) { fn(data, size, context); };
    }
    self.config.set_place(std::move(place));
    self.place = nb::borrow(obj);
}

// ---------------------------------------------------------------------------------------------
// Streams

/// The rings of a ChunkRingStream, with the allocate and ready callbacks that use them.
class stream_ring_pair : public recv::detail::chunk_ring_pair<py_ring, py_ring>
{
public:
    stream_ring_pair(std::shared_ptr<py_ring> data_ring, std::shared_ptr<py_ring> free_ring)
        : chunk_ring_pair(std::move(data_ring), std::move(free_ring))
    {
    }

    /// @a config with the allocate and ready callbacks of these rings (as recv::chunk_ring_stream).
    recv::chunk_stream_config adjust(const recv::chunk_stream_config &config)
    {
        recv::chunk_stream_config out(config);
        out.set_allocate(make_allocate());
        out.set_ready(make_ready(config.get_ready()));
        return out;
    }

    using chunk_ring_pair::clear_graveyard;
};

/**
 * spead2.recv.ChunkRingStream. It behaves as recv::chunk_ring_stream<py_ring, py_ring> but is
 * rebuilt here with the stream as its first base: nanobind converts a ChunkRingStream to its
 * _Stream base (recv::stream) assuming offset 0, and chunk_ring_stream puts its ring pair first.
 * The ring pair lives on the heap, made before the stream so that the stream's callbacks can
 * point to it.
 *
 * Stopped by the atexit hook; the destructor stops it with the GIL released (which readies and
 * frees every chunk, so the stream's own destructor, running after rings_ is gone, has nothing
 * left to hand to the ready callback) and detaches it before the reader buffers and the place
 * callback are released.
 */
class chunk_ring_stream_wrapper : public recv::chunk_stream, public stream_extras
{
private:
    std::unique_ptr<stream_ring_pair> rings_;
    nb::object place_;

    chunk_ring_stream_wrapper(io_context_ref io_context, const recv::stream_config &config,
                              const py_chunk_stream_config &chunk_config,
                              std::unique_ptr<stream_ring_pair> rings)
        : recv::chunk_stream(std::move(io_context), config, rings->adjust(chunk_config.config))
        , rings_(std::move(rings))
        , place_(chunk_config.place)
    {
        rings_->get_data_ringbuffer()->add_producer();
        register_stoppable(this, [this] { stop(); });
    }

protected:
    /// A network stop: the chunks are readied, then this stream stops producing data.
    void stop_received() override
    {
        recv::chunk_stream::stop_received();
        // Consumers that see the ring stop must also see the final statistics.
        publish_batch_stats();
        rings_->get_data_ringbuffer()->remove_producer();
    }

public:
    chunk_ring_stream_wrapper(io_context_ref io_context, const recv::stream_config &config,
                              const py_chunk_stream_config &chunk_config, std::shared_ptr<py_ring> data_ring,
                              std::shared_ptr<py_ring> free_ring)
        : chunk_ring_stream_wrapper(
              std::move(io_context), config, chunk_config,
              std::make_unique<stream_ring_pair>(std::move(data_ring), std::move(free_ring)))
    {
    }

    /// A user stop: both rings first (waking a worker blocked on either), then the stream.
    void stop() override
    {
        rings_->get_data_ringbuffer()->stop();
        rings_->get_free_ringbuffer()->stop();
        recv::chunk_stream::stop();
        rings_->clear_graveyard();
    }

    ~chunk_ring_stream_wrapper() override
    {
        unregister_stoppable(this);
        without_gil(
            [this]
            {
                stop();
                detach_shared();
            });
        if (PyGILState_Check())
            flush_deferred();
    }

    void add_free_chunk(std::unique_ptr<recv::chunk> &&c) { rings_->add_free_chunk(std::move(c)); }
    const std::shared_ptr<py_ring> &get_data_ringbuffer() const { return rings_->get_data_ringbuffer(); }
    const std::shared_ptr<py_ring> &get_free_ringbuffer() const { return rings_->get_free_ringbuffer(); }

    /// For the cyclic GC (gc_slots): a place callback's globals usually refer back to the stream.
    int traverse(visitproc visit, void *arg) const
    {
        Py_VISIT(place_.ptr());
        return 0;
    }

    /**
     * Nothing is dropped: the worker may still be calling place. Clearing the globals dict of
     * the callback's module breaks the cycle, and the destructor stops the stream first.
     */
    void clear() {}
};

/// Keeps, for every member of a group, the reader buffers and the place callback.
class group_extras : public stream_extras
{
public:
    std::vector<nb::object> places;
};

using ring_group_base = recv::chunk_stream_ring_group<py_ring, py_ring>;

/**
 * spead2.recv.ChunkStreamRingGroup. group_extras is the first base so that it outlives the
 * members (destroyed by ring_group_base), whose readers and place callbacks use it.
 */
class ring_group_wrapper : public group_extras, public ring_group_base
{
public:
    ring_group_wrapper(const recv::chunk_stream_group_config &config, std::shared_ptr<py_ring> data_ring,
                       std::shared_ptr<py_ring> free_ring)
        : ring_group_base(config, std::move(data_ring), std::move(free_ring))
    {
        register_stoppable(this, [this] { stop(); });
    }

    /// Also refuses later emplace_back calls, as spead2 does once a group has stopped.
    void stop() override
    {
        stopped.store(true);
        ring_group_base::stop();
    }

    std::atomic<bool> stopped{false};

    /// As chunk_ring_stream_wrapper::traverse, for the members' place callbacks.
    int traverse(visitproc visit, void *arg) const
    {
        for (const nb::object &place : places)
            Py_VISIT(place.ptr());
        return 0;
    }

    /// As chunk_ring_stream_wrapper::clear: the members may still be calling place.
    void clear() {}

    ~ring_group_wrapper() override
    {
        unregister_stoppable(this);
        without_gil([this] { stop(); });
        if (PyGILState_Check())
            flush_deferred();
    }
};

/// ChunkRingPair's methods, on each class that is one (nanobind has no multiple inheritance).
template<typename Class>
void def_ring_pair(Class &cls)
{
    using T = typename Class::Type;
    cls.def(
           "add_free_chunk",
           [](T &self, nb::handle_t<py_chunk> chunk)
           {
               flush_deferred();
               std::unique_ptr<recv::chunk> c = make_handle(chunk);
               try
               {
                   self.add_free_chunk(std::move(c));
               }
               catch (...)
               {
                   give_back(c);
                   throw;
               }
               give_back(c); // not taken: the ring is stopped
           },
           "chunk"_a,
           "Zero the chunk's present flags and queue it on the free ringbuffer without blocking. Raises "
           "spead2.Full if there is no room; a stopped ringbuffer is ignored.")
        .def_prop_ro("data_ringbuffer", [](const T &self) { return self.get_data_ringbuffer(); })
        .def_prop_ro("free_ringbuffer", [](const T &self) { return self.get_free_ringbuffer(); });
}

recv::chunk_stream_group_member &group_at(ring_group_wrapper &group, std::ptrdiff_t index)
{
    const auto size = std::ptrdiff_t(group.size());
    if (index < 0)
        index += size;
    if (index < 0 || index >= size)
        throw nb::index_error();
    return group.at(std::size_t(index));
}

// ---------------------------------------------------------------------------------------------
// Binding

/// The item IDs of ChunkStreamConfig.items: any iterable of integers (a set, a generator, ...),
/// as spead2 takes, except a str, bytes or dict. @throws nb::type_error
std::vector<item_pointer_t> item_ids(nb::handle items)
{
    if (nb::isinstance<nb::str>(items) || nb::isinstance<nb::bytes>(items) || nb::isinstance<nb::dict>(items))
        throw nb::type_error("items must be an iterable of integers");
    std::vector<item_pointer_t> out;
    for (nb::handle id : nb::iter(items))
    {
        item_pointer_t value;
        if (!nb::try_cast(id, value))
            throw nb::type_error("items must be an iterable of integers");
        out.push_back(value);
    }
    return out;
}

void bind_chunk_config(nb::module_ &m)
{
    nb::class_<py_chunk_stream_config> cls(m, "ChunkStreamConfig", nb::is_weak_referenceable(),
                                           nb::type_slots(gc_slots<py_chunk_stream_config>),
                                           "Configuration of a chunk stream (keyword arguments).");
    cls.def("__init__", &init_from_kwargs<py_chunk_stream_config>)
        .def_prop_rw(
            "items", [](const py_chunk_stream_config &c) { return c.config.get_items(); },
            [](py_chunk_stream_config &c, nb::typed<nb::iterable, item_pointer_t> items)
            { c.config.set_items(item_ids(items)); },
            "Item IDs whose immediate values are passed to place (a copy).")
        .def_prop_rw(
            "max_chunks", [](const py_chunk_stream_config &c) { return c.config.get_max_chunks(); },
            [](py_chunk_stream_config &c, std::size_t n) { c.config.set_max_chunks(n); },
            "Chunks held open at once (1: strictly in order); 0 raises ValueError.")
        .def_prop_rw(
            "place", [](const py_chunk_stream_config &c) { return c.place; }, &set_place,
            nb::for_setter(nb::arg("value").none()),
            "None, or a tuple whose first element is a PyCapsule named \"void (void *, size_t)\" or "
            "\"void (void *, size_t, void *)\" (e.g. scipy.LowLevelCallable); the getter returns the object.")
        .def_prop_rw(
            "max_heap_extra", [](const py_chunk_stream_config &c) { return c.config.get_max_heap_extra(); },
            [](py_chunk_stream_config &c, std::size_t n) { c.config.set_max_heap_extra(n); },
            "Bytes place may write through chunk_place_data.extra.")
        .def(
            "enable_packet_presence",
            [](nb::handle_t<py_chunk_stream_config> self, std::size_t payload_size)
            {
                nb::cast<py_chunk_stream_config &>(self).config.enable_packet_presence(payload_size);
                return nb::borrow<nb::object>(self);
            },
            "payload_size"_a,
            nb::sig("def enable_packet_presence(self, payload_size: int) -> ChunkStreamConfig"),
            "Track presence per packet of payload_size bytes (0 raises ValueError); returns self.")
        .def(
            "disable_packet_presence",
            [](nb::handle_t<py_chunk_stream_config> self)
            {
                nb::cast<py_chunk_stream_config &>(self).config.disable_packet_presence();
                return nb::borrow<nb::object>(self);
            },
            nb::sig("def disable_packet_presence(self) -> ChunkStreamConfig"),
            "Back to one presence flag per heap; returns self.")
        .def_prop_rw(
            "copy_engine", [](const py_chunk_stream_config &c) { return c.copy_engine; },
            [](py_chunk_stream_config &c, nb::handle value)
            {
                if (value.is_none())
                    c.config.set_copy_engine(nullptr);
                else if (py_copy_engine * engine; nb::try_cast<py_copy_engine *>(value, engine) && engine)
                    c.config.set_copy_engine(engine->factory);
                else
                    throw nb::type_error("copy_engine must be None or a spead2.recv.cuda.CopyEngine");
                c.copy_engine = nb::borrow(value);
            },
            nb::for_setter(nb::arg("value").none()),
            "None, or a spead2.recv.cuda.CopyEngine: chunk data is then device memory, filled through "
            "pinned staging buffers and asynchronous copies.")
        .def_prop_ro(
            "packet_presence_payload_size",
            [](const py_chunk_stream_config &c) { return c.config.get_packet_presence_payload_size(); },
            "0 when packet presence is disabled.");
    def_constant(cls, "DEFAULT_MAX_CHUNKS", recv::chunk_stream_config::default_max_chunks);
}

void bind_chunk(nb::module_ &m)
{
    nb::class_<py_chunk>(m, "Chunk", nb::is_weak_referenceable(),
                         "A chunk: heaps' payload (data), presence flags (present) and per-heap extra data "
                         "(extra), each None or a writable C-contiguous buffer; data may also be a device "
                         "array (__cuda_array_interface__) for a stream with a copy engine. Subclass it "
                         "freely: the same object comes back out of the rings. While a ring or stream holds "
                         "it, present, data and extra read None (their buffers are lent to it, and come back "
                         "with the chunk).")
        .def("__init__", &init_from_kwargs<py_chunk>)
        .def_rw("chunk_id", &py_chunk::chunk_id)
        .def_rw("stream_id", &py_chunk::stream_id)
        .def_prop_rw(
            "present", [](const py_chunk &c) { return c.present; },
            [](py_chunk &c, nb::handle v) { set_chunk_buffer(c.present, v); },
            nb::for_setter(nb::arg("value").none()))
        .def_prop_rw(
            "data", [](const py_chunk &c) { return c.data; },
            [](py_chunk &c, nb::handle v) { set_chunk_buffer(c.data, v, true); },
            nb::for_setter(nb::arg("value").none()))
        .def_prop_rw(
            "extra", [](const py_chunk &c) { return c.extra; },
            [](py_chunk &c, nb::handle v) { set_chunk_buffer(c.extra, v); },
            nb::for_setter(nb::arg("value").none()))
        // The chunk stands for its data with GPU libraries: cupy.asarray(chunk),
        // torch.from_dlpack(chunk). present stays a host buffer of its own.
        .def_prop_ro(
            "__cuda_array_interface__",
            [](const py_chunk &c) -> nb::object
            {
                if (!nb::hasattr(c.data, "__cuda_array_interface__"))
                    throw nb::attribute_error("the chunk's data is not a device array");
                return c.data.attr("__cuda_array_interface__");
            },
            "The data's __cuda_array_interface__ (AttributeError unless data is a device array).")
        .def(
            "__dlpack__",
            [](const py_chunk &c, nb::kwargs kwargs) { return c.data.attr("__dlpack__")(**kwargs); },
            "kwargs"_a, "The data's DLPack capsule.")
        .def(
            "__dlpack_device__", [](const py_chunk &c) { return c.data.attr("__dlpack_device__")(); },
            "The data's DLPack device.");
}

void bind_chunk_ringbuffer(nb::module_ &m)
{
    nb::class_<py_ring>(m, "ChunkRingbuffer", nb::is_weak_referenceable(),
                        "A bounded queue of chunks, usable from several threads; data_fd/space_fd poll "
                        "readable when get/put would not block.")
        .def(nb::init<std::size_t>(), "maxsize"_a)
        .def("get", &ring_get,
             "The oldest chunk, waiting if needed; raises spead2.Stopped once stopped and empty.")
        .def("get_nowait", &ring_get_nowait, "The oldest chunk; raises spead2.Empty or spead2.Stopped.")
        .def("put", &ring_put, "chunk"_a,
             "Append a chunk, waiting for room; raises spead2.Stopped, or ValueError if data or present "
             "is unset.")
        .def("put_nowait", &ring_put_nowait, "chunk"_a,
             "Append a chunk; raises spead2.Full or spead2.Stopped.")
        .def(
            "stop",
            [](py_ring &ring)
            {
                ring.stop();
                return true; // spead2 4.5.1 returns True every time, not only on the first stop
            },
            "Stop the ringbuffer; chunks already queued can still be fetched. Returns True.")
        .def("add_producer", &py_ring::add_producer, "Register a producer (see remove_producer).")
        .def(
            "remove_producer",
            [](py_ring &ring)
            {
                try
                {
                    return ring.remove_producer();
                }
                catch (std::logic_error &)
                {
                    return false; // no producer registered: as spead2, nothing happens
                }
            },
            "Unregister a producer; the last one to leave stops the ring (returns True if it did).")
        .def("qsize", &py_ring::size, "Number of queued chunks.")
        .def("empty", [](const py_ring &ring) { return ring.size() == 0; })
        .def("full", [](const py_ring &ring) { return ring.size() == ring.capacity(); })
        .def_prop_ro("maxsize", &py_ring::capacity)
        .def_prop_ro("data_fd", [](const py_ring &ring) { return ring.get_data_sem().get_fd(); })
        .def_prop_ro("space_fd", [](const py_ring &ring) { return ring.get_space_sem().get_fd(); })
        .def("__iter__", [](nb::handle self) { return nb::borrow(self); })
        .def("__next__", &ring_next);
}

void bind_chunk_ring_stream(nb::module_ &m)
{
    nb::class_<chunk_ring_stream_wrapper, recv::stream> cls(
        m, "ChunkRingStream", nb::is_weak_referenceable(),
        nb::type_slots(gc_slots<chunk_ring_stream_wrapper>),
        "A chunk stream that takes chunks from free_ringbuffer and puts finished ones on data_ringbuffer.");
    cls.def(
        "__init__",
        [](chunk_ring_stream_wrapper *self, std::shared_ptr<thread_pool_wrapper> thread_pool,
           const recv::stream_config &config, const py_chunk_stream_config &chunk_stream_config,
           std::shared_ptr<py_ring> data_ringbuffer, std::shared_ptr<py_ring> free_ringbuffer)
        {
            new (self) chunk_ring_stream_wrapper(make_io_context(std::move(thread_pool)), config,
                                                 chunk_stream_config, std::move(data_ringbuffer),
                                                 std::move(free_ringbuffer));
        },
        "thread_pool"_a, "config"_a = recv::stream_config(), "chunk_stream_config"_a, "data_ringbuffer"_a,
        "free_ringbuffer"_a);
    def_ring_pair(cls);
}

void bind_chunk_group(nb::module_ &m)
{
    using cfg = recv::chunk_stream_group_config;
    nb::class_<cfg> cfg_cls(m, "ChunkStreamGroupConfig", nb::is_weak_referenceable(),
                            "Configuration of a chunk stream group (keyword arguments).");
    nb::enum_<cfg::eviction_mode>(cfg_cls, "EvictionMode",
                                  "What the group does when a member wants a chunk beyond its window.")
        .value("LOSSY", cfg::eviction_mode::LOSSY)
        .value("LOSSLESS", cfg::eviction_mode::LOSSLESS);
    fix_enum_repr(cfg_cls.attr("EvictionMode"));
    cfg_cls.def("__init__", &init_from_kwargs<cfg>)
        .def_prop_rw(
            "max_chunks", &cfg::get_max_chunks, [](cfg &c, std::size_t n) { c.set_max_chunks(n); },
            "Chunks in the group's window; 0 raises ValueError.")
        .def_prop_rw(
            "eviction_mode", &cfg::get_eviction_mode,
            [](cfg &c, cfg::eviction_mode mode) { c.set_eviction_mode(mode); },
            nb::for_setter(nb::arg().noconvert()));
    def_constant(cfg_cls, "DEFAULT_MAX_CHUNKS", cfg::default_max_chunks);

    nb::class_<recv::chunk_stream_group_member, recv::stream>(
        m, "ChunkStreamGroupMember", nb::is_weak_referenceable(),
        "A stream of a ChunkStreamRingGroup (made by its emplace_back); stop() stops the whole group.");

    nb::class_<ring_group_wrapper> cls(
        m, "ChunkStreamRingGroup", nb::is_weak_referenceable(), nb::type_slots(gc_slots<ring_group_wrapper>),
        "A group of chunk streams filling one sequence of chunks, taken from "
        "free_ringbuffer and put on data_ringbuffer; a Sequence of its members.");
    cls.def(
           "__init__",
           [](ring_group_wrapper *self, const cfg &config, std::shared_ptr<py_ring> data_ringbuffer,
              std::shared_ptr<py_ring> free_ringbuffer)
           { new (self) ring_group_wrapper(config, std::move(data_ringbuffer), std::move(free_ringbuffer)); },
           "config"_a, "data_ringbuffer"_a, "free_ringbuffer"_a)
        .def(
            "emplace_back",
            [](ring_group_wrapper &self, std::shared_ptr<thread_pool_wrapper> thread_pool,
               const recv::stream_config &config,
               const py_chunk_stream_config &chunk_stream_config) -> recv::chunk_stream_group_member &
            {
                if (self.stopped.load())
                    throw std::runtime_error("Cannot add a stream after group has started receiving data");
                self.places.reserve(self.places.size() + 1);
                recv::chunk_stream_group_member &member = self.emplace_back(
                    make_io_context(std::move(thread_pool)), config, chunk_stream_config.config);
                self.places.push_back(chunk_stream_config.place);
                return member;
            },
            "thread_pool"_a, "config"_a, "chunk_stream_config"_a, nb::rv_policy::reference_internal,
            "Add a member (before any data arrives) and return it.")
        .def_prop_ro("config", [](const ring_group_wrapper &self) { return self.get_config(); })
        .def(
            "stop",
            [](ring_group_wrapper &self)
            {
                {
                    gil_release release;
                    self.stop();
                }
                flush_deferred();
            },
            "Stop both ringbuffers and every member; idempotent.")
        .def("__len__", &ring_group_wrapper::size)
        .def("__getitem__", &group_at, "index"_a, nb::rv_policy::reference_internal)
        .def(
            "__getitem__",
            [](nb::handle_t<ring_group_wrapper> self, nb::slice slice)
            {
                auto &group = nb::cast<ring_group_wrapper &>(self);
                auto [start, stop, step, length] = slice.compute(group.size());
                nb::list out;
                for (std::size_t i = 0; i < length; i++, start += step)
                    out.append(
                        nb::cast(&group.at(std::size_t(start)), nb::rv_policy::reference_internal, self));
                return out;
            },
            "index"_a);
    def_ring_pair(cls);
}

} // anonymous namespace

void bind_chunks(nb::module_ &m)
{
    bind_chunk_config(m);
    bind_chunk(m);
    bind_chunk_ringbuffer(m);
    bind_chunk_ring_stream(m);
    bind_chunk_group(m);

    // ChunkRingPair is an abstract class of which ChunkRingStream and ChunkStreamRingGroup are
    // virtual subclasses (nanobind classes have one base, and theirs is _Stream or none); the
    // group gets the Sequence mixin methods and is registered as a collections.abc.Sequence.
    nb::dict scope;
    scope["recv"] = m;
    nb::exec(R"(
import abc
import collections.abc


class ChunkRingPair(metaclass=abc.ABCMeta):
    """The data and free ringbuffers of a chunk stream or group: add_free_chunk(chunk),
    data_ringbuffer, free_ringbuffer."""

    __module__ = recv.__name__

    def __new__(cls, *args, **kwargs):
        raise TypeError(f"{recv.__name__}.ChunkRingPair: No constructor defined!")

    # As in spead2, where this is a real base: ChunkRingPair.add_free_chunk(stream, chunk) works.
    def add_free_chunk(self, chunk):
        """Add a chunk to the free ringbuffer, clearing its present flags."""
        return type(self).add_free_chunk(self, chunk)

    @property
    def data_ringbuffer(self):
        """Ringbuffer of chunks holding received data."""
        return type(self).data_ringbuffer.__get__(self)

    @property
    def free_ringbuffer(self):
        """Ringbuffer of chunks that are free to receive data."""
        return type(self).free_ringbuffer.__get__(self)


ChunkRingPair.register(recv.ChunkRingStream)
ChunkRingPair.register(recv.ChunkStreamRingGroup)
recv.ChunkRingPair = ChunkRingPair
for name in ("__contains__", "__iter__", "__reversed__", "index", "count"):
    setattr(recv.ChunkStreamRingGroup, name, getattr(collections.abc.Sequence, name))
collections.abc.Sequence.register(recv.ChunkStreamRingGroup)
)",
             scope);
}

} // namespace spead2::python
