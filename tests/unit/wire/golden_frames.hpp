// Loads tests/golden/frames.txt: name, the fields scapy built the frame from, and its bytes.
#pragma once

#include <cstddef>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace etherpath::wire::testing {

struct GoldenFrame {
  std::string name;
  std::map<std::string, std::string> fields;
  std::vector<std::byte> bytes;

  [[nodiscard]] bool has(const std::string& key) const { return fields.contains(key); }
  [[nodiscard]] const std::string& at(const std::string& key) const { return fields.at(key); }
  [[nodiscard]] unsigned long num(const std::string& key, int base = 10) const {
    return std::stoul(fields.at(key), nullptr, base);
  }
};

inline std::vector<std::byte> from_hex(const std::string& hex) {
  std::vector<std::byte> out;
  if (hex == "-") {
    return out;
  }
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

inline std::vector<GoldenFrame> load_golden(const std::string& path) {
  std::vector<GoldenFrame> frames;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::istringstream cols(line);
    std::string name;
    std::string fields;
    std::string hex;
    std::getline(cols, name, '\t');
    std::getline(cols, fields, '\t');
    std::getline(cols, hex, '\t');
    GoldenFrame g;
    g.name = name;
    std::istringstream kv(fields);
    std::string item;
    while (kv >> item) {
      const auto eq = item.find('=');
      g.fields[item.substr(0, eq)] = item.substr(eq + 1);
    }
    g.bytes = from_hex(hex);
    frames.push_back(std::move(g));
  }
  return frames;
}

}  // namespace etherpath::wire::testing
