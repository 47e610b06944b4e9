// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The rdma-core libraries (libibverbs, librdmacm), opened at run time so that spead2 builds and
/// runs without them. The verbs that rdma-core's headers define inline (posting, polling, flow
/// steering) dispatch through the device context and need no symbol; the others are here.
#ifndef SPEAD2_SRC_OS_IBVERBS_LIBRARY_H
#define SPEAD2_SRC_OS_IBVERBS_LIBRARY_H

#include <spead2/features.h>
#if SPEAD2_USE_IBV
#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#endif

namespace spead2::detail
{

/**
 * The environment variable that names one library to load instead of libibverbs.so.1 and
 * librdmacm.so.1 (it must provide the symbols of both): the tests point it at their emulated
 * verbs provider. Ignored in programs running with raised privileges (secure_getenv).
 */
inline constexpr const char *ibverbs_library_env = "SPEAD2_IBV_LIBRARY";

/**
 * Loads libibverbs.so.1 and librdmacm.so.1 on first use (and keeps them).
 * @throws std::runtime_error "ibverbs support needs libibverbs.so.1: ..." naming the library
 * that is missing, or "... needs symbol ..." for one that lacks a function
 */
void require_ibverbs();

#if SPEAD2_USE_IBV
/// The functions of rdma-core that spead2 calls, by their own names.
struct ibverbs_api
{
    decltype(&::rdma_create_event_channel) rdma_create_event_channel;
    decltype(&::rdma_destroy_event_channel) rdma_destroy_event_channel;
    decltype(&::rdma_create_id) rdma_create_id;
    decltype(&::rdma_destroy_id) rdma_destroy_id;
    decltype(&::rdma_bind_addr) rdma_bind_addr;
    decltype(&::ibv_query_device) ibv_query_device;
    decltype(&::ibv_alloc_pd) ibv_alloc_pd;
    decltype(&::ibv_dealloc_pd) ibv_dealloc_pd;
    decltype(&::ibv_reg_mr) ibv_reg_mr;
    decltype(&::ibv_dereg_mr) ibv_dereg_mr;
    decltype(&::ibv_create_comp_channel) ibv_create_comp_channel;
    decltype(&::ibv_destroy_comp_channel) ibv_destroy_comp_channel;
    decltype(&::ibv_create_cq) ibv_create_cq;
    decltype(&::ibv_destroy_cq) ibv_destroy_cq;
    decltype(&::ibv_get_cq_event) ibv_get_cq_event;
    decltype(&::ibv_ack_cq_events) ibv_ack_cq_events;
    decltype(&::ibv_create_qp) ibv_create_qp;
    decltype(&::ibv_modify_qp) ibv_modify_qp;
    decltype(&::ibv_destroy_qp) ibv_destroy_qp;
};

/// The loaded functions. @throws std::runtime_error as require_ibverbs()
const ibverbs_api &ibverbs();
#endif

} // namespace spead2::detail

#endif // SPEAD2_SRC_OS_IBVERBS_LIBRARY_H
