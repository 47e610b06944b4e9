# SPDX-License-Identifier: LGPL-3.0-or-later
"""The numeric constants of API.md §1.3 (and the bug-compat flags), shared by the tests that check
them on the extension module and on the package."""

CONSTANTS = {
    "NULL_ID": 0x00,
    "HEAP_CNT_ID": 0x01,
    "HEAP_LENGTH_ID": 0x02,
    "PAYLOAD_OFFSET_ID": 0x03,
    "PAYLOAD_LENGTH_ID": 0x04,
    "DESCRIPTOR_ID": 0x05,
    "STREAM_CTRL_ID": 0x06,
    "DESCRIPTOR_NAME_ID": 0x10,
    "DESCRIPTOR_DESCRIPTION_ID": 0x11,
    "DESCRIPTOR_SHAPE_ID": 0x12,
    "DESCRIPTOR_FORMAT_ID": 0x13,
    "DESCRIPTOR_ID_ID": 0x14,
    "DESCRIPTOR_DTYPE_ID": 0x15,
    "CTRL_STREAM_START": 0,
    "CTRL_DESCRIPTOR_REISSUE": 1,
    "CTRL_STREAM_STOP": 2,
    "CTRL_DESCRIPTOR_UPDATE": 3,
    "MEMCPY_STD": 0,
    "MEMCPY_NONTEMPORAL": 1,
    "BUG_COMPAT_DESCRIPTOR_WIDTHS": 1,
    "BUG_COMPAT_SHAPE_BIT_1": 2,
    "BUG_COMPAT_SWAP_ENDIAN": 4,
    "BUG_COMPAT_PYSPEAD_0_5_2": 7,
}
