// UniqueFd and MmapRegion own their kernel objects exactly once.
#include "base/unique_fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "base/mmap_region.hpp"

namespace etherpath {
namespace {

bool fd_open(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

TEST(UniqueFd, ClosesOnceAndMoves) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_EQ(b.get(), raw);
    EXPECT_TRUE(fd_open(raw));
  }
  EXPECT_FALSE(fd_open(raw));
}

TEST(MmapRegion, AnonymousAndMove) {
  auto r = MmapRegion::anonymous(1 << 16);
  ASSERT_TRUE(r);
  r->bytes()[100] = std::byte{42};
  MmapRegion m = std::move(r).value();
  EXPECT_EQ(m.bytes()[100], std::byte{42});
  EXPECT_EQ(m.size(), 1U << 16);
  EXPECT_FALSE(MmapRegion::anonymous(0));
}

}  // namespace
}  // namespace etherpath
