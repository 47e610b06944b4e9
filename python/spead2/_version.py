# SPDX-License-Identifier: LGPL-3.0-or-later
"""The version of the spead2 API this package implements (``spead2.__version__``), in the module
spead2 keeps it in, for programs that import it from there."""

__version__ = "4.5.1"
