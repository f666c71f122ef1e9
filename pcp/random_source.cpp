// SystemRandom over getrandom(2).
#include "pcp/random_source.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace etherpath::pcp {

std::uint64_t SystemRandom::next() {
  std::uint64_t v = 0;
  // 8 bytes never come back short from getrandom(2) once the pool is ready; retry on EINTR.
  while (::getrandom(&v, sizeof v, 0) != static_cast<ssize_t>(sizeof v)) {
    if (errno != EINTR) {
      std::random_device rd;  // the only fallback left; still not a user-seeded PRNG
      v = (std::uint64_t{rd()} << 32U) | rd();
      break;
    }
  }
  return v;
}

}  // namespace etherpath::pcp
