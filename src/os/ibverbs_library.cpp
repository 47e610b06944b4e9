// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Loading rdma-core at run time.
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>
#include "os/dynamic_library.h"
#include "os/ibverbs_library.h"

namespace spead2::detail
{

void require_ibverbs()
{
    // Kept for the process's life; a failure is remembered so that every caller sees it.
    static std::once_flag once;
    static std::string failure;
    static std::vector<dynamic_library> *loaded = new std::vector<dynamic_library>();
    std::call_once(once,
                   []
                   {
                       for (const char *name : {"libibverbs.so.1", "librdmacm.so.1"})
                       {
                           try
                           {
                               loaded->emplace_back(std::initializer_list<const char *>{name});
                           }
                           catch (std::exception &e)
                           {
                               failure = std::string("ibverbs support needs ") + name + ": " + e.what();
                               return;
                           }
                       }
                   });
    if (!failure.empty())
        throw std::runtime_error(failure);
}

} // namespace spead2::detail
