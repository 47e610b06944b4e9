// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: helpers shared by the recv and send bindings.
#ifndef SPEAD2_PYTHON_BINDINGS_UTIL_H
#define SPEAD2_PYTHON_BINDINGS_UTIL_H

#include <new>
#include <string_view>
#include <nanobind/nanobind.h>

namespace spead2::python
{

/**
 * Sets every keyword as an attribute of @a obj, as spead2's config classes do: a name that is not
 * a public attribute of the type raises TypeError("got an unexpected keyword argument"); a
 * read-only one raises AttributeError; a bad value raises whatever its setter raises.
 */
inline void set_attributes_from_kwargs(nanobind::handle obj, const nanobind::kwargs &kwargs)
{
    nanobind::handle type = obj.type();
    for (auto [key, value] : kwargs)
    {
        nanobind::str name = nanobind::borrow<nanobind::str>(key);
        std::string_view view = name.c_str();
        if (view.empty() || view[0] == '_' || !nanobind::hasattr(type, name))
            throw nanobind::type_error("got an unexpected keyword argument");
        nanobind::setattr(obj, name, value);
    }
}

/**
 * `__init__(self, **kwargs)` for a default-constructible config class @a T: default-constructs it,
 * then applies the keywords with set_attributes_from_kwargs. Bind with
 * `.def("__init__", &init_from_kwargs<T>)`.
 */
template<typename T>
void init_from_kwargs(nanobind::pointer_and_handle<T> self, const nanobind::kwargs &kwargs)
{
    new (self.p) T();
    try
    {
        // Attribute setters need a ready instance.
        nanobind::inst_mark_ready(self.h);
        set_attributes_from_kwargs(self.h, kwargs);
    }
    catch (...)
    {
        // nanobind destroys a ready instance when its refcount drops; undo the ready mark so it is
        // not destroyed twice and destroy it here.
        nanobind::inst_destruct(self.h);
        throw;
    }
}

/// Gives a nanobind enum the repr of enum.Enum (`<Mode.COUNTER: 0>`), as the reference has.
inline void fix_enum_repr(nanobind::handle enum_type)
{
    nanobind::setattr(enum_type, "__repr__",
                      nanobind::module_::import_("enum").attr("Enum").attr("__repr__"));
}

} // namespace spead2::python

#endif // SPEAD2_PYTHON_BINDINGS_UTIL_H
