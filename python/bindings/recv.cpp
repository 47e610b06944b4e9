// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Bindings of the recv layer (spead2._spead2.recv): configuration, statistics and heaps. The
/// streams are in recv_stream.cpp.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/vector.h>
#include <spead2/common/memory_allocator.h>
#include <spead2/protocol/constants.h>
#include <spead2/protocol/descriptor.h>
#include <spead2/protocol/flavour.h>
#include <spead2/recv/heap.h>
#include <spead2/recv/heap_base.h>
#include <spead2/recv/incomplete_heap.h>
#include <spead2/recv/item.h>
#include <spead2/recv/ring_stream_config.h>
#include <spead2/recv/stream_config.h>
#include <spead2/recv/stream_stats.h>
#include "bindings.h"
#include "bindings_util.h"
#include "chunk_bindings.h"
#include "cuda_bindings.h"
#include "ibv_bindings.h"
#include "common.h"
#include "recv_bindings.h"
#include "xdp_bindings.h"
#include "string_caster.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace spead2::python
{

namespace
{

// ---------------------------------------------------------------------------------------------
// Configuration (the messages are those of spead2's Python API)

void bind_stat_config(nb::module_ &m)
{
    using mode = recv::stream_stat_config::mode;
    nb::class_<recv::stream_stat_config> cls(m, "StreamStatConfig", nb::is_weak_referenceable(),
                                             "Name and combining mode of a statistic.");
    nb::enum_<mode>(cls, "Mode", "How values of a statistic are combined.")
        .value("COUNTER", mode::COUNTER)
        .value("MAXIMUM", mode::MAXIMUM);
    fix_enum_repr(cls.attr("Mode"));
    cls.def(nb::init<std::string, mode>(), "name"_a, "mode"_a.noconvert() = mode::COUNTER)
        .def_prop_ro("name", &recv::stream_stat_config::get_name)
        .def_prop_ro("mode", &recv::stream_stat_config::get_mode)
        .def("combine", &recv::stream_stat_config::combine, "a"_a, "b"_a,
             "Combine two values of this statistic according to its mode.")
        .def(
            "__eq__",
            [](const recv::stream_stat_config &a, const recv::stream_stat_config &b) { return a == b; },
            nb::is_operator())
        .def(
            "__ne__",
            [](const recv::stream_stat_config &a, const recv::stream_stat_config &b) { return a != b; },
            nb::is_operator());
    cls.attr("__hash__") = nb::none();
}

void bind_stream_config(nb::module_ &m)
{
    using cfg = recv::stream_config;
    nb::class_<cfg> cls(m, "StreamConfig", nb::is_weak_referenceable(),
                        "Configuration of a receive stream (keyword arguments).");
    cls.def("__init__", &init_from_kwargs<cfg>, nb::sig("def __init__(self, **kwargs) -> None"))
        .def_prop_rw("max_heaps", &cfg::get_max_heaps,
                     [](cfg &c, std::size_t v)
                     {
                         if (v == 0)
                             throw nb::value_error("max_heaps cannot be 0");
                         c.set_max_heaps(v);
                     })
        .def_prop_rw("substreams", &cfg::get_substreams,
                     [](cfg &c, std::size_t v)
                     {
                         if (v == 0)
                             throw nb::value_error("substreams cannot be 0");
                         c.set_substreams(v);
                     })
        .def_prop_rw("bug_compat", &cfg::get_bug_compat,
                     [](cfg &c, bug_compat_mask v)
                     {
                         if (v & ~BUG_COMPAT_ALL)
                             throw nb::value_error("unknown compatibility bits in bug_compat");
                         c.set_bug_compat(v);
                     })
        .def_prop_rw(
            "memcpy", [](const cfg &c) { return int(c.get_memcpy()); },
            [](cfg &c, int v)
            {
                if (v != MEMCPY_STD && v != MEMCPY_NONTEMPORAL)
                    throw nb::value_error("Unknown memcpy function");
                c.set_memcpy(memcpy_function_id(v));
            })
        .def_prop_rw(
            "memory_allocator", [](const cfg &c) { return c.get_memory_allocator(); },
            [](cfg &c, std::shared_ptr<memory_allocator> allocator)
            {
                // spead2 accepts None; the stream then allocates with the plain allocator.
                if (!allocator)
                    allocator = std::make_shared<memory_allocator>();
                c.set_memory_allocator(std::move(allocator));
            },
            nb::arg("allocator").none())
        .def_prop_rw(
            "stop_on_stop_item", &cfg::get_stop_on_stop_item,
            [](cfg &c, truthy v) { c.set_stop_on_stop_item(v); }, truthy_setter())
        .def_prop_rw(
            "allow_unsized_heaps", &cfg::get_allow_unsized_heaps,
            [](cfg &c, truthy v) { c.set_allow_unsized_heaps(v); }, truthy_setter())
        .def_prop_rw(
            "allow_out_of_order", &cfg::get_allow_out_of_order,
            [](cfg &c, truthy v) { c.set_allow_out_of_order(v); }, truthy_setter())
        .def_prop_rw("stream_id", &cfg::get_stream_id, [](cfg &c, std::uintptr_t v) { c.set_stream_id(v); })
        .def_prop_rw(
            "max_heap_size", &cfg::get_max_heap_size,
            [](cfg &c, std::size_t v)
            {
                if (v == 0)
                    throw nb::value_error("max_heap_size cannot be 0");
                c.set_max_heap_size(v);
            },
            "Largest heap payload (bytes) the stream allocates; a packet announcing more is dropped. "
            "An extension over spead2, which has no limit.")
        .def_prop_rw(
            "explicit_start", &cfg::get_explicit_start, [](cfg &c, truthy v) { c.set_explicit_start(v); },
            truthy_setter())
        .def_prop_ro("stats", [](const cfg &c) { return c.get_stats(); })
        .def(
            "add_stat",
            [](cfg &c, const std::string &name, recv::stream_stat_config::mode mode)
            {
                if (c.find_stat_index(name))
                    throw nb::value_error(("A statistic called " + name + " already exists").c_str());
                return c.add_stat(name, mode);
            },
            "name"_a, "mode"_a.noconvert() = recv::stream_stat_config::mode::COUNTER,
            "Register a custom statistic and return its index.")
        .def(
            "get_stat_index",
            [](const cfg &c, const std::string &name)
            {
                if (auto index = c.find_stat_index(name))
                    return *index;
                throw nb::index_error((name + " is not a known statistic name").c_str());
            },
            "name"_a, "The index of a statistic; IndexError if there is none.")
        .def("next_stat_index", &cfg::next_stat_index, "The index the next add_stat will return.");
    def_constant(cls, "DEFAULT_MAX_HEAPS", cfg::default_max_heaps);
    def_constant(cls, "DEFAULT_MAX_HEAP_SIZE", cfg::default_max_heap_size);

    using rcfg = recv::ring_stream_config;
    nb::class_<rcfg> rcls(m, "RingStreamConfig", nb::is_weak_referenceable(),
                          "Configuration of a ring stream's heap ringbuffer.");
    rcls.def("__init__", &init_from_kwargs<rcfg>, nb::sig("def __init__(self, **kwargs) -> None"))
        .def_prop_rw("heaps", &rcfg::get_heaps,
                     [](rcfg &c, std::size_t v)
                     {
                         if (v == 0)
                             throw nb::value_error("heaps must be at least 1");
                         c.set_heaps(v);
                     })
        .def_prop_rw(
            "contiguous_only", &rcfg::get_contiguous_only,
            [](rcfg &c, truthy v) { c.set_contiguous_only(v); }, truthy_setter())
        .def_prop_rw(
            "incomplete_keep_payload_ranges", &rcfg::get_incomplete_keep_payload_ranges,
            [](rcfg &c, truthy v) { c.set_incomplete_keep_payload_ranges(v); }, truthy_setter());
    def_constant(rcls, "DEFAULT_HEAPS", rcfg::default_heaps);
}

// ---------------------------------------------------------------------------------------------
// Statistics

std::uint64_t &stat_at(recv::stream_stats &s, std::size_t index)
{
    if (index >= s.size())
        throw nb::index_error();
    return s[index];
}

std::uint64_t &stat_at(recv::stream_stats &s, const std::string &name)
{
    std::size_t index = s.find_index(name);
    if (index == s.size())
        throw nb::key_error(name.c_str());
    return s[index];
}

template<std::size_t Index>
void def_core_stat(nb::class_<recv::stream_stats> &cls, const char *name)
{
    cls.def_prop_rw(
        name, [](const recv::stream_stats &s) { return s[Index]; },
        [](recv::stream_stats &s, std::uint64_t v) { s[Index] = v; });
}

recv::stream_stats add_stats(const recv::stream_stats &a, const recv::stream_stats &b)
{
    if (a.get_config() != b.get_config())
        throw nb::value_error("config must match to add stats together");
    return a + b;
}

void bind_stream_stats(nb::module_ &m)
{
    nb::class_<recv::stream_stats> cls(m, "StreamStats", nb::is_weak_referenceable(),
                                       "Statistics of a stream: a mapping from name to value, also indexable "
                                       "by position (no negative indices).");
    cls.def(
           "__getitem__", [](recv::stream_stats &s, std::size_t index) { return stat_at(s, index); },
           "index"_a)
        .def(
            "__getitem__", [](recv::stream_stats &s, const std::string &name) { return stat_at(s, name); },
            "name"_a)
        .def(
            "__setitem__",
            [](recv::stream_stats &s, std::size_t index, std::uint64_t v) { stat_at(s, index) = v; },
            "index"_a, "value"_a)
        .def(
            "__setitem__",
            [](recv::stream_stats &s, const std::string &name, std::uint64_t v) { stat_at(s, name) = v; },
            "name"_a, "value"_a)
        .def(
            "get",
            [](const recv::stream_stats &s, const std::string &name, nb::object default_) -> nb::object
            {
                std::size_t index = s.find_index(name);
                if (index == s.size())
                    return default_;
                return nb::int_(s[index]);
            },
            "name"_a, "default"_a = nb::none())
        .def("__contains__",
             [](const recv::stream_stats &s, const std::string &name) { return s.contains(name); })
        .def("__len__", &recv::stream_stats::size)
        .def("keys",
             [](const recv::stream_stats &s)
             {
                 nb::list out;
                 for (const auto &c : s.get_config())
                     out.append(nb::str(c.get_name().data(), c.get_name().size()));
                 return nb::iter(out);
             })
        .def("__iter__",
             [](const recv::stream_stats &s)
             {
                 nb::list out;
                 for (const auto &c : s.get_config())
                     out.append(nb::str(c.get_name().data(), c.get_name().size()));
                 return nb::iter(out);
             })
        .def("values",
             [](const recv::stream_stats &s)
             {
                 nb::list out;
                 for (std::size_t i = 0; i < s.size(); i++)
                     out.append(nb::int_(s[i]));
                 return nb::iter(out);
             })
        .def("items",
             [](const recv::stream_stats &s)
             {
                 nb::list out;
                 const auto &config = s.get_config();
                 for (std::size_t i = 0; i < s.size(); i++)
                     out.append(nb::make_tuple(
                         nb::str(config[i].get_name().data(), config[i].get_name().size()), nb::int_(s[i])));
                 return nb::iter(out);
             })
        .def_prop_ro("config", [](const recv::stream_stats &s) { return s.get_config(); })
        .def("__add__", &add_stats, nb::is_operator())
        .def(
            "__iadd__",
            [](recv::stream_stats &a, const recv::stream_stats &b) -> recv::stream_stats &
            {
                a = add_stats(a, b);
                return a;
            },
            nb::rv_policy::none, nb::is_operator());
    namespace idx = recv::stream_stat_indices;
    def_core_stat<idx::HEAPS>(cls, "heaps");
    def_core_stat<idx::INCOMPLETE_HEAPS_EVICTED>(cls, "incomplete_heaps_evicted");
    def_core_stat<idx::INCOMPLETE_HEAPS_FLUSHED>(cls, "incomplete_heaps_flushed");
    def_core_stat<idx::PACKETS>(cls, "packets");
    def_core_stat<idx::BATCHES>(cls, "batches");
    def_core_stat<idx::MAX_BATCH>(cls, "max_batch");
    def_core_stat<idx::SINGLE_PACKET_HEAPS>(cls, "single_packet_heaps");
    def_core_stat<idx::SEARCH_DIST>(cls, "search_dist");
    def_core_stat<idx::WORKER_BLOCKED>(cls, "worker_blocked");

    nb::module_ indices = m.def_submodule("stream_stat_indices", "Indices of the core statistics.");
    indices.attr("HEAPS") = idx::HEAPS;
    indices.attr("INCOMPLETE_HEAPS_EVICTED") = idx::INCOMPLETE_HEAPS_EVICTED;
    indices.attr("INCOMPLETE_HEAPS_FLUSHED") = idx::INCOMPLETE_HEAPS_FLUSHED;
    indices.attr("PACKETS") = idx::PACKETS;
    indices.attr("BATCHES") = idx::BATCHES;
    indices.attr("MAX_BATCH") = idx::MAX_BATCH;
    indices.attr("SINGLE_PACKET_HEAPS") = idx::SINGLE_PACKET_HEAPS;
    indices.attr("SEARCH_DIST") = idx::SEARCH_DIST;
    indices.attr("WORKER_BLOCKED") = idx::WORKER_BLOCKED;
}

// ---------------------------------------------------------------------------------------------
// Heaps and items

/**
 * spead2.recv.RawItem: one item of a received heap, exposing its bytes (writable, as in spead2)
 * through the buffer protocol. Holds a reference to the Python heap that owns the memory.
 */
struct raw_item
{
    recv::item item;
    nb::object owner;
};

int raw_item_getbuffer(PyObject *exporter, Py_buffer *view, int flags)
{
    const raw_item *self = nb::inst_ptr<raw_item>(exporter);
    return PyBuffer_FillInfo(view, exporter, self->item.ptr, Py_ssize_t(self->item.length), 0, flags);
}

PyType_Slot raw_item_slots[] = {{Py_bf_getbuffer, reinterpret_cast<void *>(raw_item_getbuffer)},
                                {0, nullptr}};

/**
 * The bound types of the per-heap objects, kept by bind_heaps, so that making one is an allocation
 * plus a constructor in place: nb::cast would look the type up and move a temporary each time.
 */
nb::handle raw_item_type, heap_type, incomplete_heap_type;

/// A new instance of bound @a type holding what @a construct places at the given address.
template<typename T, typename F>
nb::object make_instance(nb::handle type, F &&construct)
{
    nb::object obj = nb::inst_alloc(type);
    construct(nb::inst_ptr<T>(obj)); // if it throws, obj is freed without running ~T
    nb::inst_mark_ready(obj);
    return obj;
}

/// HeapBase.get_items(): RawItems for every item except descriptors, each keeping the heap alive.
nb::list get_items(nb::handle_t<recv::heap_base> self)
{
    const recv::heap_base &h = *nb::inst_ptr<recv::heap_base>(self);
    const std::vector<recv::item> &items = h.get_items();
    Py_ssize_t n = 0;
    for (const recv::item &it : items)
        n += (it.id != DESCRIPTOR_ID);
    nb::list out = nb::steal<nb::list>(PyList_New(n));
    if (!out.is_valid())
        throw nb::python_error();
    Py_ssize_t pos = 0;
    for (const recv::item &it : items)
    {
        if (it.id == DESCRIPTOR_ID)
            continue;
        nb::object obj = make_instance<raw_item>(raw_item_type,
                                                 [&](raw_item *p) {
                                                     new (p) raw_item{it, nb::borrow(self)};
                                                 });
        PyList_SET_ITEM(out.ptr(), pos++, obj.release().ptr());
    }
    return out;
}

void bind_heaps(nb::module_ &m)
{
    raw_item_type =
        nb::class_<raw_item>(m, "RawItem", nb::is_weak_referenceable(), nb::type_slots(raw_item_slots),
                             "An item of a received heap; its value bytes are available through the buffer "
                             "protocol.")
            .def_prop_ro("id", [](const raw_item &r) { return r.item.id; })
            .def_prop_ro("is_immediate", [](const raw_item &r) { return r.item.is_immediate; })
            .def_prop_ro("immediate_value", [](const raw_item &r) { return r.item.immediate_value; });

    nb::class_<recv::heap_base>(m, "HeapBase", nb::is_weak_referenceable(),
                                "What complete and incomplete received heaps have in common.")
        .def_prop_ro("cnt", &recv::heap_base::get_cnt)
        .def_prop_ro("flavour", [](const recv::heap_base &h) { return h.get_flavour(); })
        .def("get_items", &get_items, "The items (RawItem) of the heap, except descriptors.")
        .def("is_start_of_stream", &recv::heap_base::is_start_of_stream)
        .def("is_end_of_stream", &recv::heap_base::is_end_of_stream);

    heap_type = nb::class_<recv::heap, recv::heap_base>(m, "Heap", nb::is_weak_referenceable(),
                                                        "A received heap with all of its payload.")
                    .def("get_descriptors", &recv::heap::get_descriptors,
                         "The descriptors in the heap (RawDescriptor).");

    incomplete_heap_type =
        nb::class_<recv::incomplete_heap, recv::heap_base>(m, "IncompleteHeap", nb::is_weak_referenceable(),
                                                           "A received heap that lacks some payload; only "
                                                           "immediate items are kept.")
            .def_prop_ro("heap_length", &recv::incomplete_heap::get_heap_length)
            .def_prop_ro("received_length", &recv::incomplete_heap::get_received_length)
            .def_prop_ro("payload_ranges",
                         [](const recv::incomplete_heap &h) { return h.get_payload_ranges(); });
}

} // anonymous namespace

nb::object heap_to_python(recv::live_heap &&h, bool keep_payload_ranges)
{
    if (h.is_contiguous())
        return make_instance<recv::heap>(heap_type, [&](recv::heap *p) { new (p) recv::heap(std::move(h)); });
    return make_instance<recv::incomplete_heap>(
        incomplete_heap_type, [&](recv::incomplete_heap *p)
        { new (p) recv::incomplete_heap(std::move(h), false, keep_payload_ranges); });
}

void bind_recv(nb::module_ &m)
{
    bind_stat_config(m);
    bind_stream_config(m);
    bind_stream_stats(m);
    bind_heaps(m);
#if SPEAD2_USE_XDP
    bind_recv_xdp_config(m); // before the streams, whose add_udp_xdp_reader names it
#endif
    bind_recv_ibv_config(m);
    bind_recv_streams(m);
    bind_chunks(m);
    bind_cuda(m);
}

} // namespace spead2::python
