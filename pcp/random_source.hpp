// RandomSource: where the PCP client gets nonces and timer jitter, injectable so tests are
// deterministic.
#pragma once

#include <cstdint>
#include <random>

namespace etherpath::pcp {

class RandomSource {
 public:
  RandomSource() = default;
  RandomSource(const RandomSource&) = delete;
  RandomSource& operator=(const RandomSource&) = delete;
  RandomSource(RandomSource&&) = delete;
  RandomSource& operator=(RandomSource&&) = delete;
  virtual ~RandomSource() = default;
  virtual std::uint64_t next() = 0;
  // Uniform in [lo, hi].
  double uniform(double lo, double hi) {
    constexpr double kScale = 1.0 / 18446744073709551615.0;  // 2^64 - 1
    return lo + (hi - lo) * (static_cast<double>(next()) * kScale);
  }
};

// The kernel's CSPRNG (getrandom(2)): nonces must not be guessable by other hosts (§11.2).
class SystemRandom final : public RandomSource {
 public:
  std::uint64_t next() override;
};

// A seeded generator for tests.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t next() override { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace etherpath::pcp
