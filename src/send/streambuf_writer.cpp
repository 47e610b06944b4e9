// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The streambuf transport: packets written back to back.
#include <cerrno>
#include <spead2/send/streambuf_stream.h>
#include <spead2/send/writer.h>

namespace spead2::send
{

namespace
{

class streambuf_writer final : public writer
{
private:
    std::streambuf &streambuf_;

    void send_batch(packet_batch &batch) override
    {
        for (transmit_packet &p : batch.packets)
        {
            const packet_piece *pieces = batch.get_pieces(p);
            for (std::size_t i = 0; i < p.num_pieces; i++)
            {
                auto n = streambuf_.sputn(reinterpret_cast<const char *>(pieces[i].data),
                                          std::streamsize(pieces[i].size));
                if (n != std::streamsize(pieces[i].size))
                {
                    p.result = std::error_code(EIO, std::system_category());
                    break;
                }
            }
        }
        batch_done();
    }

public:
    streambuf_writer(io_context_ref io_context, std::streambuf &streambuf, const stream_config &config)
        : writer(std::move(io_context), config)
        , streambuf_(streambuf)
    {
    }

    std::size_t get_num_substreams() const override { return 1; }
};

} // namespace

streambuf_stream::streambuf_stream(io_context_ref io_context, std::streambuf &streambuf,
                                   const stream_config &config)
    : stream(std::make_unique<streambuf_writer>(std::move(io_context), streambuf, config))
{
}

} // namespace spead2::send
