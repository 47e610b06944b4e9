// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Bindings of the common and protocol layers (spead2._spead2), the one C++-to-Python exception
/// table, the asynchronous logging bridge and the atexit hook.

#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <new>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>
#include <nanobind/nanobind.h>
#include <nanobind/operators.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/vector.h>
#include <spead2/common/logging.h>
#include <spead2/common/memory_allocator.h>
#include <spead2/common/memory_pool.h>
#include <spead2/common/ringbuffer.h>
#include <spead2/protocol/constants.h>
#include <spead2/protocol/descriptor.h>
#include <spead2/protocol/flavour.h>
#include "protocol/numpy_header.h"
#include "bindings.h"
#include "bindings_util.h"
#include "common.h"
#include "gil.h"
#include "xdp_bindings.h"
#include "string_caster.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace spead2::python
{

namespace
{

// ---------------------------------------------------------------------------------------------
// atexit registry

struct stoppable_entry
{
    const void *key;
    std::function<void()> stop;
    stop_phase phase;
};

struct stoppable_registry
{
    std::mutex mutex;
    std::vector<stoppable_entry> entries; ///< In registration order
};

// Leaked on purpose: entries may be removed by destructors that run during static destruction.
stoppable_registry &get_registry()
{
    static stoppable_registry *registry = new stoppable_registry;
    return *registry;
}

void stop_all_stoppables()
{
    stoppable_registry &registry = get_registry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    // Phase by phase, newest first (see register_stoppable).
    for (stop_phase phase : {stop_phase::streams, stop_phase::thread_pools})
        for (auto it = registry.entries.rbegin(); it != registry.entries.rend(); ++it)
        {
            if (it->phase != phase)
                continue;
            try
            {
                it->stop();
            }
            catch (std::exception &e)
            {
                log_warning("exception while stopping at exit: %s", e.what());
            }
        }
    registry.entries.clear();
}

// ---------------------------------------------------------------------------------------------
// Logging bridge: C++ threads queue records; one thread of ours hands them to Python's logging.

/**
 * Hands log records from any C++ thread to the Python logger "spead2". The sink only takes a
 * mutex (never the GIL) and drops records when the queue is full; a dedicated thread takes the
 * GIL once per batch. Leaked on purpose (a joinable std::thread must not be destroyed); stop()
 * joins it at exit, after which records go to the previous (stderr) sink.
 */
class log_bridge
{
private:
    struct record
    {
        log_level level;
        std::string message;
    };

    static constexpr std::size_t capacity = 1024;

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<record> queue_;
    std::size_t dropped_ = 0;
    bool running_ = false;
    bool stopping_ = false;
    std::thread thread_;
    log_function_type previous_;
    nb::object logger_; ///< Only touched with the GIL held

    static int python_level(log_level level)
    {
        switch (level)
        {
        case log_level::warning:
            return 30;
        case log_level::info:
            return 20;
        case log_level::debug:
            return 10;
        }
        return 30;
    }

    void push(log_level level, const std::string &message)
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (running_ && !stopping_)
            {
                if (queue_.size() >= capacity)
                    dropped_++;
                else
                {
                    queue_.push_back(record{level, message});
                    if (queue_.size() == 1)
                        cv_.notify_one();
                }
                return;
            }
        }
        if (previous_)
            previous_(level, message);
    }

    void deliver(std::deque<record> &batch, std::size_t dropped)
    {
        gil_acquire gil;
        try
        {
            nb::object log = logger_.attr("log");
            for (const record &r : batch)
                log(python_level(r.level), nb::str(r.message.data(), r.message.size()));
            if (dropped > 0)
                log(30, nb::str("%d log messages were dropped because the log queue was full"), dropped);
        }
        catch (nb::python_error &e)
        {
            e.discard_as_unraisable("spead2 logging thread");
        }
        // Strings are freed with the GIL held only by accident of scope; nothing here needs it.
        batch.clear();
    }

    void run()
    {
        std::deque<record> batch;
        while (true)
        {
            std::size_t dropped;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                cv_.wait(lock, [this] { return !queue_.empty() || dropped_ > 0 || stopping_; });
                if (queue_.empty() && dropped_ == 0)
                    return; // stopping, and everything was delivered
                batch.swap(queue_);
                dropped = dropped_;
                dropped_ = 0;
            }
            deliver(batch, dropped);
        }
    }

