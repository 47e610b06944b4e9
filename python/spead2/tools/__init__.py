# SPDX-License-Identifier: LGPL-3.0-or-later
"""The Python command-line tools (spead2_send.py, spead2_recv.py, spead2_bench.py) and their
shared option groups (:mod:`spead2.tools.cmdline`)."""
