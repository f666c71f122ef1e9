// PcapWriter: the first N frames sent, into a pcap file (--pcap FILE), with libpcap's pcap_dump.
#pragma once

#include <cstdint>
#include <string>

#include "base/byte_order.hpp"
#include "base/result.hpp"

struct pcap;
struct pcap_dumper;

namespace etherpath::gen {

class PcapWriter {
 public:
  static Result<PcapWriter> open(const std::string& path, std::uint64_t limit);
  PcapWriter(PcapWriter&& other) noexcept;
  PcapWriter& operator=(PcapWriter&&) = delete;
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();

  // Writes the frame while fewer than `limit` were written; false once the file is complete.
  bool write(ConstBytes frame, std::uint64_t realtime_ns);
  [[nodiscard]] bool full() const { return written_ >= limit_; }
  [[nodiscard]] std::uint64_t written() const { return written_; }
  // Flushes and closes the file (also done by the destructor).
  void close();

 private:
  PcapWriter() = default;
  ::pcap* dead_ = nullptr;
  ::pcap_dumper* dumper_ = nullptr;
  std::uint64_t limit_ = 0;
  std::uint64_t written_ = 0;
};

}  // namespace etherpath::gen
