// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Loading rdma-core at run time.
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>
#include "os/dynamic_library.h"
#include "os/ibverbs_library.h"

namespace spead2::detail
{

namespace
{

struct loaded_ibverbs
{
    std::vector<dynamic_library> libraries; ///< kept for the process's life
    std::string failure;                    ///< remembered, so that every caller sees it
#if SPEAD2_USE_IBV
    ibverbs_api api{};
#endif
};

/// Binds @a target to @a name from @a library; false (with @a failure set) if it is missing.
template<typename T>
bool bind_symbol(const dynamic_library &library, T &target, const char *name, std::string &failure)
{
    try
    {
        library.bind(target, name);
        return true;
    }
    catch (std::exception &e)
    {
        failure = "ibverbs support needs " + library.name() + " with " + name + ": " + e.what();
        return false;
    }
}

loaded_ibverbs load()
{
    loaded_ibverbs out;
    std::vector<const char *> names{"libibverbs.so.1", "librdmacm.so.1"};
    // secure_getenv: a program given capabilities (spead2_net_raw, setcap) must not load a
    // library that its user names.
    if (const char *override_path = ::secure_getenv(ibverbs_library_env); override_path && *override_path)
        names = {override_path};
    for (const char *name : names)
    {
        try
        {
            out.libraries.emplace_back(std::initializer_list<const char *>{name});
        }
        catch (std::exception &e)
        {
            out.failure = std::string("ibverbs support needs ") + name + ": " + e.what();
            return out;
        }
    }
#if SPEAD2_USE_IBV
    const dynamic_library &verbs = out.libraries.front();
    const dynamic_library &cm = out.libraries.back();
    ibverbs_api &a = out.api;
#define SPEAD2_BIND(library, fn)                                                                             \
    if (!bind_symbol(library, a.fn, #fn, out.failure))                                                       \
        return out;
    SPEAD2_BIND(cm, rdma_create_event_channel)
    SPEAD2_BIND(cm, rdma_destroy_event_channel)
    SPEAD2_BIND(cm, rdma_create_id)
    SPEAD2_BIND(cm, rdma_destroy_id)
    SPEAD2_BIND(cm, rdma_bind_addr)
    SPEAD2_BIND(verbs, ibv_query_device)
    SPEAD2_BIND(verbs, ibv_alloc_pd)
    SPEAD2_BIND(verbs, ibv_dealloc_pd)
    SPEAD2_BIND(verbs, ibv_reg_mr)
    SPEAD2_BIND(verbs, ibv_dereg_mr)
    SPEAD2_BIND(verbs, ibv_create_comp_channel)
    SPEAD2_BIND(verbs, ibv_destroy_comp_channel)
    SPEAD2_BIND(verbs, ibv_create_cq)
    SPEAD2_BIND(verbs, ibv_destroy_cq)
    SPEAD2_BIND(verbs, ibv_get_cq_event)
    SPEAD2_BIND(verbs, ibv_ack_cq_events)
    SPEAD2_BIND(verbs, ibv_create_qp)
    SPEAD2_BIND(verbs, ibv_modify_qp)
    SPEAD2_BIND(verbs, ibv_destroy_qp)
#undef SPEAD2_BIND
#endif
    return out;
}

const loaded_ibverbs &loaded()
{
    static std::once_flag once;
    static loaded_ibverbs *state = nullptr; // never destroyed: verbs objects may outlive statics
    std::call_once(once, [] { state = new loaded_ibverbs(load()); });
    if (!state->failure.empty())
        throw std::runtime_error(state->failure);
    return *state;
}

} // namespace

void require_ibverbs()
{
    loaded();
}

#if SPEAD2_USE_IBV
const ibverbs_api &ibverbs()
{
    return loaded().api;
}
#endif

} // namespace spead2::detail
