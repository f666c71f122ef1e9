// L2Table: lookups, replacement, growth to 65,536 hosts' keys, and backward-shift deletion
// checked against std::unordered_map under random churn.
#include "datapath/l2_table.hpp"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>
#include <vector>

namespace etherpath::datapath {
namespace {

wire::L2Key key(std::uint64_t mac, std::uint16_t outer = VlanStack::kNoVlan,
                std::uint16_t et = 0x0800) {
  return wire::L2Key{MacAddress::from_u64(mac).octets(), outer, VlanStack::kNoVlan, et};
}

Receiver* fake_receiver(std::uintptr_t n) {
  return reinterpret_cast<Receiver*>(n * 64);  // NOLINT: never dereferenced, only compared
}

struct KeyHash {
  std::size_t operator()(const wire::L2Key& k) const { return L2Table::hash(k); }
};

TEST(L2Table, EmptyTableFindsNothing) {
  const L2Table t;
  EXPECT_FALSE(t.find(key(1)));
  EXPECT_EQ(t.size(), 0U);
  EXPECT_EQ(t.capacity(), 0U);
}

TEST(L2Table, InsertFindReplaceErase) {
  L2Table t;
  t.insert_or_assign(key(1), {fake_receiver(1), nullptr, -1});
  t.insert_or_assign(key(1, 100), {nullptr, nullptr, 3});
  ASSERT_TRUE(t.find(key(1)));
  EXPECT_EQ(t.find(key(1))->receiver, fake_receiver(1));
  EXPECT_EQ(t.find(key(1, 100))->fast_path, 3);
  EXPECT_FALSE(t.find(key(1, 101)));
  EXPECT_FALSE(t.find(key(1, VlanStack::kNoVlan, 0x86dd)));
  t.insert_or_assign(key(1), {fake_receiver(2), nullptr, -1});  // etherconn's override
  EXPECT_EQ(t.find(key(1))->receiver, fake_receiver(2));
  EXPECT_EQ(t.size(), 2U);
  EXPECT_TRUE(t.erase(key(1)));
  EXPECT_FALSE(t.erase(key(1)));
  EXPECT_FALSE(t.find(key(1)));
  EXPECT_EQ(t.find(key(1, 100))->fast_path, 3);
  EXPECT_EQ(t.size(), 1U);
}

TEST(L2Table, HoldsSixtyFiveThousandHostsAtThreeEtherTypes) {
  L2Table t;
  constexpr std::uint64_t kBase = 0x020001000000ULL;
  for (std::uint64_t i = 0; i < 65536; ++i) {
    for (const std::uint16_t et :
         {std::uint16_t{0x0806}, std::uint16_t{0x0800}, std::uint16_t{0x86dd}}) {
      t.insert_or_assign(key(kBase + i, VlanStack::kNoVlan, et),
                         {fake_receiver(i + 1), nullptr, -1});
    }
  }
  EXPECT_EQ(t.size(), 196608U);
  EXPECT_LE(t.size() * 8, t.capacity() * 5);
  EXPECT_EQ(t.memory_bytes(), t.capacity() * 32);
  for (std::uint64_t i = 0; i < 65536; ++i) {
    const auto hit = t.find(key(kBase + i));
    ASSERT_TRUE(hit) << i;
    EXPECT_EQ(hit->receiver, fake_receiver(i + 1));
  }
  EXPECT_FALSE(t.find(key(kBase + 65536)));
  std::size_t seen = 0;
  t.for_each([&](const wire::L2Key&, const L2Target&) { ++seen; });
  EXPECT_EQ(seen, t.size());
}

TEST(L2Table, RandomChurnMatchesUnorderedMap) {
  L2Table t;
  std::unordered_map<wire::L2Key, std::int32_t, KeyHash> ref;
  std::mt19937_64 rng(42);
  // A small key space so that inserts, replacements and erasures collide often and probe runs
  // wrap around the end of the table.
  for (int step = 0; step < 200000; ++step) {
    const wire::L2Key k =
        key(0x020000000000ULL + rng() % 3000, static_cast<std::uint16_t>(rng() % 3), 0x0800);
    const auto op = rng() % 3;
    if (op == 0) {
      EXPECT_EQ(t.erase(k), ref.erase(k) == 1);
    } else {
      const auto v = static_cast<std::int32_t>(rng() % 1000);
      t.insert_or_assign(k, {nullptr, nullptr, v});
      ref[k] = v;
    }
    if (step % 997 == 0) {
      ASSERT_EQ(t.size(), ref.size());
      for (const auto& [rk, rv] : ref) {
        const auto hit = t.find(rk);
        ASSERT_TRUE(hit);
        ASSERT_EQ(hit->fast_path, rv);
      }
    }
  }
  for (std::uint64_t m = 0; m < 3000; ++m) {
    for (std::uint16_t o = 0; o < 3; ++o) {
      const wire::L2Key k = key(0x020000000000ULL + m, o);
      ASSERT_EQ(t.find(k).has_value(), ref.count(k) == 1);
    }
  }
  t.clear();
  EXPECT_FALSE(t.find(key(0x020000000000ULL)));
  t.insert_or_assign(key(5), {nullptr, nullptr, 1});
  EXPECT_EQ(t.find(key(5))->fast_path, 1);
}

}  // namespace
}  // namespace etherpath::datapath
