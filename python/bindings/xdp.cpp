// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Bindings of the AF_XDP configuration classes and mode enums (see xdp_bindings.h).
#include <spead2/features.h>
#if SPEAD2_USE_XDP

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/vector.h>
#include <spead2/common/xdp_mode.h>
#include <spead2/recv/udp_xdp_reader.h>
#include <spead2/send/udp_xdp_stream.h>
#include "bindings_util.h"
#include "gil.h"
#include "xdp_bindings.h"
#include "string_caster.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace spead2::python
{

namespace
{

using endpoint_list = std::vector<std::pair<std::string, std::uint16_t>>;

/// The properties both configs have; buffer_size 0 means the default, as for spead2's ibverbs.
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
            [](Config &c, std::size_t v) { c.set_buffer_size(v ? v : Config::default_buffer_size); },
            "bytes of frame memory (UMEM); 0 for the default")
        .def_prop_rw("queue_id", &Config::get_queue_id, [](Config &c, std::uint32_t v) { c.set_queue_id(v); })
        .def_prop_rw(
            "copy_mode", [](const Config &c) { return c.get_copy_mode(); },
            [](Config &c, xdp_copy_mode v) { c.set_copy_mode(v); });
    def_constant(cls, "DEFAULT_BUFFER_SIZE", Config::default_buffer_size);
}

} // namespace

void bind_xdp_modes(nb::module_ &m)
{
    nb::enum_<xdp_attach_mode>(m, "XdpAttachMode", "Where an AF_XDP reader's XDP program runs.")
        .value("AUTO", xdp_attach_mode::automatic)
        .value("NATIVE", xdp_attach_mode::native)
        .value("GENERIC", xdp_attach_mode::generic);
    fix_enum_repr(m.attr("XdpAttachMode"));
    nb::enum_<xdp_copy_mode>(m, "XdpCopyMode", "How frames move between the NIC and an AF_XDP socket.")
        .value("AUTO", xdp_copy_mode::automatic)
        .value("ZERO_COPY", xdp_copy_mode::zero_copy)
        .value("COPY", xdp_copy_mode::copy);
    fix_enum_repr(m.attr("XdpCopyMode"));
}

void bind_recv_xdp_config(nb::module_ &m)
{
    using cfg = recv::udp_xdp_config;
    nb::class_<cfg> cls(m, "UdpXdpConfig", nb::is_weak_referenceable(),
                        "Configuration of an AF_XDP reader (keyword arguments).");
    def_common_properties<cfg>(cls);
    cls.def_prop_rw(
           "queue_ids", [](const cfg &c) { return c.get_queue_ids(); },
           [](cfg &c, const std::vector<std::uint32_t> &v) { c.set_queue_ids(v); },
           "receive queues, one AF_XDP socket each (queue_id sets a single one)")
        .def_prop_rw(
            "max_poll", &cfg::get_max_poll, [](cfg &c, int v) { c.set_max_poll(v); },
            "empty polls of the receive ring before sleeping")
        .def_prop_rw(
            "busy_poll", &cfg::get_busy_poll, [](cfg &c, int v) { c.set_busy_poll(v); },
            "microseconds the kernel busy-polls the NIC queue after an empty poll (0: off; Linux 5.11)")
        .def_prop_rw("attach_mode", &cfg::get_attach_mode,
                     [](cfg &c, xdp_attach_mode v) { c.set_attach_mode(v); });
    def_constant(cls, "DEFAULT_MAX_POLL", cfg::default_max_poll);
}

void bind_send_xdp_config(nb::module_ &m)
{
    using cfg = send::udp_xdp_config;
    nb::class_<cfg> cls(m, "UdpXdpConfig", nb::is_weak_referenceable(),
                        "Configuration of an AF_XDP send stream (keyword arguments).");
    def_common_properties<cfg>(cls);
    cls.def_prop_rw("ttl", &cfg::get_ttl, [](cfg &c, std::uint8_t v) { c.set_ttl(v); });
}

} // namespace spead2::python

#endif // SPEAD2_USE_XDP
