// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The TCP transport: whole batches written with scatter-gather writes on one connection.
#include <cerrno>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <asio.hpp>
#include <spead2/common/logging.h>
#include <spead2/send/tcp_stream.h>
#include <spead2/send/writer.h>
#include "common/socket_buffer.h"
#include "os/fd.h"
#include "os/tcp_socket.h"

namespace spead2::send
{

namespace
{

using tcp = asio::ip::tcp;
typedef std::vector<std::pair<std::string, std::uint16_t>> endpoint_list;

/// A buffer sequence over a range of an existing array, so that a write copies no vector.
struct buffer_range
{
    const asio::const_buffer *first;
    const asio::const_buffer *last;

    const asio::const_buffer *begin() const { return first; }
    const asio::const_buffer *end() const { return last; }
};

/**
 * What the connect handler needs. It is shared because that handler may run after the writer
 * (and the stream) have been destroyed.
 */
struct connection
{
    enum class status
    {
        connecting,
        connected,
        failed
    };

    tcp::socket socket;
    std::mutex mutex;
    // Guarded by mutex
    status state = status::connecting;
    std::error_code error;
    /// A batch that arrived while connecting, to be sent once connected.
    packet_batch *pending = nullptr;

    explicit connection(asio::io_context &io_context)
        : socket(io_context)
    {
    }
};

/**
 * Asio reports OS errors in its own category ("asio.system"); completions and exceptions use
 * std::system_category like every other stream, so errno values compare equal everywhere.
 */
std::error_code to_std(const std::error_code &ec)
{
    if (ec && ec.category() == asio::system_category())
        return std::error_code(ec.value(), std::system_category());
    return ec;
}

/// Marks every packet that was not completely written before the failure.
void fail_batch(packet_batch &batch, const std::error_code &ec, std::size_t bytes_written)
{
    std::size_t end = 0;
    for (transmit_packet &p : batch.packets)
    {
        end += p.size;
        if (end > bytes_written)
            p.result = ec;
    }
}

tcp::endpoint resolve(asio::io_context &io_context, const std::string &host, std::uint16_t port)
{
    std::error_code ec;
    asio::ip::address addr = asio::ip::make_address(host, ec);
    if (!ec)
        return tcp::endpoint(addr, port);
    tcp::resolver resolver(io_context);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty())
        throw std::invalid_argument("tcp_stream: cannot resolve '" + host +
                                    "': " + (ec ? ec.message() : std::string("no addresses")));
    return results.begin()->endpoint();
}

class tcp_writer final : public writer
{
private:
    std::shared_ptr<connection> conn_;
    tcp::endpoint endpoint_;
    std::vector<asio::const_buffer> buffers_;
    packet_batch *current_ = nullptr;

    void write(packet_batch &batch)
    {
        buffers_.clear();
        for (const packet_piece &piece : batch.pieces)
            buffers_.emplace_back(piece.data, piece.size);
        current_ = &batch;
        asio::async_write(conn_->socket, buffer_range{buffers_.data(), buffers_.data() + buffers_.size()},
                          [this](const std::error_code &ec, std::size_t bytes_transferred)
                          {
                              if (ec)
                              {
                                  fail_batch(*current_, to_std(ec), bytes_transferred);
                                  // A packet may be cut short: nothing later can be framed on
                                  // this connection, so later batches fail at once with the same
                                  // error (and never wait on a socket that has gone).
                                  std::lock_guard<std::mutex> lock(conn_->mutex);
                                  conn_->state = connection::status::failed;
                                  conn_->error = to_std(ec);
                              }
                              current_ = nullptr;
                              batch_done();
                          });
    }

    void send_batch(packet_batch &batch) override
    {
        std::unique_lock<std::mutex> lock(conn_->mutex);
        switch (conn_->state)
        {
        case connection::status::connecting:
            conn_->pending = &batch;
            return;
        case connection::status::failed:
        {
            const std::error_code ec = conn_->error;
            lock.unlock();
            fail_batch(batch, ec, 0);
            batch_done();
            return;
        }
        case connection::status::connected:
            break;
        }
        lock.unlock();
        write(batch);
    }

    /// Runs on an io_context thread once the connect completes; @a pending is what waited for it.
    void resume(const std::error_code &ec, packet_batch &pending)
    {
        if (ec)
        {
            fail_batch(pending, ec, 0);
            batch_done();
        }
        else
            write(pending);
    }

    void open(std::size_t buffer_size, const std::string &interface_address)
    {
        tcp::socket &socket = conn_->socket;
        socket.open(endpoint_.protocol());
        try
        {
            spead2::detail::request_socket_buffer_size(socket.native_handle(), false, buffer_size);
        }
        catch (const std::system_error &e)
        {
            log_warning("tcp_stream: could not set send buffer size to %zu: %s", buffer_size, e.what());
        }
        if (!interface_address.empty())
        {
            std::error_code ec;
            asio::ip::address addr = asio::ip::make_address(interface_address, ec);
            if (ec)
                throw std::invalid_argument("tcp_stream: interface address '" + interface_address +
                                            "' is not an IP address");
            if (addr.is_v4() != endpoint_.address().is_v4())
                throw std::invalid_argument("tcp_stream: interface address '" + interface_address +
                                            "' is not of the endpoint's address family");
            socket.bind(tcp::endpoint(addr, 0));
        }
    }

public:
    /// Opens (and binds) the socket towards the single endpoint; connecting is up to the caller.
    tcp_writer(io_context_ref io_context, const endpoint_list &endpoints, const stream_config &config,
               std::size_t buffer_size, const std::string &interface_address)
        : writer(std::move(io_context), config)
        , conn_(std::make_shared<connection>(get_io_context()))
    {
        if (endpoints.size() != 1)
            throw std::invalid_argument("endpoints must contain exactly one element");
        endpoint_ = resolve(get_io_context(), endpoints[0].first, endpoints[0].second);
        // Errors keep their own text ("bind: ..."), as spead2's do.
        open(buffer_size, interface_address);
    }

