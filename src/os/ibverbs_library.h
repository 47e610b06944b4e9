// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The rdma-core libraries (libibverbs, librdmacm), opened at run time so that spead2 builds and
/// runs without them.
#ifndef SPEAD2_SRC_OS_IBVERBS_LIBRARY_H
#define SPEAD2_SRC_OS_IBVERBS_LIBRARY_H

namespace spead2::detail
{

/**
 * Loads libibverbs.so.1 and librdmacm.so.1 on first use (and keeps them).
 * @throws std::runtime_error "ibverbs support needs libibverbs.so.1: ..." naming the library
 * that is missing
 */
void require_ibverbs();

} // namespace spead2::detail

#endif // SPEAD2_SRC_OS_IBVERBS_LIBRARY_H
