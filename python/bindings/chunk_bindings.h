// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: the chunking receiver's bindings (python/bindings/chunk.cpp).
#ifndef SPEAD2_PYTHON_CHUNK_BINDINGS_H
#define SPEAD2_PYTHON_CHUNK_BINDINGS_H

#include <nanobind/nanobind.h>

namespace spead2::python
{

/**
 * ChunkStreamConfig, Chunk, ChunkRingbuffer, ChunkRingPair, ChunkRingStream,
 * ChunkStreamGroupConfig, ChunkStreamGroupMember and ChunkStreamRingGroup, in
 * spead2._spead2.recv. Call after bind_recv_streams (the streams derive from _Stream).
 */
void bind_chunks(nanobind::module_ &m);

} // namespace spead2::python

#endif // SPEAD2_PYTHON_CHUNK_BINDINGS_H