    /// Takes over a duplicate of the caller's connected socket.
    tcp_writer(io_context_ref io_context, int fd, const stream_config &config)
        : writer(std::move(io_context), config)
        , conn_(std::make_shared<connection>(get_io_context()))
    {
        const int dup_fd = ::spead2::detail::tcp::dup_socket(fd, "tcp_stream");
        try
        {
            const int family = ::spead2::detail::tcp::socket_family(dup_fd);
            std::error_code ec;
            conn_->socket.assign(family == AF_INET6 ? tcp::v6() : tcp::v4(), dup_fd, ec);
            if (ec)
                throw std::system_error(to_std(ec), "tcp_stream: cannot use socket");
        }
        catch (...)
        {
            ::spead2::detail::close_fd(dup_fd);
            throw;
        }
        conn_->state = connection::status::connected;
    }

    ~tcp_writer() override
    {
        // The stream has flushed, so no write is in flight; a connect may be, and closing the
        // socket makes it complete (with operation_aborted) without us.
        std::error_code ignored;
        conn_->socket.close(ignored);
    }

    void connect_blocking()
    {
        std::error_code ec;
        conn_->socket.connect(endpoint_, ec);
        if (ec)
        {
            const std::string where =
                endpoint_.address().to_string() + ":" + std::to_string(endpoint_.port());
            throw std::system_error(to_std(ec), "tcp_stream: connect to " + where);
        }
        conn_->state = connection::status::connected;
    }

    void connect_async(tcp_stream::connect_handler &&handler)
    {
        // The writer outlives this handler whenever a batch is pending (the stream flushes before
        // destroying it), so `this` is only touched in that case.
        conn_->socket.async_connect(
            endpoint_,
            [this, conn = conn_, handler = std::move(handler)](const std::error_code &asio_ec)
            {
                const std::error_code ec = to_std(asio_ec);
                packet_batch *pending;
                {
                    std::lock_guard<std::mutex> lock(conn->mutex);
                    conn->state = ec ? connection::status::failed : connection::status::connected;
                    conn->error = ec;
                    pending = conn->pending;
                    conn->pending = nullptr;
                }
                if (ec && ec.value() != ECANCELED)
                    log_debug("tcp_stream: connection failed: %s", ec.message().c_str());
                if (handler)
                    handler(ec);
                if (pending)
                    resume(ec, *pending);
            });
    }

    std::size_t get_num_substreams() const override { return 1; }
};

std::unique_ptr<writer> make_connected_writer(io_context_ref io_context, const endpoint_list &endpoints,
                                              const stream_config &config, std::size_t buffer_size,
                                              const std::string &interface_address)
{
    auto w = std::make_unique<tcp_writer>(std::move(io_context), endpoints, config, buffer_size,
                                          interface_address);
    w->connect_blocking();
    return w;
}

std::unique_ptr<writer> make_connecting_writer(io_context_ref io_context,
                                               tcp_stream::connect_handler &&handler,
                                               const endpoint_list &endpoints, const stream_config &config,
                                               std::size_t buffer_size, const std::string &interface_address)
{
    auto w = std::make_unique<tcp_writer>(std::move(io_context), endpoints, config, buffer_size,
                                          interface_address);
    w->connect_async(std::move(handler));
    return w;
}

} // namespace

tcp_stream::tcp_stream(io_context_ref io_context, connect_handler &&handler, const endpoint_list &endpoints,
                       const stream_config &config, std::size_t buffer_size,
                       const std::string &interface_address)
    : stream(make_connecting_writer(std::move(io_context), std::move(handler), endpoints, config, buffer_size,
                                    interface_address))
{
}

tcp_stream::tcp_stream(io_context_ref io_context, const endpoint_list &endpoints, const stream_config &config,
                       std::size_t buffer_size, const std::string &interface_address)
    : stream(make_connected_writer(std::move(io_context), endpoints, config, buffer_size, interface_address))
{
}

tcp_stream::tcp_stream(io_context_ref io_context, int fd, const stream_config &config)
    : stream(std::make_unique<tcp_writer>(std::move(io_context), fd, config))
{
}

namespace
{

endpoint_list to_endpoint_list(const std::vector<asio::ip::tcp::endpoint> &endpoints)
{
    endpoint_list out;
    for (const auto &ep : endpoints)
        out.emplace_back(ep.address().to_string(), ep.port());
    return out;
}

} // namespace

tcp_stream::tcp_stream(io_context_ref io_context, connect_handler &&handler,
                       const std::vector<asio::ip::tcp::endpoint> &endpoints, const stream_config &config,
                       std::size_t buffer_size)
    : tcp_stream(std::move(io_context), std::move(handler), to_endpoint_list(endpoints), config, buffer_size)
{
}

tcp_stream::tcp_stream(io_context_ref io_context, connect_handler &&handler,
                       const std::vector<asio::ip::tcp::endpoint> &endpoints, const stream_config &config,
                       std::size_t buffer_size, const asio::ip::address &interface_address)
    : tcp_stream(std::move(io_context), std::move(handler), to_endpoint_list(endpoints), config, buffer_size,
                 interface_address.is_unspecified() ? std::string() : interface_address.to_string())
{
}

} // namespace spead2::send
