// L2Table: growth, insertion and backward-shift deletion.
#include "datapath/l2_table.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace etherpath::datapath {

namespace {

constexpr std::size_t kMinCapacity = 16;
constexpr std::size_t kHugePage = std::size_t{2} << 20U;

}  // namespace

void L2Table::rehash(std::size_t capacity) {
  static_assert(std::is_trivially_destructible_v<Slot>, "slots are unmapped without destructors");
  MmapRegion old = std::move(region_);
  const std::size_t old_capacity = old.valid() ? mask_ + 1 : 0;
  const std::size_t bytes = capacity * sizeof(Slot);
  auto region = MmapRegion::anonymous(bytes);
  if (!region) {
    throw std::bad_alloc();  // as make_unique would; only at registration time
  }
  if (bytes >= kHugePage) {
    (void)::madvise(region->data(), bytes, MADV_HUGEPAGE);  // best effort: 4 KiB pages work too
  }
  std::uninitialized_default_construct_n(static_cast<Slot*>(region->data()), capacity);
  region_ = std::move(*region);
  mask_ = capacity - 1;
  shift_ = 64U - static_cast<unsigned>(std::countr_zero(capacity));
  const Slot* from = static_cast<const Slot*>(old.data());
  for (std::size_t i = 0; i < old_capacity; ++i) {
    if (from[i].fast_path != kEmpty) {
      place(from[i].key, L2Target{from[i].receiver, from[i].hot, from[i].fast_path});
    }
  }
}

void L2Table::place(const wire::L2Key& key, L2Target target) {
  Slot* slots = slots_ptr();
  for (std::size_t i = index_of(hash(key));; i = (i + 1) & mask_) {
    if (slots[i].fast_path == kEmpty) {
      slots[i] = Slot{key, target.fast_path, target.receiver, target.hot};
      return;
    }
  }
}

void L2Table::insert_or_assign(const wire::L2Key& key, L2Target target) {
  if (region_.valid()) {
    for (std::size_t i = index_of(hash(key));; i = (i + 1) & mask_) {
      Slot& s = slots_ptr()[i];
      if (s.fast_path == kEmpty) {
        break;
      }
      if (same(s.key, key)) {
        s = Slot{key, target.fast_path, target.receiver, target.hot};
        return;
      }
    }
  }
  // Keep the load at or below 5/8: linear probing's chains stay short, and the table of 196,608
  // keys (65,536 hosts x 3 EtherTypes) is 512 Ki slots (16 MiB).
  if ((size_ + 1) * 8 > capacity() * 5) {
    rehash(std::max(kMinCapacity, capacity() * 2));
  }
  place(key, target);
  ++size_;
}

bool L2Table::erase(const wire::L2Key& key) {
  if (size_ == 0) {
    return false;
  }
  Slot* slots = slots_ptr();
  std::size_t i = index_of(hash(key));
  for (;; i = (i + 1) & mask_) {
    if (slots[i].fast_path == kEmpty) {
      return false;
    }
    if (same(slots[i].key, key)) {
      break;
    }
  }
  // Backward shift: move each following entry of the probe run into the hole when its home slot
  // does not lie cyclically in (hole, j], so every remaining key stays reachable from its home.
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
    Slot& s = slots[j];
    if (s.fast_path == kEmpty) {
      break;
    }
    const std::size_t home = index_of(hash(s.key));
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!stays) {
      slots[hole] = s;
      hole = j;
    }
  }
  slots[hole] = Slot{};
  --size_;
  return true;
}

void L2Table::clear() {
  region_.reset();
  mask_ = 0;
  shift_ = 63;
  size_ = 0;
}

}  // namespace etherpath::datapath
