// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: what the network bindings (readers in recv_stream.cpp, UdpStream and
/// TcpStream in send_net.cpp and send_asyncio.cpp) share: Python socket arguments, host name
/// resolution and the errors the reference raises for failing socket calls.
#ifndef SPEAD2_PYTHON_NET_BINDINGS_H
#define SPEAD2_PYTHON_NET_BINDINGS_H

#include <climits>
#include <vector>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <Python.h>
#include <nanobind/nanobind.h>
#include <sys/socket.h>

namespace spead2::python
{

/**
 * A Python socket argument of socket type @a Type (SOCK_DGRAM or SOCK_STREAM): any object whose
 * fileno() is a descriptor of such a socket, as spead2 accepts. Anything else fails the argument
 * conversion, so that overload resolution moves on (and ends in TypeError). The descriptor
 * stays the caller's; the C++ objects duplicate it.
 */
template<int Type>
struct socket_arg
{
    int fd = -1;
};

using udp_socket_arg = socket_arg<SOCK_DGRAM>;
using tcp_socket_arg = socket_arg<SOCK_STREAM>;

/**
 * `what() [category:value]`, the shape of spead2's messages for system errors (it adds the
 * source location of the failing Boost call, which we don't have).
 */
inline std::string format_system_error(const std::system_error &e)
{
    const std::error_category &category = e.code().category();
    std::string name = category.name();
    // errno values are "system" in spead2 (Boost) whichever errno category reported them.
    if (category == std::generic_category() || category == std::system_category() || name == "asio.system")
        name = "system";
    return std::string(e.what()) + " [" + name + ":" + std::to_string(e.code().value()) + "]";
}

/**
 * Calls @a f, turning a std::system_error into RuntimeError as spead2 does for a failing socket,
 * bind or resolve call made while a reader or stream is set up (unlike errors reported for a
 * heap, which are OSError with errno).
 */
template<typename F>
decltype(auto) with_setup_errors(F &&f)
{
    try
    {
        return std::forward<F>(f)();
    }
    catch (const std::system_error &e)
    {
        throw std::runtime_error(format_system_error(e));
    }
}

/**
 * A host for the C++ constructors that resolve it: numeric addresses and "" as they are, names
 * resolved here, so that a name that does not resolve fails the same way for every transport
 * (std::system_error "resolve: Host not found (authoritative)" in the asio.netdb category).
 */
std::string resolve_host(const std::string &host);

/// (host, port) pairs as the Python API takes them.
using endpoint_list = std::vector<std::pair<std::string, std::uint16_t>>;

/// Host names resolved up front (see resolve_host), so every transport reports them alike.
endpoint_list resolve_endpoints(const endpoint_list &endpoints);

/**
 * spead2 binds the socket of the endpoint's family to the interface address, so an address of
 * the other family fails in bind with EAFNOSUPPORT (a RuntimeError); the C++ class says
 * invalid_argument instead.
 */
void check_bind_family(const endpoint_list &endpoints, const std::string &interface_address);

} // namespace spead2::python

namespace nanobind::detail
{

template<int Type>
struct type_caster<spead2::python::socket_arg<Type>>
{
    NB_TYPE_CASTER(spead2::python::socket_arg<Type>, const_name("socket.socket"))

    bool from_python(handle src, std::uint8_t, cleanup_list *) noexcept
    {
        PyObject *fileno = PyObject_CallMethod(src.ptr(), "fileno", nullptr);
        if (!fileno)
        {
            PyErr_Clear();
            return false;
        }
        long fd = PyLong_Check(fileno) ? PyLong_AsLong(fileno) : -1;
        Py_DECREF(fileno);
        if (fd == -1 && PyErr_Occurred())
            PyErr_Clear();
        if (fd < 0 || fd > INT_MAX)
            return false;
        int type = 0;
        socklen_t len = sizeof(type);
        if (getsockopt(int(fd), SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != Type)
            return false;
        value.fd = int(fd);
        return true;
    }

    static handle from_cpp(const spead2::python::socket_arg<Type> &v, rv_policy, cleanup_list *) noexcept
    {
        return PyLong_FromLong(v.fd);
    }
};

} // namespace nanobind::detail

#endif // SPEAD2_PYTHON_NET_BINDINGS_H
