// Big-endian loads and stores over spans, and the Be16/Be32 types.
#include "base/byte_order.hpp"

#include <gtest/gtest.h>

#include <array>

namespace etherpath {
namespace {

TEST(ByteOrder, LoadStoreUnaligned) {
  std::array<std::byte, 7> buf{};
  // Offset 1 and 3: deliberately unaligned, as fields behind one VLAN tag are.
  store_be16(buf, 1, 0x8100);
  store_be32(buf, 3, 0xc0a80001);
  EXPECT_EQ(buf[1], std::byte{0x81});
  EXPECT_EQ(buf[2], std::byte{0x00});
  EXPECT_EQ(buf[3], std::byte{0xc0});
  EXPECT_EQ(buf[6], std::byte{0x01});
  EXPECT_EQ(load_be16(buf, 1), 0x8100);
  EXPECT_EQ(load_be32(buf, 3), 0xc0a80001U);
}

TEST(ByteOrder, BeTypesKeepWireOrder) {
  constexpr auto v = Be16::from_host(0x86dd);
  static_assert(v.host() == 0x86dd);
  std::array<std::byte, 2> buf{};
  v.store(buf, 0);
  EXPECT_EQ(buf[0], std::byte{0x86});
  EXPECT_EQ(Be16::load(buf, 0), v);
  const auto w = Be32::from_host(0x01020304);
  std::array<std::byte, 4> b4{};
  w.store(b4, 0);
  EXPECT_EQ(b4[0], std::byte{0x01});
  EXPECT_EQ(b4[3], std::byte{0x04});
  EXPECT_EQ(Be32::load(b4, 0).host(), 0x01020304U);
}

}  // namespace
}  // namespace etherpath