public:
    /// Installs the sink and starts the thread. Call once, with the GIL held.
    void start()
    {
        logger_ = nb::module_::import_("logging").attr("getLogger")("spead2");
        {
            std::lock_guard<std::mutex> lock(mutex_);
            running_ = true;
        }
        thread_ = std::thread([this] { run(); });
        previous_ =
            set_log_function([this](log_level level, const std::string &message) { push(level, message); });
    }

    /**
     * os.fork() hooks. Only the forking thread survives in the child, so the child gets fresh
     * synchronisation objects (the old ones may name the parent's threads) and a new thread.
     * Holding the mutex across the fork keeps the queue consistent.
     */
    void before_fork() { mutex_.lock(); }
    void after_fork_parent() { mutex_.unlock(); }
    void after_fork_child()
    {
        // The old objects are abandoned, not destroyed: their state refers to the parent's threads.
        new (&mutex_) std::mutex;
        new (&cv_) std::condition_variable;
        new (&thread_) std::thread;
        queue_.clear();
        dropped_ = 0;
        if (running_ && !stopping_)
            thread_ = std::thread([this] { run(); });
    }

    /// Delivers what is queued, then stops the thread. Idempotent. Call with the GIL held.
    void stop()
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!running_ || stopping_)
                return;
            stopping_ = true;
        }
        cv_.notify_one();
        {
            // The thread needs the GIL to deliver the last records.
            gil_release release;
            thread_.join();
        }
        logger_.reset();
    }
};

log_bridge &get_log_bridge()
{
    static log_bridge *bridge = new log_bridge;
    return *bridge;
}

void at_exit()
{
    {
        gil_release release;
        stop_all_stoppables();
    }
    get_log_bridge().stop();
    // Daemon threads still alive may hold spead2 objects forever; nanobind would report those as
    // leaks at exit. Its report stays on for the ordinary case, where it finds real refcount bugs.
    if (nb::cast<int>(nb::module_::import_("threading").attr("active_count")()) > 1)
        nb::set_leak_warnings(false);
}

// ---------------------------------------------------------------------------------------------
// Exceptions: the one C++ -> Python translation table (API.md §4.9).

PyObject *stopped_type = nullptr;
PyObject *empty_type = nullptr;
PyObject *full_type = nullptr;

bool is_errno_category(const std::error_category &category)
{
    return category == std::generic_category() || category == std::system_category();
}

void set_os_error(int code, const char *message)
{
    // Calling OSError (rather than setting it lazily) lets Python pick the errno subclass.
    nb::object exc = nb::handle(PyExc_OSError)(code, nb::str(message));
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(exc.ptr())), exc.ptr());
}

void translate_exception(const std::exception_ptr &p, void *)
{
    try
    {
        std::rethrow_exception(p);
    }
    catch (const nb::builtin_exception &)
    {
        throw; // nanobind's own (TypeError, ValueError, ...): leave them to nanobind
    }
    catch (const ringbuffer_stopped &e)
    {
        PyErr_SetString(stopped_type, e.what());
    }
    catch (const ringbuffer_empty &e)
    {
        PyErr_SetString(empty_type, e.what());
    }
    catch (const ringbuffer_full &e)
    {
        PyErr_SetString(full_type, e.what());
    }
    catch (const std::system_error &e)
    {
        if (is_errno_category(e.code().category()))
            set_os_error(e.code().value(), e.what());
        else
            PyErr_SetString(PyExc_RuntimeError, e.what());
    }
    catch (const std::invalid_argument &e)
    {
        PyErr_SetString(PyExc_ValueError, e.what());
    }
    catch (const std::out_of_range &e)
    {
        PyErr_SetString(PyExc_IndexError, e.what());
    }
    catch (const std::logic_error &e)
    {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    }
    catch (const std::runtime_error &e)
    {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    }
    // Anything else (std::bad_alloc, python_error, ...) propagates to nanobind's defaults.
}

PyObject *new_exception_type(nb::module_ &m, const char *name, const char *doc)
{
    std::string qualified = "spead2._spead2." + std::string(name);
    PyObject *type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, PyExc_Exception, nullptr);
    if (!type)
        throw nb::python_error();
    m.attr(name) = nb::handle(type); // the module keeps a reference; so does our pointer
    return type;
}

// ---------------------------------------------------------------------------------------------
// Conversions

