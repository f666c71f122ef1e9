// Per-CPU array reads through libbpf.
#include "bpf/percpu_array.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

namespace etherpath::bpf {

Result<std::vector<std::uint64_t>> sum_percpu_array(int map_fd, std::uint32_t count) {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    return fail_errno("counting possible CPUs", -cpus);
  }
  // The kernel copies one value per possible CPU for each key.
  std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(cpus));
  std::vector<std::uint64_t> sums(count);
  for (std::uint32_t key = 0; key < count; ++key) {
    if (bpf_map_lookup_elem(map_fd, &key, per_cpu.data()) != 0) {
      return fail_errno(fmt::format("reading per-CPU counter {}", key));
    }
    for (const auto v : per_cpu) {
      sums[key] += v;
    }
  }
  return sums;
}

}  // namespace etherpath::bpf
