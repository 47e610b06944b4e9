// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// dlopen/dlsym with errors that say what was tried.
#include <dlfcn.h>
#include <stdexcept>
#include <utility>
#include "os/dynamic_library.h"

namespace spead2::detail
{

dynamic_library::dynamic_library(std::initializer_list<const char *> names)
{
    std::string tried;
    std::string last_error;
    for (const char *name : names)
    {
        handle_ = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (handle_)
        {
            name_ = name;
            return;
        }
        const char *error = dlerror();
        last_error = error ? error : "unknown error";
        tried += tried.empty() ? name : std::string(", ") + name;
    }
    throw std::runtime_error("cannot load " + tried + ": " + last_error);
}

dynamic_library::~dynamic_library()
{
    if (handle_)
        dlclose(handle_);
}

dynamic_library::dynamic_library(dynamic_library &&other) noexcept
    : handle_(std::exchange(other.handle_, nullptr))
    , name_(std::move(other.name_))
{
}

dynamic_library &dynamic_library::operator=(dynamic_library &&other) noexcept
{
    if (this != &other)
    {
        if (handle_)
            dlclose(handle_);
        handle_ = std::exchange(other.handle_, nullptr);
        name_ = std::move(other.name_);
    }
    return *this;
}

void *dynamic_library::symbol(const char *symbol) const
{
    dlerror();
    void *address = dlsym(handle_, symbol);
    if (!address)
    {
        const char *error = dlerror();
        throw std::runtime_error(name_ + " has no symbol " + symbol +
                                 (error ? std::string(": ") + error : ""));
    }
    return address;
}

} // namespace spead2::detail
