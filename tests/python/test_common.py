# SPDX-License-Identifier: LGPL-3.0-or-later
"""Tests of the common-layer bindings in spead2._spead2: constants, Flavour, exceptions and their
translation from C++, ThreadPool, allocators, InprocQueue, RawDescriptor, logging and the numpy
header parser."""

import logging
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import spead2._spead2 as _spead2

from spec_constants import CONSTANTS


class RecordCollector(logging.Handler):
    """Collects records of the "spead2" logger, which arrive from the logging thread."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []
        self.cond = threading.Condition()

    def emit(self, record):
        with self.cond:
            self.records.append(record)
            self.cond.notify_all()

    def wait_for(self, predicate, timeout=10.0):
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self.records), timeout), self.records
        return self.records


@pytest.fixture
def spead2_log():
    logger = logging.getLogger("spead2")
    collector = RecordCollector()
    old_level = logger.level
    logger.addHandler(collector)
    logger.setLevel(logging.DEBUG)
    yield collector
    logger.removeHandler(collector)
    logger.setLevel(old_level)


class TestConstants:
    @pytest.mark.parametrize("name,value", sorted(CONSTANTS.items()))
    def test_value(self, name, value):
        assert getattr(_spead2, name) == value
        assert type(getattr(_spead2, name)) is int

    def test_no_scalar_numpy_absent(self):
        assert not hasattr(_spead2, "BUG_COMPAT_NO_SCALAR_NUMPY")

    def test_submodules(self):
        assert _spead2.recv.__name__ == "spead2._spead2.recv"
        assert _spead2.send.__name__ == "spead2._spead2.send"

    def test_version_lives_in_spead2_version(self):
        # Programs read it from either place, as spead2 has both.
        import spead2
        import spead2._version

        assert spead2.__version__ == spead2._version.__version__ == "4.5.1"


class TestFlavour:
    def test_default(self):
        f = _spead2.Flavour()
        assert (f.version, f.item_pointer_bits, f.heap_address_bits, f.bug_compat) == (4, 64, 40, 0)

    def test_explicit(self):
        f = _spead2.Flavour(4, 64, 48, _spead2.BUG_COMPAT_PYSPEAD_0_5_2)
        assert (f.version, f.item_pointer_bits, f.heap_address_bits, f.bug_compat) == (4, 64, 48, 7)

    def test_keywords(self):
        f = _spead2.Flavour(version=4, item_pointer_bits=64, heap_address_bits=56, bug_compat=2)
        assert (f.heap_address_bits, f.bug_compat) == (56, 2)
        assert _spead2.Flavour(4, 64, 8).bug_compat == 0

    @pytest.mark.parametrize("bits", range(8, 64, 8))
    def test_every_width(self, bits):
        assert _spead2.Flavour(4, 64, bits).heap_address_bits == bits

    def test_unknown_bug_compat_bits_accepted(self):
        # As in the reference: only recv.StreamConfig rejects unknown bits.
        assert _spead2.Flavour(4, 64, 48, 8).bug_compat == 8

    @pytest.mark.parametrize(
        "args,message",
        [
            ((3, 64, 40), "Version is not supported"),
            ((4, 32, 40), "item_pointer_bits not supported"),
            ((4, 64, 0), "heap_address_bits out of range"),
            ((4, 64, -8), "heap_address_bits out of range"),
            ((4, 64, 64), "heap_address_bits out of range"),
            ((4, 64, 41), "heap_address_bits not a multiple of 8"),
        ],
    )
    def test_invalid(self, args, message):
        with pytest.raises(ValueError, match=f"^{message}"):
            _spead2.Flavour(*args)

    def test_bad_types(self):
        with pytest.raises(TypeError):
            _spead2.Flavour(4, 64, 48, -1)
        with pytest.raises(TypeError):
            _spead2.Flavour(4, 64)

    def test_equality(self):
        a = _spead2.Flavour(4, 64, 48, 0)
        assert a == _spead2.Flavour(4, 64, 48)
        assert not (a != _spead2.Flavour(4, 64, 48))
        assert a != _spead2.Flavour(4, 64, 40)
        assert a != _spead2.Flavour(4, 64, 48, 1)
        assert _spead2.Flavour() == _spead2.Flavour(4, 64, 40, 0)
        assert a != 1
        assert not (a == "x")

    def test_unhashable(self):
        with pytest.raises(TypeError):
            hash(_spead2.Flavour())

    def test_read_only(self):
        f = _spead2.Flavour()
        for name in ["version", "item_pointer_bits", "heap_address_bits", "bug_compat"]:
            with pytest.raises(AttributeError):
                setattr(f, name, 1)


class TestExceptions:
    @pytest.mark.parametrize("name", ["Stopped", "Empty", "Full"])
    def test_base(self, name):
        cls = getattr(_spead2, name)
        assert cls.__bases__ == (Exception,)
        assert cls.__module__ == "spead2._spead2"
        assert cls.__name__ == name

    @pytest.mark.parametrize(
        "kind,exc_type,message",
        [
            ("stopped", _spead2.Stopped, "ring buffer has been stopped"),
            ("empty", _spead2.Empty, "ring buffer is empty"),
            ("full", _spead2.Full, "ring buffer is full"),
            ("invalid_argument", ValueError, "test invalid_argument"),
            ("out_of_range", IndexError, "test out_of_range"),
            ("length_error", RuntimeError, "test length_error"),
            ("runtime_error", RuntimeError, "test runtime_error"),
        ],
    )
    def test_translation(self, kind, exc_type, message):
        with pytest.raises(exc_type) as info:
            _spead2._raise_for_test(kind)
        assert type(info.value) is exc_type
        assert str(info.value) == message

    def test_errno_becomes_os_error_subclass(self):
        with pytest.raises(BlockingIOError) as info:
            _spead2._raise_for_test("eagain")
        assert info.value.errno == 11
        assert info.value.strerror.startswith("test: ")
        with pytest.raises(ConnectionRefusedError) as info:
            _spead2._raise_for_test("econnrefused")
        assert info.value.errno == 111

    def test_other_error_category_is_runtime_error(self):
        with pytest.raises(RuntimeError) as info:
            _spead2._raise_for_test("future_error_category")
        assert type(info.value) is RuntimeError
        assert str(info.value).startswith("test: ")

    def test_bad_alloc_is_memory_error(self):
        with pytest.raises(MemoryError):
            _spead2._raise_for_test("bad_alloc")

    def test_nanobind_errors_pass_through(self):
        with pytest.raises(KeyError):
            _spead2._raise_for_test("no-such-kind")


class TestThreadPool:
    def test_default(self):
        tp = _spead2.ThreadPool()
        tp.stop()

    def test_threads(self):
        _spead2.ThreadPool(3).stop()
        _spead2.ThreadPool(threads=2).stop()

    def test_affinity(self):
        _spead2.ThreadPool(2, [0]).stop()
        _spead2.ThreadPool(threads=2, affinity=[0, 0, 0]).stop()
        _spead2.ThreadPool(1, []).stop()

    @pytest.mark.parametrize("threads", [0, -1])
    def test_too_few_threads(self, threads):
        with pytest.raises(ValueError):
            _spead2.ThreadPool(threads)
        with pytest.raises(ValueError):
            _spead2.ThreadPool(threads, [0])

    def test_bad_types(self):
        with pytest.raises(TypeError):
            _spead2.ThreadPool(2**40)
        with pytest.raises(TypeError):
            _spead2.ThreadPool(1, "x")

    def test_stop_idempotent(self):
        tp = _spead2.ThreadPool(2)
        tp.stop()
        tp.stop()
        del tp

    def test_set_affinity(self):
        def pin():
            _spead2.ThreadPool.set_affinity(0)

        thread = threading.Thread(target=pin)
        thread.start()
        thread.join()

    def test_bad_affinity_only_logs(self, spead2_log):
        def pin():
            _spead2.ThreadPool.set_affinity(100000)

        thread = threading.Thread(target=pin)
        thread.start()
        thread.join()
        records = spead2_log.wait_for(lambda r: any(x.levelno == logging.WARNING for x in r))
        assert any("100000" in r.getMessage() for r in records)


class TestAllocators:
    def test_memory_allocator(self):
        assert isinstance(_spead2.MemoryAllocator(), _spead2.MemoryAllocator)

    def test_mmap_allocator(self):
        assert isinstance(_spead2.MmapAllocator(), _spead2.MemoryAllocator)
        _spead2.MmapAllocator(0)
        _spead2.MmapAllocator(flags=0, prefer_huge=True)

    def test_memory_pool(self):
        pool = _spead2.MemoryPool(1, 5, 4, 2)
        assert isinstance(pool, _spead2.MemoryAllocator)
        _spead2.MemoryPool(lower=1, upper=5, max_free=4, initial=2, allocator=None)
        _spead2.MemoryPool(16, 1024, 8, 4, _spead2.MmapAllocator())
        _spead2.MemoryPool(16, 1024, 8, 4, allocator=_spead2.MemoryPool(0, 2048, 2, 1))

    def test_memory_pool_thread_pool(self):
        tp = _spead2.ThreadPool()
        _spead2.MemoryPool(tp, 1, 5, 4, 2, 1)
        pool = _spead2.MemoryPool(
            thread_pool=tp, lower=1, upper=5, max_free=4, initial=2, low_water=1, allocator=_spead2.MmapAllocator()
        )
        # The pool keeps the thread pool alive.
        del tp
        del pool

    def test_memory_pool_bad_types(self):
        with pytest.raises(TypeError):
            _spead2.MemoryPool(-1, 5, 4, 2)
        with pytest.raises(TypeError):
            _spead2.MemoryPool(1, 5, 4, 2, allocator=1)

    def test_warn_on_empty(self):
        pool = _spead2.MemoryPool(1, 5, 4, 2)
        assert pool.warn_on_empty is True
        pool.warn_on_empty = False
        assert pool.warn_on_empty is False


class TestInprocQueue:
    @pytest.mark.parametrize(
        "packet",
        [b"abc", bytearray(b"abc"), memoryview(b"abcd")[1:], np.arange(10, dtype=np.uint16), b""],
        ids=["bytes", "bytearray", "memoryview", "ndarray", "empty"],
    )
    def test_add_packet(self, packet):
        queue = _spead2.InprocQueue()
        queue.add_packet(packet)
        queue.add_packet(packet=packet)
        queue.stop()

    def test_add_packet_rejects(self):
        queue = _spead2.InprocQueue()
        with pytest.raises(TypeError):
            queue.add_packet("str")
        with pytest.raises(BufferError):
            queue.add_packet(memoryview(b"abcd")[::2])

    def test_stopped(self):
        queue = _spead2.InprocQueue()
        queue.stop()
        queue.stop()
        with pytest.raises(_spead2.Stopped):
            queue.add_packet(b"x")


class TestRawDescriptor:
    def test_defaults(self):
        raw = _spead2.RawDescriptor()
        assert raw.id == 0
        assert raw.name == b""
        assert raw.description == b""
        assert raw.numpy_header == b""
        assert raw.format == []
        assert raw.shape == []

    def test_round_trip(self):
        raw = _spead2.RawDescriptor()
        raw.id = 0x1234
        raw.name = b"name\xff"
        raw.description = b"a description"
        raw.numpy_header = b"{'descr': '<u2', 'fortran_order': False, 'shape': (2,)}"
        raw.format = [("u", 8), (b"i", 16), ("\xe9", 3)]
        raw.shape = (1, None, 3)
        assert raw.id == 0x1234
        assert raw.name == b"name\xff"
        assert raw.description == b"a description"
        assert raw.numpy_header == b"{'descr': '<u2', 'fortran_order': False, 'shape': (2,)}"
        assert raw.format == [("u", 8), ("i", 16), ("\xe9", 3)]
        assert raw.shape == [1, None, 3]

    def test_negative_shape_is_variable(self):
        raw = _spead2.RawDescriptor()
        raw.shape = [-1, -2, 0]
        assert raw.shape == [None, None, 0]

    def test_id_range(self):
        raw = _spead2.RawDescriptor()
        raw.id = -1
        assert raw.id == -1
        with pytest.raises(TypeError):
            raw.id = 2**63

    def test_bytes_only(self):
        raw = _spead2.RawDescriptor()
        for name in ["name", "description", "numpy_header"]:
            with pytest.raises(TypeError):
                setattr(raw, name, "str")

    @pytest.mark.parametrize("code", ["uu", "", "\u0100"])
    def test_bad_format_code(self, code):
        raw = _spead2.RawDescriptor()
        with pytest.raises(ValueError):
            raw.format = [(code, 8)]
        assert raw.format == []


class TestLogging:
    def test_log_info(self, spead2_log):
        _spead2.log_info("hello 100% from the test")
        records = spead2_log.wait_for(lambda r: any(x.getMessage() == "hello 100% from the test" for x in r))
        record = [r for r in records if r.getMessage() == "hello 100% from the test"][0]
        assert record.name == "spead2"
        assert record.levelno == logging.INFO

    def test_order_preserved(self, spead2_log):
        messages = [f"ordered message {i}" for i in range(200)]
        for message in messages:
            _spead2.log_info(message)
        records = spead2_log.wait_for(lambda r: sum(x.getMessage().startswith("ordered") for x in r) == 200)
        assert [r.getMessage() for r in records if r.getMessage().startswith("ordered")] == messages

    def test_delivered_and_stopped_at_exit(self):
        # Objects left alive at exit are stopped by the atexit hook, and queued records still reach
        # Python before the interpreter shuts down.
        script = textwrap.dedent(
            """
            import logging, sys
            logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)s:%(levelname)s:%(message)s")
            import spead2._spead2 as s
            tp = s.ThreadPool(2)
            pool = s.MemoryPool(tp, 1, 5, 4, 2, 1)
            queue = s.InprocQueue()
            s.log_info("goodbye")
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        assert "spead2:INFO:goodbye" in result.stdout.splitlines()

    def test_forked_child_logs(self):
        # The logging thread does not survive fork(); the child must get its own.
        script = textwrap.dedent(
            """
            import logging, os, sys
            logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(process)d:%(message)s")
            import spead2._spead2 as s
            s.log_info("before fork")
            pid = os.fork()
            s.log_info("child" if pid == 0 else "parent")
            if pid != 0:
                _, status = os.waitpid(pid, 0)
                assert os.waitstatus_to_exitcode(status) == 0
            """
        )
        result = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        messages = sorted(line.split(":", 1)[1] for line in result.stdout.splitlines())
        assert messages == ["before fork", "child", "parent"]


