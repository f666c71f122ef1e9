// RFC 1071 sums, pseudo-headers and RFC 1624 incremental updates against a plain reference.
#include "conn/wire/checksum.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace etherpath::wire {
namespace {

// The obvious 16-bit-word implementation, to check the 64-bit one against.
std::uint16_t reference(const std::vector<std::byte>& d) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < d.size(); i += 2) {
    std::uint32_t w = std::to_integer<std::uint32_t>(d[i]) << 8U;
    if (i + 1 < d.size()) {
      w |= std::to_integer<std::uint32_t>(d[i + 1]);
    }
    sum += w;
    sum = (sum & 0xffffU) + (sum >> 16U);
  }
  return static_cast<std::uint16_t>(~sum);
}

std::vector<std::byte> bytes(std::initializer_list<unsigned> v) {
  std::vector<std::byte> out;
  for (auto x : v) {
    out.push_back(static_cast<std::byte>(x));
  }
  return out;
}

TEST(Checksum, Rfc1071Example) {
  // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (checksum 220d).
  const auto d = bytes({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
  EXPECT_EQ(checksum_fold(checksum_add(0, d)), 0xddf2);
  EXPECT_EQ(internet_checksum(d), 0x220d);
}

TEST(Checksum, KnownIpv4Header) {
  // A textbook header (Wikipedia's example): checksum b861.
  auto d = bytes({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7});
  EXPECT_EQ(internet_checksum(d), 0xb861);
}

TEST(Checksum, MatchesReferenceForEveryLengthAndSplit) {
  std::mt19937 rng(42);
  for (std::size_t n = 0; n < 300; ++n) {
    std::vector<std::byte> d(n);
    for (auto& b : d) {
      b = static_cast<std::byte>(rng());
    }
    EXPECT_EQ(internet_checksum(d), reference(d)) << n;
    // Sums of even-offset pieces add up to the sum of the whole.
    for (std::size_t cut = 0; cut <= n; cut += 2) {
      const ConstBytes all(d);
      const std::uint64_t s = checksum_add(checksum_add(0, all.first(cut)), all.subspan(cut));
      ASSERT_EQ(checksum_finish(s), reference(d)) << n << " " << cut;
    }
  }
}

TEST(Checksum, AllOnesAndZeros) {
  EXPECT_EQ(internet_checksum(std::vector<std::byte>(64, std::byte{0xff})), 0x0000);
  EXPECT_EQ(internet_checksum(std::vector<std::byte>(64, std::byte{0})), 0xffff);
  EXPECT_EQ(internet_checksum({}), 0xffff);
  EXPECT_EQ(udp_checksum_finish(0xffff), 0xffff);  // computed 0 goes out as 0xffff
}

// Words that wrap the 64-bit accumulator to exactly 0 (0x80.. twice, 0xff.. with a 1) must still
// sum like 16-bit words: nonzero data never gives the +0 that only all-zero data gives.
TEST(Checksum, AccumulatorWrapsLikeWordSums) {
  for (std::size_t n = 8; n <= 64; ++n) {
    for (const unsigned first : {0x80U, 0xffU, 0x01U}) {
      std::vector<std::byte> d(n);
      for (std::size_t i = 0; i < n; i += 8) {
        d[i] = static_cast<std::byte>(first);
      }
      d[n - 1] = std::byte{1};
      EXPECT_EQ(internet_checksum(d), reference(d)) << n << " " << first;
      std::vector<std::byte> ones(n, std::byte{0xff});
      ones[n / 2] = std::byte{0xfe};
      EXPECT_EQ(internet_checksum(ones), reference(ones)) << n;
    }
  }
}

// udp_checksum_finish folds sum + 1 instead of comparing with 0: the same for every sum,
// including the multiples of 0xffff (a computed 0, sent as 0xffff) and 0 itself.
TEST(Checksum, UdpFinishIsFfffForAComputedZero) {
  const auto plain = [](std::uint64_t sum) {
    const std::uint16_t c = checksum_finish(sum);
    return c == 0 ? std::uint16_t{0xffff} : c;
  };
  std::mt19937_64 rng(7);
  for (std::uint64_t k = 0; k < 300000; ++k) {
    for (const std::uint64_t v :
         {k, k * 0xffffU, (k + 1) * 0xffffU - 1, k * 0xffffU + 1, rng() >> (k % 40), rng() >> 1}) {
      ASSERT_EQ(udp_checksum_finish(v), plain(v)) << std::hex << v;
    }
  }
  EXPECT_EQ(udp_checksum_finish(0), 0xffff);
}

TEST(Checksum, PseudoHeaderV4AndV6) {
  const auto a = IpAddress::parse("192.0.2.1").value();
  const auto b = IpAddress::parse("198.51.100.7").value();
  // c000 + 0201 + c633 + 6407 + 0011 + 001a
  const std::uint32_t expect4 = 0xc000 + 0x0201 + 0xc633 + 0x6407 + 17 + 26;
  EXPECT_EQ(checksum_fold(pseudo_header_sum(a, b, 17, 26)), checksum_fold(expect4));
  const auto c = IpAddress::parse("2001:db8::1").value();
  const auto d = IpAddress::parse("2001:db8:1::7").value();
  const std::uint32_t expect6 =
      0x2001 + 0x0db8 + 0x0001 + 0x2001 + 0x0db8 + 0x0001 + 0x0007 + 58 + 0x10000 + 0x0020;
  EXPECT_EQ(checksum_fold(pseudo_header_sum(c, d, 58, 0x10020)), checksum_fold(expect6));
}

TEST(Checksum, IncrementalUpdateEqualsRecompute) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::byte> d(20);
    for (auto& b : d) {
      b = static_cast<std::byte>(rng());
    }
    const std::uint16_t before = internet_checksum(d);
    const std::size_t at = (rng() % 10) * 2;
    const auto old16 = static_cast<std::uint16_t>((std::to_integer<unsigned>(d[at]) << 8U) |
                                                  std::to_integer<unsigned>(d[at + 1]));
    const auto new16 = static_cast<std::uint16_t>(rng());
    d[at] = static_cast<std::byte>(new16 >> 8U);
    d[at + 1] = static_cast<std::byte>(new16);
    const std::uint16_t after = internet_checksum(d);
    // Eqn. 3 equals the recomputed value except that it may give 0x0000 where the recompute
    // gives 0xffff only for an all-zero buffer; random data never is.
    ASSERT_EQ(checksum_update16(before, old16, new16), after) << round;
  }
}

