// Replays fuzz corpora without libFuzzer (g++ builds): every file named, or found in a folder
// named, on the command line goes through LLVMFuzzerTestOneInput once.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

int run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(data.data(), data.size());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int count = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(
        argv[i]);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    if (std::filesystem::is_directory(p)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(p)) {
        if (entry.is_regular_file()) {
          count += run_file(entry.path());
        }
      }
    } else if (std::filesystem::is_regular_file(p)) {
      count += run_file(p);
    } else {
      std::fprintf(stderr, "replay: %s: no such file or folder\n", argv[i]);  // NOLINT
      return 1;
    }
  }
  std::printf("replayed %d inputs\n", count);  // NOLINT
  return count > 0 ? 0 : 1;
}
