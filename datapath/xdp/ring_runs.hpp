// The per-frame loops between AF_XDP rings and FrameBatch (RX descriptors to frames, frames to
// fill ring entries), kept apart from XskSocket so that unit tests can drive them without a socket.
#pragma once

#include <linux/if_xdp.h>

#include <cstdint>

#include "datapath/frame.hpp"

namespace etherpath::datapath::xdp {

// The receive loop over one contiguous run of RX descriptors (a peeked range wraps the ring at
// most once, so receive() calls this once or twice): pointer walks, no index masking per frame,
// four frames per step so that the loop's increments and branch are paid once per four (a batch
// is usually 64). Returns the bytes received.
[[gnu::always_inline]] inline std::uint64_t frames_from_descs(
    const xdp_desc* descs, std::uint32_t count, Frame* out, const FramePool* pool, std::byte* area,
    std::uint32_t offset_mask, std::uint16_t queue) {
  const auto one = [&](const xdp_desc& d, Frame& f) {
    f = Frame::at(pool, area + d.addr, static_cast<std::uint32_t>(d.addr) & offset_mask, d.len,
                  queue);
    return std::uint64_t{d.len};
  };
  std::uint64_t bytes = 0;
  for (; count >= 4; count -= 4, descs += 4, out += 4) {
    bytes += one(descs[0], out[0]) + one(descs[1], out[1]) + one(descs[2], out[2]) +
             one(descs[3], out[3]);
  }
  for (; count != 0; --count, ++descs, ++out) {
    bytes += one(*descs, *out);
  }
  return bytes;
}

// The chunk addresses of `count` frames onto one contiguous run of fill ring entries; stops at
// the first frame of another pool and returns how many it wrote. Four frames per step, as above.
[[gnu::always_inline]] inline std::uint32_t frames_to_fill(const Frame* frames, std::uint32_t count,
                                                           std::uint64_t* fill,
                                                           const FramePool* pool,
                                                           const std::byte* area,
                                                           std::uint64_t chunk_mask) {
  const auto chunk = [&](const Frame& f) {
    return static_cast<std::uint64_t>(f.data().data() - area) & chunk_mask;
  };
  const Frame* f = frames;
  const Frame* const end = frames + count;
  for (; end - f >= 4; f += 4, fill += 4) {
    if (f[0].frame_pool() != pool || f[1].frame_pool() != pool || f[2].frame_pool() != pool ||
        f[3].frame_pool() != pool) {
      break;  // the frame-by-frame loop below finds which
    }
    fill[0] = chunk(f[0]);
    fill[1] = chunk(f[1]);
    fill[2] = chunk(f[2]);
    fill[3] = chunk(f[3]);
  }
  for (; f != end && f->frame_pool() == pool; ++f, ++fill) {
    *fill = chunk(*f);
  }
  return static_cast<std::uint32_t>(f - frames);
}

}  // namespace etherpath::datapath::xdp