nb::object literal_to_python(const py_literal &lit)
{
    return std::visit(
        [](const auto &v) -> nb::object
        {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, py_none>)
                return nb::none();
            else if constexpr (std::is_same_v<T, bool>)
                return nb::bool_(v);
            else if constexpr (std::is_same_v<T, std::int64_t>)
                return nb::int_(v);
            else if constexpr (std::is_same_v<T, std::string>)
                return nb::str(v.data(), v.size());
            else if constexpr (std::is_same_v<T, py_bytes>)
                return nb::bytes(v.data.data(), v.data.size());
            else if constexpr (std::is_same_v<T, py_list>)
            {
                nb::list out;
                for (const py_literal &item : v.items)
                    out.append(literal_to_python(item));
                return out;
            }
            else if constexpr (std::is_same_v<T, py_tuple>)
            {
                nb::list out;
                for (const py_literal &item : v.items)
                    out.append(literal_to_python(item));
                return nb::tuple(out);
            }
            else
            {
                nb::dict out;
                for (const auto &[key, value] : v.items)
                    out[literal_to_python(key)] = literal_to_python(value);
                return out;
            }
        },
        lit.value);
}

/// A format code: a one-character str (code point < 256, as the reference) or bytes.
char format_code_from_python(nb::handle h)
{
    if (nb::isinstance<nb::bytes>(h))
    {
        nb::bytes b = nb::borrow<nb::bytes>(h);
        if (b.size() != 1)
            throw nb::value_error("Expected a character, but multi-character string found");
        return static_cast<const char *>(b.data())[0];
    }
    if (!nb::isinstance<nb::str>(h))
        throw nb::type_error("format code must be a str of length 1");
    nb::str s = nb::borrow<nb::str>(h);
    Py_ssize_t length = PyUnicode_GetLength(s.ptr());
    if (length != 1)
        throw nb::value_error(length == 0 ? "Expected a character, but empty string found"
                                          : "Expected a character, but multi-character string found");
    Py_UCS4 c = PyUnicode_ReadChar(s.ptr(), 0);
    if (c >= 0x100)
        throw nb::value_error("Character code point not in range(0x100)");
    return static_cast<char>(static_cast<unsigned char>(c));
}

nb::str format_code_to_python(char c)
{
    Py_UCS4 code = static_cast<unsigned char>(c);
    return nb::steal<nb::str>(PyUnicode_FromOrdinal(static_cast<int>(code)));
}

nb::bytes to_bytes(const std::string &s)
{
    return nb::bytes(s.data(), s.size());
}

std::string from_bytes(const nb::bytes &b)
{
    return std::string(static_cast<const char *>(b.data()), b.size());
}

void bind_constants(nb::module_ &m)
{
    m.attr("NULL_ID") = static_cast<int>(NULL_ID);
    m.attr("HEAP_CNT_ID") = static_cast<int>(HEAP_CNT_ID);
    m.attr("HEAP_LENGTH_ID") = static_cast<int>(HEAP_LENGTH_ID);
    m.attr("PAYLOAD_OFFSET_ID") = static_cast<int>(PAYLOAD_OFFSET_ID);
    m.attr("PAYLOAD_LENGTH_ID") = static_cast<int>(PAYLOAD_LENGTH_ID);
    m.attr("DESCRIPTOR_ID") = static_cast<int>(DESCRIPTOR_ID);
    m.attr("STREAM_CTRL_ID") = static_cast<int>(STREAM_CTRL_ID);
    m.attr("DESCRIPTOR_NAME_ID") = static_cast<int>(DESCRIPTOR_NAME_ID);
    m.attr("DESCRIPTOR_DESCRIPTION_ID") = static_cast<int>(DESCRIPTOR_DESCRIPTION_ID);
    m.attr("DESCRIPTOR_SHAPE_ID") = static_cast<int>(DESCRIPTOR_SHAPE_ID);
    m.attr("DESCRIPTOR_FORMAT_ID") = static_cast<int>(DESCRIPTOR_FORMAT_ID);
    m.attr("DESCRIPTOR_ID_ID") = static_cast<int>(DESCRIPTOR_ID_ID);
    m.attr("DESCRIPTOR_DTYPE_ID") = static_cast<int>(DESCRIPTOR_DTYPE_ID);
    m.attr("CTRL_STREAM_START") = static_cast<int>(CTRL_STREAM_START);
    m.attr("CTRL_DESCRIPTOR_REISSUE") = static_cast<int>(CTRL_DESCRIPTOR_REISSUE);
    m.attr("CTRL_STREAM_STOP") = static_cast<int>(CTRL_STREAM_STOP);
    m.attr("CTRL_DESCRIPTOR_UPDATE") = static_cast<int>(CTRL_DESCRIPTOR_UPDATE);
    m.attr("MEMCPY_STD") = static_cast<int>(MEMCPY_STD);
    m.attr("MEMCPY_NONTEMPORAL") = static_cast<int>(MEMCPY_NONTEMPORAL);
    m.attr("BUG_COMPAT_DESCRIPTOR_WIDTHS") = BUG_COMPAT_DESCRIPTOR_WIDTHS;
    m.attr("BUG_COMPAT_SHAPE_BIT_1") = BUG_COMPAT_SHAPE_BIT_1;
    m.attr("BUG_COMPAT_SWAP_ENDIAN") = BUG_COMPAT_SWAP_ENDIAN;
    m.attr("BUG_COMPAT_PYSPEAD_0_5_2") = BUG_COMPAT_PYSPEAD_0_5_2;
}