class TestParseNumpyHeader:
    def test_simple(self):
        header = b"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3)}"
        assert _spead2._parse_numpy_header(header) == ("<u2", False, (2, 3))

    def test_any_key_order_and_structured_descr(self):
        header = b"{'shape': (), 'fortran_order': True, 'descr': [('a', '<i4'), ('b', '>f8', (2,))]}"
        descr, fortran_order, shape = _spead2._parse_numpy_header(header)
        assert descr == [("a", "<i4"), ("b", ">f8", (2,))]
        assert fortran_order is True
        assert shape == ()
        assert np.dtype(descr).names == ("a", "b")

    @pytest.mark.parametrize(
        "header",
        [
            b"[1, 2]",
            b"{'descr': '<u2', 'fortran_order': False}",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
            b"{'descr': '<u2', 'fortran_order': 0, 'shape': (2,)}",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': (None,)}",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': (-1,)}",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': [2]}",
            b"{'descr': __import__('os').getcwd(), 'fortran_order': False, 'shape': ()}",
            b"{'descr': '<u2', 'fortran_order': False, 'shape': (2,)",
            b"",
        ],
    )
    def test_rejects(self, header):
        with pytest.raises(ValueError):
            _spead2._parse_numpy_header(header)

    def test_many_keys_cost_linear_time(self):
        """Repeated keys are found by hash: 131k keys (1.5 MB, within the size limits) once took
        42 s to refuse, holding the GIL; spead2 4.5.1 takes 0.6 s."""
        header = ("{" + ",".join(f"'k{i}': 0" for i in range(131000)) + ", 'k5': 1, True: 2, 1: 3}").encode()
        start = time.monotonic()
        with pytest.raises(ValueError, match="Descriptor does not contain the correct keys"):
            _spead2._parse_numpy_header(header)
        assert time.monotonic() - start < 5

    def test_repeated_keys_keep_the_last_value(self):
        header = b"{'descr': '<u1', 'fortran_order': False, 'shape': (2,), 'descr': '<u2'}"
        assert _spead2._parse_numpy_header(header) == ("<u2", False, (2,))
        header = b"{'descr': '<u1', 'fortran_order': False, 'shape': (2,), True: 1, 1: 2}"
        with pytest.raises(ValueError, match="correct keys"):  # four keys: True == 1, as in Python
            _spead2._parse_numpy_header(header)

    def test_bytes_only(self):
        with pytest.raises(TypeError):
            _spead2._parse_numpy_header("{'descr': '<u2', 'fortran_order': False, 'shape': ()}")


def test_class_constants_are_read_only():
    """Every DEFAULT_* class constant reads through the class and cannot be assigned, as spead2's
    (pybind11 read-only static properties) cannot."""
    import spead2.recv
    import spead2.recv.asyncio
    import spead2.send
    import spead2.send.asyncio

    found = {}
    for module in (spead2, spead2.recv, spead2.recv.asyncio, spead2.send, spead2.send.asyncio):
        for cls in vars(module).values():
            if isinstance(cls, type):
                for name in dir(cls):
                    if name.startswith("DEFAULT_"):
                        found[f"{cls.__name__}.{name}"] = (cls, name)
    assert len(found) >= 20, sorted(found)
    for label, (cls, name) in found.items():
        value = getattr(cls, name)
        with pytest.raises(AttributeError):
            setattr(cls, name, value)
        assert getattr(cls, name) == value, label
    assert spead2.send.StreamConfig().DEFAULT_MAX_HEAPS == 4  # through an instance too