TEST(Checksum, IncrementalUpdate32ForAnAddressRewrite) {
  std::mt19937 rng(9);
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::byte> d(20);
    for (auto& b : d) {
      b = static_cast<std::byte>(rng());
    }
    const std::uint16_t before = internet_checksum(d);
    const std::uint32_t old_addr = load_be32(d, 12);
    const auto new_addr = static_cast<std::uint32_t>(rng());
    store_be32(d, 12, new_addr);
    ASSERT_EQ(checksum_update32(before, old_addr, new_addr), internet_checksum(d)) << round;
  }
}

// The fold against 16-bit steps, for values where carries pile up and for +0 against -0: only a
// zero sum folds to 0; any other multiple of 0xffff folds to 0xffff.
TEST(Checksum, FoldMatchesWordByWordFolding) {
  const auto slow = [](std::uint64_t sum) {
    while (sum > 0xffffU) {
      sum = (sum & 0xffffU) + (sum >> 16U);
    }
    return static_cast<std::uint16_t>(sum);
  };
  std::vector<std::uint64_t> values{0,
                                    1,
                                    0xffff,
                                    0x10000,
                                    0x1fffe,
                                    0xfffeffffULL,
                                    0xffffffffULL,
                                    0x100000000ULL,
                                    0x1fffffffeULL,
                                    0xffff0000ffff0000ULL,
                                    0xfffffffeffffffffULL,
                                    0xffffffffffffffffULL};
  std::mt19937_64 rng(11);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t r = rng();
    values.push_back(r);
    values.push_back(r >> (r % 64));
    values.push_back(r % 0xffff == 0 ? r : r - r % 0xffff);  // multiples of 0xffff
  }
  for (const std::uint64_t v : values) {
    ASSERT_EQ(checksum_fold(v), slow(v)) << std::hex << v;
  }
}

// Copying and summing in one pass gives checksum_add's sum and an exact copy, for every size and
// alignment around the 16/8/4/2/1-byte steps.
TEST(Checksum, CopyAndSumEqualsSumThenCopy) {
  std::mt19937 rng(12);
  std::vector<std::byte> src(200);
  for (auto& b : src) {
    b = static_cast<std::byte>(rng());
  }
  for (std::size_t off = 0; off < 8; ++off) {
    for (std::size_t n = 0; n <= 100; ++n) {
      std::vector<std::byte> dst(n + 16, std::byte{0x5a});
      const ConstBytes in(src.data() + off, n);
      const std::uint64_t sum = checksum_copy(dst.data() + 3, in, 7);
      ASSERT_EQ(checksum_fold(sum), checksum_fold(checksum_add(7, in))) << off << " " << n;
      ASSERT_TRUE(std::equal(in.begin(), in.end(), dst.begin() + 3)) << off << " " << n;
      ASSERT_EQ(dst[2], std::byte{0x5a});
      ASSERT_EQ(dst[n + 3], std::byte{0x5a});
    }
  }
}

}  // namespace
}  // namespace etherpath::wire