void bind_flavour(nb::module_ &m)
{
    auto cls = nb::class_<flavour>(
                   m, "Flavour", nb::is_weak_referenceable(),
                   "A SPEAD protocol variant: SPEAD-64-<heap_address_bits> plus bug-compatibility flags.")
                   .def(nb::init<int, int, int, bug_compat_mask>(), "version"_a, "item_pointer_bits"_a,
                        "heap_address_bits"_a, "bug_compat"_a = 0)
                   .def(nb::init<>())
                   .def_prop_ro("version", &flavour::get_version)
                   .def_prop_ro("item_pointer_bits", &flavour::get_item_pointer_bits)
                   .def_prop_ro("heap_address_bits", &flavour::get_heap_address_bits)
                   .def_prop_ro("bug_compat", &flavour::get_bug_compat)
                   .def(nb::self == nb::self)
                   .def(nb::self != nb::self);
    // Mutable-looking value type with ==: unhashable, as in the reference.
    cls.attr("__hash__") = nb::none();
}

void bind_thread_pool(nb::module_ &m)
{
    nb::class_<thread_pool_wrapper>(m, "ThreadPool", nb::is_weak_referenceable(),
                                    "Worker threads that run streams' I/O and processing.")
        .def(nb::new_([](int threads) { return std::make_shared<thread_pool_wrapper>(threads); }),
             "threads"_a = 1)
        .def(nb::new_([](int threads, const std::vector<int> &affinity)
                      { return std::make_shared<thread_pool_wrapper>(threads, affinity); }),
             "threads"_a, "affinity"_a)
        .def("stop", &thread_pool_wrapper::stop, release_gil(),
             "Stop the workers and wait for them. Idempotent.")
        .def_static("set_affinity", &thread_pool::set_affinity, "core"_a,
                    "Pin the calling thread to a CPU core (failure only logs a warning).");
}

void bind_allocators(nb::module_ &m)
{
    nb::class_<memory_allocator>(m, "MemoryAllocator", nb::is_weak_referenceable(),
                                 "Allocates heap memory with new/delete.")
        .def(nb::new_([] { return std::make_shared<memory_allocator>(); }));
    nb::class_<mmap_allocator, memory_allocator>(m, "MmapAllocator", "Allocates heap memory with mmap.")
        .def(nb::new_([](int flags, truthy prefer_huge)
                      { return std::make_shared<mmap_allocator>(flags, prefer_huge); }),
             "flags"_a = 0, "prefer_huge"_a.none() = truthy{false});
    nb::class_<memory_pool, memory_allocator>(m, "MemoryPool",
                                              "A pool of equal-sized buffers in front of an allocator.")
        .def(nb::new_(
                 [](std::size_t lower, std::size_t upper, std::size_t max_free, std::size_t initial,
                    std::shared_ptr<memory_allocator> allocator) {
                     return std::make_shared<memory_pool>(lower, upper, max_free, initial,
                                                          std::move(allocator));
                 }),
             "lower"_a, "upper"_a, "max_free"_a, "initial"_a, "allocator"_a.none() = nb::none())
        .def(nb::new_(
                 [](std::shared_ptr<thread_pool_wrapper> tp, std::size_t lower, std::size_t upper,
                    std::size_t max_free, std::size_t initial, std::size_t low_water,
                    std::shared_ptr<memory_allocator> allocator)
                 {
                     return std::make_shared<memory_pool>(make_io_context(std::move(tp)), lower, upper,
                                                          max_free, initial, low_water, std::move(allocator));
                 }),
             "thread_pool"_a, "lower"_a, "upper"_a, "max_free"_a, "initial"_a, "low_water"_a,
             "allocator"_a.none() = nb::none())
        .def_prop_rw(
            "warn_on_empty", &memory_pool::get_warn_on_empty,
            [](memory_pool &p, truthy v) { p.set_warn_on_empty(v); }, truthy_setter());
}

