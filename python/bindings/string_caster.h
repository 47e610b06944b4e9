// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: std::string arguments take str or bytes, as spead2 4.5.1's do
/// (`bind_hostname=b"127.0.0.1"`, bytes file names, `stats[b"heaps"]`). Included instead of
/// <nanobind/stl/string.h>, which takes str only; a file that includes both does not compile.
#ifndef SPEAD2_PYTHON_STRING_CASTER_H
#define SPEAD2_PYTHON_STRING_CASTER_H

#include <cstdint>
#include <string>
#include <nanobind/nanobind.h>

namespace nanobind::detail
{

template<>
struct type_caster<std::string>
{
    NB_TYPE_CASTER(std::string, const_name("str"))

    bool from_python(handle src, std::uint8_t, cleanup_list *) noexcept
    {
        Py_ssize_t size = 0;
        if (PyUnicode_Check(src.ptr()))
        {
            const char *data = PyUnicode_AsUTF8AndSize(src.ptr(), &size);
            if (!data)
            {
                PyErr_Clear(); // lone surrogates: not encodable as UTF-8
                return false;
            }
            value.assign(data, size);
            return true;
        }
        if (PyBytes_Check(src.ptr()))
        {
            char *data = nullptr;
            if (PyBytes_AsStringAndSize(src.ptr(), &data, &size) != 0)
            {
                PyErr_Clear();
                return false;
            }
            value.assign(data, size);
            return true;
        }
        return false;
    }

    static handle from_cpp(const std::string &value, rv_policy, cleanup_list *) noexcept
    {
        return PyUnicode_FromStringAndSize(value.data(), Py_ssize_t(value.size()));
    }
};

} // namespace nanobind::detail

#endif // SPEAD2_PYTHON_STRING_CASTER_H
