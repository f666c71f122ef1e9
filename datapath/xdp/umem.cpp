// Umem: the area's mmap, xsk_umem__create, and the shared free-frame pool.
#include "datapath/xdp/umem.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

namespace etherpath::datapath::xdp {

namespace {

std::uint32_t default_ring_size(std::uint32_t frames) {
  // Half the frames on the fill ring leaves the other half for TX and for frames in flight in
  // user space; the ring size must be a power of two.
  return std::max<std::uint32_t>(64, std::bit_floor(std::max<std::uint32_t>(frames / 2, 1)));
}

}  // namespace

Result<std::shared_ptr<Umem>> Umem::create(const UmemOptions& options) {
  if (options.frame_size != 2048 && options.frame_size != 4096) {
    return fail(Errc::invalid_argument,
                "UMEM frame size " + std::to_string(options.frame_size) + ": must be 2048 or 4096");
  }
  if (options.frame_count < 64) {
    return fail(Errc::invalid_argument,
                "UMEM frame count " + std::to_string(options.frame_count) + ": must be >= 64");
  }
  // The kernel needs room in each chunk for XDP_PACKET_HEADROOM (256) and a minimal frame.
  if (options.headroom > options.frame_size / 2) {
    return fail(Errc::invalid_argument, "UMEM headroom " + std::to_string(options.headroom) +
                                            ": must be at most half the frame size");
  }
  std::shared_ptr<Umem> umem(new Umem());  // private constructor: make_shared cannot reach it
  umem->options_ = options;
  if (umem->options_.fill_size == 0) {
    umem->options_.fill_size = default_ring_size(options.frame_count);
  }
  if (umem->options_.comp_size == 0) {
    umem->options_.comp_size = default_ring_size(options.frame_count);
  }
  if (!std::has_single_bit(umem->options_.fill_size) ||
      !std::has_single_bit(umem->options_.comp_size)) {
    return fail(Errc::invalid_argument,
                "UMEM fill and completion ring sizes must be powers of two");
  }
  umem->chunk_mask_ = options.frame_size - 1U;
  const std::uint64_t bytes = std::uint64_t{options.frame_count} * options.frame_size;
  EP_TRY(umem->area_, MmapRegion::anonymous(bytes, options.huge_pages));

  xsk_umem_config config{};
  config.fill_size = umem->options_.fill_size;
  config.comp_size = umem->options_.comp_size;
  config.frame_size = options.frame_size;
  config.frame_headroom = options.headroom;
  config.flags = 0;
  xsk_umem* handle = nullptr;
  const int err = xsk_umem__create(&handle, umem->area_.data(), bytes, &umem->fill_save_,
                                   &umem->comp_save_, &config);
  if (err != 0) {
    return fail_errno("xsk_umem__create (" + std::to_string(options.frame_count) + " frames of " +
                          std::to_string(options.frame_size) + " bytes)",
                      -err);
  }
  umem->umem_ = handle;
  umem->pool_.base = umem->area();
  umem->pool_.chunk_size = options.frame_size;
  umem->free_.reserve(options.frame_count);
  // Highest address first so that take() hands out low addresses first (easier to read in dumps).
  for (std::uint32_t i = options.frame_count; i > 0; --i) {
    umem->free_.push_back(std::uint64_t{i - 1} * options.frame_size);
  }
  return umem;
}

Umem::~Umem() {
  if (umem_ != nullptr) {
    xsk_umem__delete(umem_);  // -EBUSY only if a socket is alive, which shared_ptr rules out
  }
}

std::size_t Umem::take(std::span<std::uint64_t> out) {
  const std::lock_guard lock(mutex_);
  const std::size_t n = std::min(out.size(), free_.size());
  std::copy(free_.end() - static_cast<std::ptrdiff_t>(n), free_.end(), out.begin());
  free_.resize(free_.size() - n);
  return n;
}

void Umem::give(std::span<const std::uint64_t> addrs) {
  const std::lock_guard lock(mutex_);
  for (auto a : addrs) {
    if (free_.size() < options_.frame_count) {  // never grows past the reservation
      free_.push_back(chunk_of(a));
    }
  }
}

std::size_t Umem::free_count() const {
  const std::lock_guard lock(mutex_);
  return free_.size();
}

}  // namespace etherpath::datapath::xdp
