// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Shared libraries opened at run time (dlopen), so that optional dependencies (the CUDA runtime,
/// later ibverbs) need not be present where the library is only loaded.
#ifndef SPEAD2_SRC_OS_DYNAMIC_LIBRARY_H
#define SPEAD2_SRC_OS_DYNAMIC_LIBRARY_H

#include <initializer_list>
#include <string>

namespace spead2::detail
{

/// One opened shared library; closes it on destruction. Movable, not copyable.
class dynamic_library
{
private:
    void *handle_ = nullptr;
    std::string name_;

public:
    /**
     * Opens the first of @a names that loads.
     * @throws std::runtime_error naming every name tried and the loader's last message
     */
    explicit dynamic_library(std::initializer_list<const char *> names);
    ~dynamic_library();
    dynamic_library(dynamic_library &&other) noexcept;
    dynamic_library &operator=(dynamic_library &&other) noexcept;
    dynamic_library(const dynamic_library &) = delete;
    dynamic_library &operator=(const dynamic_library &) = delete;

    /// The name that loaded.
    const std::string &name() const { return name_; }

    /// The address of @a symbol. @throws std::runtime_error if the library lacks it
    void *symbol(const char *symbol) const;

    /// symbol(), cast to the type of @a target, which it is stored in.
    template<typename T>
    void bind(T &target, const char *name) const
    {
        target = reinterpret_cast<T>(symbol(name));
    }
};

} // namespace spead2::detail

#endif // SPEAD2_SRC_OS_DYNAMIC_LIBRARY_H
