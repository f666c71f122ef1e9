// Reading a BPF per-CPU array of u64 counters, summed over CPUs (steering stats, test programs).
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.hpp"

namespace etherpath::bpf {

// Entries [0, count) of the per-CPU array behind map_fd, each summed over the possible CPUs.
// Not for the per-packet path: one syscall per entry.
Result<std::vector<std::uint64_t>> sum_percpu_array(int map_fd, std::uint32_t count);

}  // namespace etherpath::bpf
