// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A handle to an io_context that may keep its thread_pool alive.
#ifndef SPEAD2_COMMON_IO_CONTEXT_REF_H
#define SPEAD2_COMMON_IO_CONTEXT_REF_H

#include <memory>
#include <stdexcept>
#include <utility>
#include <spead2/common/thread_pool.h>

namespace spead2
{

/**
 * Refers to an io_context: a bare one (the caller keeps it alive), the one in a thread_pool (the
 * caller keeps the pool alive) or the one in a std::shared_ptr<thread_pool> (this reference keeps
 * the pool alive). Copyable; cheap.
 */
class io_context_ref
{
private:
    asio::io_context *io_context_;
    std::shared_ptr<thread_pool> thread_pool_;

public:
    io_context_ref(asio::io_context &io_context)
        : io_context_(&io_context)
    {
    }
    io_context_ref(thread_pool &tp)
        : io_context_(&tp.get_io_context())
    {
    }
    /// @throws std::invalid_argument if @a tp is null
    io_context_ref(std::shared_ptr<thread_pool> tp)
        : io_context_(tp ? &tp->get_io_context() : nullptr)
        , thread_pool_(std::move(tp))
    {
        if (!io_context_)
            throw std::invalid_argument("io_context_ref: thread_pool pointer is null");
    }

    asio::io_context &operator*() const { return *io_context_; }
    asio::io_context *operator->() const { return io_context_; }
    /// The pool this reference keeps alive, or null if it was made from a reference.
    std::shared_ptr<thread_pool> get_shared_thread_pool() const { return thread_pool_; }
};

/// Old name, kept for compatibility.
typedef io_context_ref io_service_ref;

} // namespace spead2

#endif // SPEAD2_COMMON_IO_CONTEXT_REF_H
