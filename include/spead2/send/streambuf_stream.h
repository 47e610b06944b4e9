// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A send stream that writes packets back to back into a std::streambuf.
#ifndef SPEAD2_SEND_STREAMBUF_STREAM_H
#define SPEAD2_SEND_STREAMBUF_STREAM_H

#include <streambuf>
#include <spead2/common/io_context_ref.h>
#include <spead2/send/stream.h>

namespace spead2::send
{

/**
 * Writes every packet, unframed, to a std::streambuf (e.g. a std::stringbuf, as Python's
 * BytesStream does). One substream. A short write completes the heap with EIO.
 *
 * Lifetime: the streambuf must outlive the stream; it is written from io_context threads, so do
 * not touch it until flush() has returned.
 */
class streambuf_stream : public stream
{
public:
    streambuf_stream(io_context_ref io_context, std::streambuf &streambuf,
                     const stream_config &config = stream_config());
};

} // namespace spead2::send

#endif // SPEAD2_SEND_STREAMBUF_STREAM_H
