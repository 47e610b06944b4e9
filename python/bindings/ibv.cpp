// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Bindings of the ibverbs configuration classes (see ibv_bindings.h).
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/vector.h>
#include <spead2/recv/udp_ibv_reader.h>
#include <spead2/send/udp_ibv_stream.h>
#include "bindings_util.h"
#include "ibv_bindings.h"
#include "string_caster.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace spead2::python
{

namespace
{

using endpoint_list = std::vector<std::pair<std::string, std::uint16_t>>;

/// The properties both configs have, as spead2 4.5.1 names them.
template<typename Config, typename Cls>
void def_common_properties(Cls &cls)
{
    cls.def("__init__", &init_from_kwargs<Config>, nb::sig("def __init__(self, **kwargs) -> None"))
        .def_prop_rw(
            "endpoints", [](const Config &c) { return c.get_endpoints(); },
            [](Config &c, const endpoint_list &v) { c.set_endpoints(v); },
            "(address, port) pairs; a copy: assign a new list to change them")
        .def_prop_rw(
            "interface_address", [](const Config &c) { return c.get_interface_address(); },
            [](Config &c, const std::string &v) { c.set_interface_address(v); },
            "IPv4 address of the interface to use")
        .def_prop_rw(
            "buffer_size", [](const Config &c) { return c.get_buffer_size(); },
            [](Config &c, std::size_t v) { c.set_buffer_size(v); }, "bytes of buffer; 0 for the default")
        .def_prop_rw(
            "comp_vector", [](const Config &c) { return c.get_comp_vector(); },
            [](Config &c, int v) { c.set_comp_vector(v); },
            "completion vector for interrupts (negative: busy polling, no interrupts)")
        .def_prop_rw(
            "max_poll", [](const Config &c) { return c.get_max_poll(); },
            [](Config &c, int v) { c.set_max_poll(v); }, "polls before sleeping (at least 1)");
    def_constant(cls, "DEFAULT_BUFFER_SIZE", Config::default_buffer_size);
    def_constant(cls, "DEFAULT_MAX_POLL", Config::default_max_poll);
}

/// A memory region given from Python: a writable or read-only buffer, exported for the lookup.
send::udp_ibv_config::memory_region buffer_region(nb::handle obj)
{
    Py_buffer view;
    if (PyObject_GetBuffer(obj.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0)
        throw nb::python_error();
    const send::udp_ibv_config::memory_region region(view.buf, std::size_t(view.len));
    PyBuffer_Release(&view);
    return region;
}

} // namespace

void bind_recv_ibv_config(nb::module_ &m)
{
    using cfg = recv::udp_ibv_config;
    nb::class_<cfg> cls(m, "UdpIbvConfig", nb::is_weak_referenceable(),
                        "Configuration of an ibverbs reader (keyword arguments); endpoints and the interface "
                        "address are checked by add_udp_ibv_reader.");
    def_common_properties<cfg>(cls);
    cls.def_prop_rw(
        "max_size", &cfg::get_max_size, [](cfg &c, std::size_t v) { c.set_max_size(v); },
        "largest packet to receive");
    def_constant(cls, "DEFAULT_MAX_SIZE", cfg::default_max_size);
}

void bind_send_ibv_config(nb::module_ &m)
{
    using cfg = py_send_ibv_config;
    nb::class_<cfg> cls(m, "UdpIbvConfig", nb::is_weak_referenceable(),
                        "Configuration of an ibverbs send stream (keyword arguments); endpoints and the "
                        "interface address are checked by UdpIbvStream.");
    def_common_properties<cfg>(cls);
    cls.def_prop_rw("ttl", &cfg::get_ttl, [](cfg &c, std::uint8_t v) { c.set_ttl(v); })
        .def_prop_rw(
            "memory_regions", [](const cfg &c) { return c.regions; },
            [](cfg &c, const nb::list &regions)
            {
                std::vector<send::udp_ibv_config::memory_region> out;
                for (nb::handle r : regions)
                    out.push_back(buffer_region(r));
                c.set_memory_regions(out);
                c.regions = nb::list(regions);
            },
            "buffers to register for zero-copy sends (a copy of the list)");
}

} // namespace spead2::python