void bind_inproc_queue(nb::module_ &m)
{
    nb::class_<inproc_queue_wrapper>(m, "InprocQueue", nb::is_weak_referenceable(),
                                     "An unbounded in-process queue of packets.")
        .def(nb::new_([] { return std::make_shared<inproc_queue_wrapper>(); }))
        .def(
            "add_packet",
            [](inproc_queue_wrapper &self, nb::handle packet)
            {
                buffer_view view(packet);
                gil_release release;
                self.add_packet(view.data(), view.size());
            },
            "packet"_a, nb::sig("def add_packet(self, packet: collections.abc.Buffer) -> None"),
            "Append a copy of a packet.")
        .def("stop", &inproc_queue_wrapper::stop, release_gil(),
             "Stop the queue: readers see the end of the stream once it is drained.");
}

void bind_raw_descriptor(nb::module_ &m)
{
    nb::class_<descriptor>(m, "RawDescriptor", nb::is_weak_referenceable(),
                           "An item descriptor as it appears on the wire.")
        .def(nb::init<>())
        .def_rw("id", &descriptor::id)
        .def_prop_rw(
            "name", [](const descriptor &d) { return to_bytes(d.name); },
            [](descriptor &d, const nb::bytes &v) { d.name = from_bytes(v); })
        .def_prop_rw(
            "description", [](const descriptor &d) { return to_bytes(d.description); },
            [](descriptor &d, const nb::bytes &v) { d.description = from_bytes(v); })
        .def_prop_rw(
            "numpy_header", [](const descriptor &d) { return to_bytes(d.numpy_header); },
            [](descriptor &d, const nb::bytes &v) { d.numpy_header = from_bytes(v); })
        .def_prop_rw(
            "format",
            [](const descriptor &d)
            {
                nb::list out;
                for (const auto &[code, bits] : d.format)
                    out.append(nb::make_tuple(format_code_to_python(code), bits));
                return out;
            },
            [](descriptor &d, nb::iterable v)
            {
                std::vector<std::pair<char, s_item_pointer_t>> format;
                for (nb::handle field : v)
                {
                    nb::tuple t = nb::tuple(field);
                    if (t.size() != 2)
                        throw nb::value_error("format fields must be (code, bits) pairs");
                    format.emplace_back(format_code_from_python(t[0]), nb::cast<s_item_pointer_t>(t[1]));
                }
                d.format = std::move(format);
            },
            nb::for_setter(
                nb::sig("def format(self, arg: collections.abc.Iterable[tuple[str, int]], /) -> None")))
        .def_prop_rw(
            "shape",
            [](const descriptor &d)
            {
                nb::list out;
                for (s_item_pointer_t size : d.shape)
                    out.append(size < 0 ? nb::object(nb::none()) : nb::object(nb::int_(size)));
                return out;
            },
            [](descriptor &d, nb::iterable v)
            {
                std::vector<s_item_pointer_t> shape;
                for (nb::handle size : v)
                    shape.push_back(size.is_none() ? -1 : nb::cast<s_item_pointer_t>(size));
                d.shape = std::move(shape);
            },
            nb::for_setter(nb::sig("def shape(self, arg: collections.abc.Iterable[int | None], /) -> None")));
}

} // anonymous namespace

// ---------------------------------------------------------------------------------------------
// Definitions of common.h

void register_stoppable(const void *key, std::function<void()> stop, stop_phase phase)
{
    stoppable_registry &registry = get_registry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    registry.entries.push_back(stoppable_entry{key, std::move(stop), phase});
}

void unregister_stoppable(const void *key) noexcept
{
    stoppable_registry &registry = get_registry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    std::erase_if(registry.entries, [key](const stoppable_entry &e) { return e.key == key; });
}

