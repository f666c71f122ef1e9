// mmap/munmap behind MmapRegion.
#include "base/mmap_region.hpp"

#include <sys/mman.h>

#include <string>

namespace etherpath {

MmapRegion& MmapRegion::operator=(MmapRegion&& other) noexcept {
  if (this != &other) {
    reset();
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MmapRegion::reset() noexcept {
  if (addr_ != nullptr) {
    ::munmap(addr_, size_);
    addr_ = nullptr;
    size_ = 0;
  }
}

Result<MmapRegion> MmapRegion::anonymous(std::size_t size, bool try_huge_pages) {
  if (size == 0) {
    return fail(Errc::invalid_argument, "mmap: size 0");
  }
  constexpr int kBase = MAP_PRIVATE | MAP_ANONYMOUS;
  void* addr = MAP_FAILED;
  if (try_huge_pages) {
    addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, kBase | MAP_HUGETLB, -1, 0);
  }
  if (addr == MAP_FAILED) {
    addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, kBase, -1, 0);
  }
  if (addr == MAP_FAILED) {
    return fail_errno("mmap " + std::to_string(size) + " bytes");
  }
  return MmapRegion(addr, size);
}

Result<MmapRegion> MmapRegion::map_fd(int fd, std::size_t size, long offset, int prot) {
  void* addr = ::mmap(nullptr, size, prot, MAP_SHARED | MAP_POPULATE, fd, offset);
  if (addr == MAP_FAILED) {
    return fail_errno("mmap fd " + std::to_string(fd) + " offset " + std::to_string(offset));
  }
  return MmapRegion(addr, size);
}

}  // namespace etherpath
