// libFuzzer target over FrameParser: no crash, leak or UB on any input, and the round trip: a
// frame that parses with valid checksums and nothing after its datagram is rebuilt byte for byte
// from its parsed fields.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "conn/wire/frame_parser.hpp"
#include "tests/fuzz/wire/round_trip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace etherpath;
  using namespace etherpath::wire;
  const ConstBytes frame = as_bytes(std::span(data, size));
  // Both modes: without checksum checks the parser goes deeper into frames with bad ones.
  const ParseResult loose = FrameParser().parse(frame);
  const ParseResult strict = FrameParser(ParseOptions{.verify_checksums = true}).parse(frame);
  if (strict && !loose) {
    std::fprintf(stderr, "strict parse accepted what the loose parse dropped (%s)\n",
                 std::string(to_string(loose.drop)).c_str());
    std::abort();
  }
  // Reading everything the parser returned must stay inside the frame (ASan checks the spans).
  std::size_t touched = 0;
  for (const ConstBytes s : {loose.frame.l3_bytes, loose.frame.l4_bytes, loose.frame.payload}) {
    for (const std::byte b : s) {
      touched += static_cast<std::size_t>(b);
    }
  }
  (void)touched;
  (void)describe(loose.frame);
  std::vector<std::byte> buffer(2 * size + 64);
  // Any frame that parses, rebuilt from its fields, is a valid frame (lengths and checksums
  // recomputed) whose own rebuild is itself: this drives the builder with every field value the
  // fuzzer invents, not only the few mutated frames whose checksums still hold.
  if (loose && loose.frame.l3 != L3Kind::none) {
    const auto first = testing::rebuild(loose.frame, buffer);
    if (!first) {
      std::fprintf(stderr, "rebuild failed: %s\n", first.error().message().c_str());
      std::abort();
    }
    const std::vector<std::byte> once(first->begin(), first->end());
    const ParseResult again = FrameParser(ParseOptions{.verify_checksums = true}).parse(once);
    if (!again) {
      std::fprintf(stderr, "rebuilt frame does not parse: %s\n",
                   std::string(to_string(again.drop)).c_str());
      std::abort();
    }
    std::vector<std::byte> buffer2(2 * once.size() + 64);
    const auto second = testing::rebuild(again.frame, buffer2);
    if (!second || second->size() != once.size() ||
        std::memcmp(second->data(), once.data(), once.size()) != 0) {
      std::fprintf(stderr, "rebuild is not stable\n");
      std::abort();
    }
  }
  if (!testing::round_trip_applies(strict)) {
    return 0;
  }
  const auto rebuilt = testing::rebuild(strict.frame, buffer);
  if (!rebuilt || rebuilt->size() != size || std::memcmp(rebuilt->data(), data, size) != 0) {
    std::fprintf(stderr, "round trip failed: %s\n",
                 rebuilt ? "bytes differ" : rebuilt.error().message().c_str());
    std::abort();
  }
  return 0;
}
