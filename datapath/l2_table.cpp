// L2Table: growth, insertion and backward-shift deletion.
#include "datapath/l2_table.hpp"

#include <algorithm>
#include <utility>

namespace etherpath::datapath {

namespace {

constexpr std::size_t kMinCapacity = 16;

}  // namespace

void L2Table::rehash(std::size_t capacity) {
  std::unique_ptr<Slot[]> old = std::move(slots_);  // NOLINT(*-avoid-c-arrays)
  const std::size_t old_capacity = old ? mask_ + 1 : 0;
  slots_ = std::make_unique<Slot[]>(capacity);  // NOLINT(*-avoid-c-arrays)
  mask_ = capacity - 1;
  shift_ = 64U - static_cast<unsigned>(std::countr_zero(capacity));
  for (std::size_t i = 0; i < old_capacity; ++i) {
    if (old[i].fast_path != kEmpty) {
      place(old[i].key, L2Target{old[i].receiver, old[i].hot, old[i].fast_path});
    }
  }
}

void L2Table::place(const wire::L2Key& key, L2Target target) {
  for (std::size_t i = index_of(hash(key));; i = (i + 1) & mask_) {
    if (slots_[i].fast_path == kEmpty) {
      slots_[i] = Slot{key, target.fast_path, target.receiver, target.hot};
      return;
    }
  }
}

void L2Table::insert_or_assign(const wire::L2Key& key, L2Target target) {
  if (slots_) {
    for (std::size_t i = index_of(hash(key));; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
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
  std::size_t i = index_of(hash(key));
  for (;; i = (i + 1) & mask_) {
    if (slots_[i].fast_path == kEmpty) {
      return false;
    }
    if (same(slots_[i].key, key)) {
      break;
    }
  }
  // Backward shift: move each following entry of the probe run into the hole when its home slot
  // does not lie cyclically in (hole, j], so every remaining key stays reachable from its home.
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
    Slot& s = slots_[j];
    if (s.fast_path == kEmpty) {
      break;
    }
    const std::size_t home = index_of(hash(s.key));
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!stays) {
      slots_[hole] = s;
      hole = j;
    }
  }
  slots_[hole] = Slot{};
  --size_;
  return true;
}

void L2Table::clear() {
  slots_.reset();
  mask_ = 0;
  shift_ = 63;
  size_ = 0;
}

}  // namespace etherpath::datapath