thread_pool_wrapper::thread_pool_wrapper(int num_threads)
    : thread_pool(num_threads)
{
    register_stoppable(
        this, [this] { stop(); }, stop_phase::thread_pools);
}

thread_pool_wrapper::thread_pool_wrapper(int num_threads, const std::vector<int> &affinity)
    : thread_pool(num_threads, affinity)
{
    register_stoppable(
        this, [this] { stop(); }, stop_phase::thread_pools);
}

thread_pool_wrapper::~thread_pool_wrapper()
{
    unregister_stoppable(this);
    // Joining the workers with the GIL held would deadlock if one of them waits for it.
    if (Py_IsInitialized() && PyGILState_Check())
    {
        gil_release release;
        stop();
    }
    else
        stop();
}

buffer_view::buffer_view(nb::handle obj, int flags)
{
    if (PyObject_GetBuffer(obj.ptr(), &view_, flags) != 0)
        throw nb::python_error();
}

buffer_view::~buffer_view()
{
    PyBuffer_Release(&view_);
}

nb::object make_exception(const std::error_code &ec)
{
    std::string message = ec.message();
    if (is_errno_category(ec.category()))
        return nb::handle(PyExc_OSError)(ec.value(), nb::str(message.data(), message.size()));
    return nb::handle(PyExc_RuntimeError)(nb::str(message.data(), message.size()));
}

void bind_common(nb::module_ &m)
{
    stopped_type = new_exception_type(m, "Stopped", "The ringbuffer or stream has been stopped.");
    empty_type = new_exception_type(m, "Empty", "No item is available without blocking.");
    full_type = new_exception_type(m, "Full", "No space is available without blocking.");
    nb::register_exception_translator(translate_exception);

    bind_constants(m);
    bind_flavour(m);
    bind_thread_pool(m);
    bind_allocators(m);
    bind_inproc_queue(m);
    bind_raw_descriptor(m);
#if SPEAD2_USE_XDP
    bind_xdp_modes(m);
#endif

    m.def(
        "log_info", [](const std::string &msg) { spead2::log_info("%s", msg.c_str()); }, "msg"_a,
        "Log a message at INFO level (for testing only)");
    m.def(
        "_parse_numpy_header",
        [](const nb::bytes &header)
        {
            numpy_header_info info =
                parse_numpy_header(std::string_view(static_cast<const char *>(header.data()), header.size()));
            nb::list shape;
            for (std::int64_t size : info.shape)
                shape.append(size);
            return nb::make_tuple(literal_to_python(info.descr), info.fortran_order, nb::tuple(shape));
        },
        "header"_a,
        "Parse and validate a numpy header dict without evaluating code: (descr, fortran_order, shape). "
        "Raises ValueError if it is malformed.");

    // Raises the C++ exception named by @a kind, so that tests can check the translation table.
    m.def(
        "_raise_for_test",
        [](const std::string &kind)
        {
            if (kind == "stopped")
                throw ringbuffer_stopped();
            if (kind == "empty")
                throw ringbuffer_empty();
            if (kind == "full")
                throw ringbuffer_full();
            if (kind == "eagain")
                throw std::system_error(EAGAIN, std::generic_category(), "test");
            if (kind == "econnrefused")
                throw std::system_error(ECONNREFUSED, std::system_category(), "test");
            if (kind == "future_error_category")
                throw std::system_error(std::make_error_code(std::future_errc::no_state), "test");
            if (kind == "invalid_argument")
                throw std::invalid_argument("test invalid_argument");
            if (kind == "out_of_range")
                throw std::out_of_range("test out_of_range");
            if (kind == "length_error")
                throw std::length_error("test length_error");
            if (kind == "runtime_error")
                throw std::runtime_error("test runtime_error");
            if (kind == "bad_alloc")
                throw std::bad_alloc();
            throw nb::key_error(kind.c_str());
        },
        "kind"_a);

    get_log_bridge().start();
    nb::module_::import_("atexit").attr("register")(nb::cpp_function(&at_exit));
    nb::module_::import_("os").attr("register_at_fork")(
        "before"_a = nb::cpp_function([] { get_log_bridge().before_fork(); }),
        "after_in_parent"_a = nb::cpp_function([] { get_log_bridge().after_fork_parent(); }),
        "after_in_child"_a = nb::cpp_function([] { get_log_bridge().after_fork_child(); }));
}

} // namespace spead2::python
