// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Bindings of the send layer (spead2._spead2.send): config, heaps, packet generator and the
/// synchronous streams (BytesStream, InprocStream; UdpStream and TcpStream are in send_net.cpp).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>
#include <nanobind/nanobind.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/vector.h>
#include <spead2/common/io_context_ref.h>
#include <spead2/protocol/descriptor.h>
#include <spead2/protocol/flavour.h>
#include <spead2/send/heap.h>
#include <spead2/send/inproc_stream.h>
#include <spead2/send/packet_generator.h>
#include <spead2/send/stream.h>
#include <spead2/send/stream_config.h>
#include <spead2/send/streambuf_stream.h>
#include "bindings.h"
#include "bindings_util.h"
#include "common.h"
#include "gil.h"
#include "ibv_bindings.h"
#include "send_bindings.h"
#include "send_sync.h"
#include "xdp_bindings.h"
#include "string_caster.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace spead2::python
{

namespace
{

// ---------------------------------------------------------------------------------------------
// Heaps

/// spead2.send.PacketGenerator: iterates over a heap's packets as bytes; keeps the heap alive.
class packet_generator_wrapper
{
private:
    nb::object heap_obj_;
    send::packet_generator gen_;

public:
    packet_generator_wrapper(nb::handle_t<heap_wrapper> h, item_pointer_t cnt, std::size_t max_packet_size)
        : heap_obj_(nb::borrow(h))
        , gen_(*nb::inst_ptr<heap_wrapper>(h), cnt, max_packet_size)
    {
    }

    nb::bytes next()
    {
        if (!gen_.has_next_packet())
            throw nb::stop_iteration();
        std::vector<std::uint8_t> packet = gen_.next_packet();
        return nb::bytes(packet.data(), packet.size());
    }
};

/// Holds a std::stringbuf that must be constructed before (and destroyed after) the stream.
struct stringbuf_holder
{
    std::stringbuf buffer{std::ios_base::out | std::ios_base::binary};
};

/// spead2.send.BytesStream: a streambuf_stream writing into its own std::stringbuf.
class bytes_stream : private stringbuf_holder, public sync_stream<send::streambuf_stream>
{
public:
    bytes_stream(io_context_ref io_context, const send::stream_config &config)
        : sync_stream<send::streambuf_stream>(std::in_place, std::move(io_context), buffer, config)
    {
    }

    nb::bytes getvalue()
    {
        std::string value;
        {
            gil_release release;
            // Heaps are only written while a send call blocks, so this sees whole heaps.
            flush();
            value = buffer.str();
        }
        return nb::bytes(value.data(), value.size());
    }
};

/// spead2.send.InprocStream: also keeps the Python queue objects, so `queues` returns them.
class inproc_stream_wrapper : public sync_stream<send::inproc_stream>
{
private:
    nb::list queues_;

    static std::vector<std::shared_ptr<inproc_queue>> to_queues(const nb::list &queues)
    {
        std::vector<std::shared_ptr<inproc_queue>> out;
        for (nb::handle q : queues)
            out.push_back(nb::cast<std::shared_ptr<inproc_queue_wrapper>>(q));
        return out;
    }

public:
    inproc_stream_wrapper(io_context_ref io_context, const nb::list &queues,
                          const send::stream_config &config)
        : sync_stream<send::inproc_stream>(std::in_place, std::move(io_context), to_queues(queues), config)
        , queues_(nb::list(queues))
    {
    }

    nb::list get_queues_py() const { return nb::list(queues_); }
};

void bind_send_config(nb::module_ &m)
{
    nb::enum_<send::rate_method>(m, "RateMethod", "How a send stream enforces its rate.")
        .value("SW", send::rate_method::SW)
        .value("HW", send::rate_method::HW)
        .value("AUTO", send::rate_method::AUTO);
    fix_enum_repr(m.attr("RateMethod"));
    nb::enum_<send::group_mode>(m, "GroupMode", "How the heaps of a group are interleaved.")
        .value("ROUND_ROBIN", send::group_mode::ROUND_ROBIN)
        .value("SERIAL", send::group_mode::SERIAL);
    fix_enum_repr(m.attr("GroupMode"));

    using cfg = send::stream_config;
    nb::class_<cfg> cls(m, "StreamConfig", nb::is_weak_referenceable(),
                        "Configuration of a send stream (keyword arguments).");
    cls.def("__init__", &init_from_kwargs<cfg>, nb::sig("def __init__(self, **kwargs) -> None"))
        .def_prop_rw("max_packet_size", &cfg::get_max_packet_size,
                     [](cfg &c, std::size_t v) { c.set_max_packet_size(v); })
        .def_prop_rw("rate", &cfg::get_rate, [](cfg &c, double v) { c.set_rate(v); })
        .def_prop_rw("burst_size", &cfg::get_burst_size, [](cfg &c, std::size_t v) { c.set_burst_size(v); })
        .def_prop_rw("max_heaps", &cfg::get_max_heaps, [](cfg &c, std::size_t v) { c.set_max_heaps(v); })
        .def_prop_rw("burst_rate_ratio", &cfg::get_burst_rate_ratio,
                     [](cfg &c, double v) { c.set_burst_rate_ratio(v); })
        .def_prop_rw(
            "rate_method", &cfg::get_rate_method, [](cfg &c, send::rate_method v) { c.set_rate_method(v); },
            nb::for_setter(nb::arg().noconvert()))
        .def_prop_ro("burst_rate", &cfg::get_burst_rate);
    def_constant(cls, "DEFAULT_MAX_PACKET_SIZE", cfg::DEFAULT_MAX_PACKET_SIZE);
    def_constant(cls, "DEFAULT_MAX_HEAPS", cfg::DEFAULT_MAX_HEAPS);
    def_constant(cls, "DEFAULT_BURST_SIZE", cfg::DEFAULT_BURST_SIZE);
    def_constant(cls, "DEFAULT_BURST_RATE_RATIO", cfg::DEFAULT_BURST_RATE_RATIO);
    def_constant(cls, "DEFAULT_RATE_METHOD", cfg::DEFAULT_RATE_METHOD);
}

void bind_send_heaps(nb::module_ &m)
{
    nb::class_<heap_wrapper>(m, "Heap", nb::is_weak_referenceable(),
                             "A heap to send. Items refer to (and keep alive) their buffers.")
        .def(nb::init<const flavour &>(), "flavour"_a = flavour())
        .def("add_item", &heap_wrapper::add_item_py, "item"_a,
             "Add an item (an object with id, to_buffer() and allow_immediate()). Its buffer is "
             "referenced, not copied.")
        .def("add_descriptor", &heap_wrapper::add_descriptor_py, "descriptor"_a,
             "Add a descriptor (an object with to_raw(flavour)).")
        .def("add_start", &heap_wrapper::add_start, "Add a stream-start control item.")
        .def("add_end", &heap_wrapper::add_end, "Add a stream-stop control item.")
        .def_prop_ro("flavour", [](const heap_wrapper &h) { return h.get_flavour(); })
        .def_prop_rw(
            "repeat_pointers", &heap_wrapper::get_repeat_pointers,
            [](heap_wrapper &h, truthy v) { h.set_repeat_pointers(v); }, truthy_setter());

    nb::class_<heap_reference_wrapper>(m, "HeapReference", nb::is_weak_referenceable(),
                                       "A heap plus how to send it, for send_heaps.")
        .def(nb::init<nb::handle_t<heap_wrapper>, s_item_pointer_t, std::size_t, double>(), "heap"_a,
             nb::kw_only(), "cnt"_a = -1, "substream_index"_a = 0, "rate"_a = -1.0)
        .def_prop_ro("heap", [](const heap_reference_wrapper &r) { return r.heap_obj; })
        .def_rw("cnt", &heap_reference_wrapper::cnt)
        .def_rw("substream_index", &heap_reference_wrapper::substream_index)
        .def_rw("rate", &heap_reference_wrapper::rate);

    nb::class_<heap_reference_list>(m, "HeapReferenceList", nb::is_weak_referenceable(),
                                    "An immutable list of HeapReference, converted once for repeated sends.")
        .def(
            "__init__",
            [](heap_reference_list *self, const nb::iterable &heaps)
            {
                // Any iterable, as spead2 takes (a generator too), not only a sequence. The list
                // keeps a generator's HeapReferences alive until they have been converted.
                const nb::list items(heaps);
                std::vector<const heap_reference_wrapper *> refs;
                for (nb::handle h : items)
                {
                    const heap_reference_wrapper *ref = nullptr;
                    if (!nb::try_cast(h, ref) || !ref)
                        throw nb::type_error("HeapReferenceList: every element must be a HeapReference");
                    refs.push_back(ref);
                }
                new (self) heap_reference_list(refs);
            },
            "heaps"_a, nb::sig("def __init__(self, heaps: collections.abc.Iterable[HeapReference]) -> None"))
        .def("__len__", &heap_reference_list::size)
        .def("__getitem__", &heap_reference_list::slice, "slice"_a);

    nb::class_<packet_generator_wrapper>(m, "PacketGenerator", nb::is_weak_referenceable(),
                                         "Iterates over the packets of a heap (bytes).")
        .def(nb::init<nb::handle_t<heap_wrapper>, item_pointer_t, std::size_t>(), "heap"_a, "cnt"_a,
             "max_packet_size"_a)
        .def("__iter__", [](nb::handle self) { return nb::borrow(self); })
        .def("__next__", &packet_generator_wrapper::next);
}

void bind_send_streams(nb::module_ &m)
{
    nb::class_<send::stream>(m, "Stream", nb::is_weak_referenceable(), "Base class of the send streams.")
        .def("set_cnt_sequence", &send::stream::set_cnt_sequence, "next"_a, "step"_a,
             "Set the automatic heap counters: next, next + step, ...")
        .def_prop_ro("num_substreams", &send::stream::get_num_substreams);

    auto bytes_cls = nb::class_<bytes_stream, send::stream>(m, "BytesStream",
                                                            "A stream that collects its packets in memory.")
                         .def(
                             "__init__",
                             [](bytes_stream *self, std::shared_ptr<thread_pool_wrapper> tp,
                                const send::stream_config &config)
                             { new (self) bytes_stream(make_io_context(tp), config); },
                             "thread_pool"_a, "config"_a = send::stream_config())
                         .def("getvalue", &bytes_stream::getvalue, "All the bytes sent so far.");
    add_sync_send_methods<bytes_stream>(bytes_cls);

    auto inproc_cls = nb::class_<inproc_stream_wrapper, send::stream>(
                          m, "InprocStream", "A stream that sends to InprocQueues (one per substream).")
                          .def(
                              "__init__",
                              [](inproc_stream_wrapper *self, std::shared_ptr<thread_pool_wrapper> tp,
                                 const std::vector<std::shared_ptr<inproc_queue_wrapper>> &queues,
                                 const send::stream_config &config)
                              {
                                  nb::list q;
                                  for (const auto &queue : queues)
                                      q.append(nb::cast(queue));
                                  new (self) inproc_stream_wrapper(make_io_context(tp), q, config);
                              },
                              "thread_pool"_a, "queues"_a, "config"_a = send::stream_config())
                          .def_prop_ro("queues", &inproc_stream_wrapper::get_queues_py);
    add_sync_send_methods<inproc_stream_wrapper>(inproc_cls);
}

} // anonymous namespace

void bind_send(nb::module_ &m)
{
    bind_send_config(m);
#if SPEAD2_USE_XDP
    bind_send_xdp_config(m);
#endif
    bind_send_ibv_config(m);
    bind_send_heaps(m);
    bind_send_streams(m);
    bind_send_net(m);
    bind_send_asyncio(m);
}

} // namespace spead2::python
