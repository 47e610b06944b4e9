// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// The sender option group (API.md §6.1) and the stream it describes.
#ifndef SPEAD2_TOOLS_CMDLINE_SENDER_OPTIONS_H
#define SPEAD2_TOOLS_CMDLINE_SENDER_OPTIONS_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include <spead2/common/io_context_ref.h>
#include <spead2/protocol/flavour.h>
#include <spead2/send/stream.h>
#include <spead2/send/stream_config.h>
#include "app.h"
#include "endpoint.h"
#include "protocol_options.h"

namespace spead2::tools
{

/**
 * Options that configure a sending stream. add_options() registers them; after parsing,
 * finalize() fills the protocol-dependent default buffer size, normalises --rate-method and
 * rejects what this build cannot do. Plain value type.
 */
class sender_options
{
public:
    int addr_bits = 40;
    std::size_t packet = send::stream_config::DEFAULT_MAX_PACKET_SIZE;
    std::string bind;
    std::size_t buffer = 0; ///< resolved by finalize(): UDP 524288, TCP 212992
    std::size_t burst = send::stream_config::DEFAULT_BURST_SIZE;
    double burst_rate_ratio = send::stream_config::DEFAULT_BURST_RATE_RATIO;
    std::size_t max_heaps = send::stream_config::DEFAULT_MAX_HEAPS;
    std::string rate_method = "AUTO";
    double rate = 0.0; ///< Gb/s
    int ttl = 1;
    bool ibv = false;
    int ibv_comp_vector = 0;
    int ibv_max_poll = 10;
    bool xdp = false;
    std::uint32_t xdp_queue = 0;
    std::string xdp_copy = "auto"; ///< auto, zero-copy or copy

private:
    CLI::Option *buffer_opt_ = nullptr;

public:
    void add_options(CLI::App &app, const option_namer &names = option_namer());

    /// @throws std::invalid_argument for --ibv or --xdp without --bind or with --tcp (or in a build
    /// without them) and a bad --rate-method
    void finalize(const protocol_options &protocol);

    /// SPEAD-64-(addr_bits) with --pyspead's bug compatibility. @throws std::invalid_argument
    flavour make_flavour(const protocol_options &protocol) const;
    /// @throws std::invalid_argument for out-of-range values
    send::stream_config make_stream_config() const;

    /**
     * A TCP stream to the single endpoint (connected before returning), or a UDP stream with one
     * substream per endpoint: multicast endpoints get --ttl (and --bind as the IPv4 multicast
     * interface), unicast ones --bind as source address. With --xdp, an AF_XDP stream out of the
     * interface of --bind.
     * @throws std::invalid_argument, std::system_error from the stream constructors
     */
    std::unique_ptr<send::stream> make_stream(io_context_ref io_context, const protocol_options &protocol,
                                              const std::vector<endpoint> &endpoints) const;
};

} // namespace spead2::tools

#endif // SPEAD2_TOOLS_CMDLINE_SENDER_OPTIONS_H
