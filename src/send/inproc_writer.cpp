// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The in-process transport: copies each packet into an inproc_queue.
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <spead2/common/ringbuffer.h>
#include <spead2/send/inproc_stream.h>
#include <spead2/send/writer.h>

namespace spead2::send
{

namespace
{

class inproc_writer final : public writer
{
private:
    std::vector<std::shared_ptr<inproc_queue>> queues_;
    std::vector<std::uint8_t> buffer_; ///< A packet made contiguous for add_packet (grown as needed)

    void send_batch(packet_batch &batch) override
    {
        for (transmit_packet &p : batch.packets)
        {
            if (buffer_.size() < p.size)
                buffer_.resize(p.size);
            std::uint8_t *out = buffer_.data();
            const packet_piece *pieces = batch.get_pieces(p);
            for (std::size_t i = 0; i < p.num_pieces; i++)
            {
                std::memcpy(out, pieces[i].data, pieces[i].size);
                out += pieces[i].size;
            }
            try
            {
                queues_[p.substream_index]->add_packet(buffer_.data(), p.size);
            }
            catch (const ringbuffer_stopped &)
            {
                p.result = std::error_code(ECANCELED, std::system_category());
            }
        }
        batch_done();
    }

public:
    inproc_writer(io_context_ref io_context, const std::vector<std::shared_ptr<inproc_queue>> &queues,
                  const stream_config &config)
        : writer(std::move(io_context), config)
        , queues_(queues)
    {
    }

    std::size_t get_num_substreams() const override { return queues_.size(); }
};

const std::vector<std::shared_ptr<inproc_queue>> &
check_queues(const std::vector<std::shared_ptr<inproc_queue>> &queues)
{
    if (queues.empty())
        throw std::invalid_argument("queues is empty");
    for (const auto &q : queues)
        if (!q)
            throw std::invalid_argument("queues contains a null pointer");
    return queues;
}

} // namespace

inproc_stream::inproc_stream(io_context_ref io_context,
                             const std::vector<std::shared_ptr<inproc_queue>> &queues,
                             const stream_config &config)
    : stream(std::make_unique<inproc_writer>(std::move(io_context), check_queues(queues), config))
    , queues_(queues)
{
}

inproc_stream::inproc_stream(io_context_ref io_context, std::shared_ptr<inproc_queue> queue,
                             const stream_config &config)
    : inproc_stream(std::move(io_context), std::vector<std::shared_ptr<inproc_queue>>{std::move(queue)},
                    config)
{
}

} // namespace spead2::send
