// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Internal: a vector of cheap, trivially destructible values that stores the first N inline.
#ifndef SPEAD2_RECV_DETAIL_SMALL_VECTOR_H
#define SPEAD2_RECV_DETAIL_SMALL_VECTOR_H

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>
#include <vector>

namespace spead2::recv::detail
{

/**
 * Keeps up to @a N elements inline and moves them to the heap beyond that, so the common small
 * case never allocates. Only what live_heap needs: append, insert, erase, clear, random access.
 */
template<typename T, std::size_t N>
class small_vector
{
    static_assert(std::is_nothrow_copy_constructible_v<T> && std::is_trivially_destructible_v<T>);

private:
    std::array<T, N> inline_{};
    std::size_t size_ = 0;
    std::vector<T> overflow_; ///< Holds all elements once size_ has exceeded N

    bool spilled() const { return !overflow_.empty(); }

public:
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    T *data() { return spilled() ? overflow_.data() : inline_.data(); }
    const T *data() const { return spilled() ? overflow_.data() : inline_.data(); }
    T *begin() { return data(); }
    T *end() { return data() + size_; }
    const T *begin() const { return data(); }
    const T *end() const { return data() + size_; }
    T &operator[](std::size_t i) { return data()[i]; }
    const T &operator[](std::size_t i) const { return data()[i]; }

    void push_back(const T &value) { insert(size_, value); }

    void insert(std::size_t pos, const T &value)
    {
        if (!spilled() && size_ < N)
        {
            std::copy_backward(inline_.begin() + pos, inline_.begin() + size_, inline_.begin() + size_ + 1);
            inline_[pos] = value;
        }
        else
        {
            if (!spilled())
                overflow_.assign(inline_.begin(), inline_.begin() + size_);
            overflow_.insert(overflow_.begin() + pos, value);
        }
        size_++;
    }

    void erase(std::size_t pos)
    {
        T *d = data();
        std::copy(d + pos + 1, d + size_, d + pos);
        size_--;
        if (spilled())
            overflow_.pop_back();
        if (spilled() && overflow_.empty())
            overflow_.clear();
    }

    void clear()
    {
        size_ = 0;
        overflow_.clear();
    }
};

} // namespace spead2::recv::detail

#endif // SPEAD2_RECV_DETAIL_SMALL_VECTOR_H
