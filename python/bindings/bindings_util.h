// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: helpers shared by the recv and send bindings.
#ifndef SPEAD2_PYTHON_BINDINGS_UTIL_H
#define SPEAD2_PYTHON_BINDINGS_UTIL_H

#include <cstdint>
#include <new>
#include <string_view>
#include <nanobind/nanobind.h>

namespace spead2::python
{

/**
 * Type slots that let the cyclic GC see, and break, cycles through the Python objects that a
 * bound C++ T holds (a place callback whose globals refer back to the stream, a completion
 * callback whose future refers back to the stream, ...). T provides
 * `int traverse(visitproc, void *) const` (Py_VISIT each held object) and `void clear()` (drop
 * what can be dropped safely; it may do nothing when another object of the cycle, such as a
 * function's globals dict, breaks it).
 */
template<typename T>
int gc_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self)); // heap types must visit their type
    // Also called before (or while) the C++ constructor runs.
    if (!nanobind::inst_ready(self))
        return 0;
    return nanobind::inst_ptr<T>(self)->traverse(visit, arg);
}

template<typename T>
int gc_clear(PyObject *self)
{
    if (nanobind::inst_ready(self))
        nanobind::inst_ptr<T>(self)->clear();
    return 0;
}

template<typename T>
PyType_Slot gc_slots[] = {
    {Py_tp_traverse, (void *)gc_traverse<T>}, {Py_tp_clear, (void *)gc_clear<T>}, {0, nullptr}};

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

/**
 * A bool parameter that takes what spead2 4.5.1's bindings take for one: True and False, None
 * (false), and any number (ints, floats, numpy.bool_), by its truth value. nanobind's bool takes
 * True and False only, which broke `StreamConfig(allow_out_of_order=1)` and friends.
 */
struct truthy
{
    bool value = false;
    operator bool() const { return value; }
};

/**
 * A class constant, read as Class.NAME or through an instance, that cannot be assigned (spead2's
 * are pybind11 read-only static properties: assigning raises AttributeError).
 */
template<typename Class, typename T>
void def_constant(Class &cls, const char *name, T value)
{
    cls.def_prop_ro_static(name, [value](nanobind::handle) { return value; });
}

/// The setter annotation for a @ref truthy property: nanobind turns None away unless told.
inline auto truthy_setter()
{
    return nanobind::for_setter(nanobind::arg().none());
}

/// Gives a nanobind enum the repr of enum.Enum (`<Mode.COUNTER: 0>`), as the reference has.
inline void fix_enum_repr(nanobind::handle enum_type)
{
    nanobind::setattr(enum_type, "__repr__",
                      nanobind::module_::import_("enum").attr("Enum").attr("__repr__"));
}

} // namespace spead2::python

namespace nanobind::detail
{

template<>
struct type_caster<spead2::python::truthy>
{
    NB_TYPE_CASTER(spead2::python::truthy, const_name("bool"))

    bool from_python(handle src, std::uint8_t, cleanup_list *) noexcept
    {
        PyObject *obj = src.ptr();
        if (obj != Py_True && obj != Py_False && obj != Py_None && !PyNumber_Check(obj))
            return false;
        const int result = PyObject_IsTrue(obj);
        if (result < 0)
        {
            PyErr_Clear();
            return false;
        }
        value.value = result != 0;
        return true;
    }

    static handle from_cpp(spead2::python::truthy v, rv_policy, cleanup_list *) noexcept
    {
        return handle(v.value ? Py_True : Py_False).inc_ref();
    }
};

} // namespace nanobind::detail

#endif // SPEAD2_PYTHON_BINDINGS_UTIL_H
