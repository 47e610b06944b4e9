# SPDX-License-Identifier: LGPL-3.0-or-later
"""spead2.recv.cuda: clear errors where CUDA cannot be used, device arrays as chunk data (checked
here with host memory behind a __cuda_array_interface__, so no GPU is needed), and on a machine
with a GPU, chunks received into DeviceBuffers through a CopyEngine."""

import re

import numpy as np
import pytest

import spead2
import spead2.recv as recv
import spead2.recv.cuda as cuda

from test_recv_chunk import HEAP_SIZE, HEAPS_PER_CHUNK, POS_ID, TAG_ID, expected_data, plain_callable, stream_bytes

requires_gpu = pytest.mark.skipif(not cuda.is_available(), reason=f"no GPU: {cuda.unavailable_reason()}")


class HostAsDevice:
    """Host memory that claims to be a device array: the stream writes through the pointer."""

    def __init__(self, array, readonly=False, strides=None):
        self.array = array
        self.__cuda_array_interface__ = {
            "shape": array.shape,
            "typestr": array.dtype.str,
            "data": (array.ctypes.data, readonly),
            "strides": strides,
            "version": 3,
        }


@pytest.fixture
def thread_pool():
    pool = spead2.ThreadPool()
    yield pool
    pool.stop()


@pytest.mark.skipif(cuda.is_available(), reason="a GPU is present")
def test_unavailable_is_explained():
    reason = cuda.unavailable_reason()
    print(f"CUDA unavailable here: {reason}")
    assert reason
    with pytest.raises(RuntimeError, match="^" + re.escape(reason) + "$"):
        cuda.CopyEngine(0)
    with pytest.raises(RuntimeError, match="^" + re.escape(reason) + "$"):
        cuda.DeviceBuffer(1024)
    with pytest.raises(RuntimeError, match="^" + re.escape(reason) + "$"):
        cuda.pinned_buffer(1024)


def test_module_is_the_extension_submodule():
    assert recv.cuda.CopyEngine is cuda.CopyEngine
    assert recv.ChunkStreamConfig().copy_engine is None
    with pytest.raises(TypeError, match="copy_engine must be None or a spead2.recv.cuda.CopyEngine"):
        recv.ChunkStreamConfig(copy_engine=1)


def test_chunk_stands_for_its_data():
    device = HostAsDevice(np.zeros(16, np.uint8))
    chunk = recv.Chunk(data=device)
    assert chunk.__cuda_array_interface__ == device.__cuda_array_interface__
    host = recv.Chunk(data=np.arange(4, dtype=np.uint8))
    assert not hasattr(host, "__cuda_array_interface__")
    assert host.__dlpack_device__() == (1, 0)  # numpy's: kDLCPU
    assert np.from_dlpack(host).tolist() == [0, 1, 2, 3]


def test_device_array_interface_validation():
    chunk = recv.Chunk(data=HostAsDevice(np.zeros(16, np.uint8)))
    assert isinstance(chunk.data, HostAsDevice)
    with pytest.raises(ValueError, match="read-only"):
        recv.Chunk(data=HostAsDevice(np.zeros(16, np.uint8), readonly=True))
    with pytest.raises(ValueError, match="not C-contiguous"):
        recv.Chunk(data=HostAsDevice(np.zeros((4, 4), np.uint8), strides=(1, 4)))
    # Strides that spell out the C layout are fine; present and extra stay host buffers.
    recv.Chunk(data=HostAsDevice(np.zeros((4, 4), np.uint8), strides=(4, 1)))
    with pytest.raises(TypeError):
        recv.Chunk(present=HostAsDevice(np.zeros(4, np.uint8)))


def test_device_array_needs_a_copy_engine(thread_pool):
    """Device data on a stream without a copy engine: the heaps are refused, the memory untouched."""
    config = recv.ChunkStreamConfig(items=[POS_ID, TAG_ID], max_chunks=2, place=plain_callable())
    data_ring = recv.ChunkRingbuffer(4)
    free_ring = recv.ChunkRingbuffer(4)
    stream = recv.ChunkRingStream(thread_pool, recv.StreamConfig(), config, data_ring, free_ring)
    backing = []
    for _ in range(3):
        array = np.full(HEAPS_PER_CHUNK * HEAP_SIZE // 4, 0xEEEEEEEE, np.uint32)
        backing.append(array)
        stream.add_free_chunk(recv.Chunk(present=np.zeros(HEAPS_PER_CHUNK, np.uint8), data=HostAsDevice(array)))
    stream.add_buffer_reader(stream_bytes([0, 1, 2, 3, 5, 6]))
    got = [(chunk.chunk_id, list(chunk.present)) for chunk in data_ring]
    assert got == [(0, [0, 0, 0, 0]), (1, [0, 0, 0, 0])]
    assert stream.stats["rejected_heaps"] == 6
    for array in backing:
        assert (array == 0xEEEEEEEE).all()


@requires_gpu
def test_device_buffer_interfaces():
    buf = cuda.DeviceBuffer(4096, 0)
    iface = buf.__cuda_array_interface__
    assert iface["shape"] == (4096,) and iface["typestr"] == "|u1" and iface["data"] == (buf.ptr, False)
    assert buf.__dlpack_device__() == (2, 0)
    assert buf.__dlpack__() is not None
    assert buf.to_bytes() is not None and len(buf.to_bytes()) == 4096
    pinned = cuda.pinned_buffer(1024)
    pinned[:] = 7
    assert pinned.dtype == np.uint8 and pinned.sum() == 7 * 1024


@requires_gpu
def test_chunks_received_into_device_memory(thread_pool):
    config = recv.ChunkStreamConfig(
        items=[POS_ID, TAG_ID], max_chunks=2, place=plain_callable(), copy_engine=cuda.CopyEngine(0)
    )
    data_ring = recv.ChunkRingbuffer(4)
    free_ring = recv.ChunkRingbuffer(4)
    stream = recv.ChunkRingStream(thread_pool, recv.StreamConfig(), config, data_ring, free_ring)
    for _ in range(4):
        stream.add_free_chunk(
            recv.Chunk(present=np.zeros(HEAPS_PER_CHUNK, np.uint8), data=cuda.DeviceBuffer(HEAPS_PER_CHUNK * HEAP_SIZE))
        )
    positions = list(range(10))
    stream.add_buffer_reader(stream_bytes(positions))
    ids = []
    for chunk in data_ring:
        ids.append(chunk.chunk_id)
        assert chunk.data.to_bytes() == expected_data(positions, chunk.chunk_id)
        stream.add_free_chunk(chunk)
    assert ids == [0, 1, 2]
