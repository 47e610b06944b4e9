// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// A whole file mapped read-only into memory, for readers that walk a file once from start to end.
#ifndef SPEAD2_OS_MAPPED_FILE_H
#define SPEAD2_OS_MAPPED_FILE_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace spead2::detail
{

class mapped_file
{
private:
    const std::uint8_t *data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t released_ = 0; ///< bytes from the start whose pages were given back

public:
    /**
     * Maps @a filename whole, read-only, advised for sequential reading.
     * @throws std::runtime_error "<filename>: <reason>" if it cannot be opened or mapped, or is not
     *         a regular file
     */
    explicit mapped_file(const std::string &filename);
    ~mapped_file();
    mapped_file(const mapped_file &) = delete;
    mapped_file &operator=(const mapped_file &) = delete;

    const std::uint8_t *data() const { return data_; }
    std::size_t size() const { return size_; }
    /// Gives back the pages before @a offset, which will not be read again (keeps the resident
    /// size of a long pass small; the page cache keeps them).
    void done_before(std::size_t offset) noexcept;
};

} // namespace spead2::detail

#endif // SPEAD2_OS_MAPPED_FILE_H
