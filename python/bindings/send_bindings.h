// SPDX-License-Identifier: LGPL-3.0-or-later
/// @file
/// Private to the extension: pieces shared by the send binding files (send.cpp, send_asyncio.cpp):
/// the Python heap classes and their conversion to C++ heap references.
#ifndef SPEAD2_PYTHON_SEND_BINDINGS_H
#define SPEAD2_PYTHON_SEND_BINDINGS_H

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>
#include <nanobind/nanobind.h>
#include <spead2/common/io_context_ref.h>
#include <spead2/protocol/descriptor.h>
#include <spead2/send/heap.h>
#include "bindings_util.h"
#include "common.h"

namespace spead2::python
{

/**
 * spead2.send.Heap: a send::heap plus the Python buffers its items refer to (zero copy). The
 * buffers are released with the heap, so create and destroy it with the GIL held (Python does).
 */
class heap_wrapper : public send::heap
{
private:
    std::vector<std::unique_ptr<buffer_view>> buffers_;

public:
    using send::heap::heap;

    void add_item_py(nanobind::handle item)
    {
        s_item_pointer_t id = nanobind::cast<s_item_pointer_t>(item.attr("id"));
        nanobind::object buffer = item.attr("to_buffer")();
        const bool allow_immediate = nanobind::cast<truthy>(item.attr("allow_immediate")());
        auto view = std::make_unique<buffer_view>(buffer);
        add_item(id, view->data(), view->size(), allow_immediate);
        buffers_.push_back(std::move(view));
    }

    void add_descriptor_py(nanobind::handle descriptor_obj)
    {
        nanobind::object raw = descriptor_obj.attr("to_raw")(get_flavour());
        add_descriptor(nanobind::cast<const descriptor &>(raw));
    }
};

/**
 * spead2.send.HeapReference: a heap (kept alive) and how to send it. Holds the Python heap object
 * so that the C++ heap it refers to lives at least as long.
 */
class heap_reference_wrapper
{
public:
    nanobind::object heap_obj;
    heap_wrapper *heap_ptr;
    s_item_pointer_t cnt;
    std::size_t substream_index;
    double rate;

    heap_reference_wrapper(nanobind::handle_t<heap_wrapper> h, s_item_pointer_t heap_cnt,
                           std::size_t substream, double heap_rate)
        : heap_obj(nanobind::borrow(h))
        , heap_ptr(nanobind::inst_ptr<heap_wrapper>(h))
        , cnt(heap_cnt)
        , substream_index(substream)
        , rate(heap_rate)
    {
    }

    send::heap_reference get() const { return send::heap_reference(*heap_ptr, cnt, substream_index, rate); }
};

/**
 * spead2.send.HeapReferenceList: a frozen list of heap references, converted to C++ once so that
 * sending it repeatedly costs no per-heap conversion. Keeps the heaps alive.
 */
class heap_reference_list
{
private:
    std::vector<nanobind::object> heaps_; ///< Keeps the heaps alive, parallel to refs_
    std::vector<send::heap_reference> refs_;

public:
    heap_reference_list() = default;

    explicit heap_reference_list(const std::vector<const heap_reference_wrapper *> &refs)
    {
        heaps_.reserve(refs.size());
        refs_.reserve(refs.size());
        for (const heap_reference_wrapper *r : refs)
        {
            heaps_.push_back(r->heap_obj);
            refs_.push_back(r->get());
        }
    }

    std::size_t size() const { return refs_.size(); }
    const std::vector<send::heap_reference> &get_refs() const { return refs_; }

    heap_reference_list slice(const nanobind::slice &s) const
    {
        auto [start, stop, step, length] = s.compute(refs_.size());
        (void)stop;
        heap_reference_list out;
        out.heaps_.reserve(length);
        out.refs_.reserve(length);
        for (std::size_t i = 0; i < length; i++)
        {
            std::size_t index = std::size_t(Py_ssize_t(start) + Py_ssize_t(i) * Py_ssize_t(step));
            out.heaps_.push_back(heaps_[index]);
            out.refs_.push_back(refs_[index]);
        }
        return out;
    }
};

/// The asyncio streams (send_asyncio.cpp): *StreamAsyncio; after bind_send_streams.
void bind_send_asyncio(nanobind::module_ &m);

} // namespace spead2::python

#endif // SPEAD2_PYTHON_SEND_BINDINGS_H
