// PcapWriter: pcap_open_dead for the link type, pcap_dump per frame.
#include "tools/etherpath-gen/pcap_writer.hpp"

#include <pcap/pcap.h>

#include <utility>

#include "tools/etherpath-gen/flow_template.hpp"

namespace etherpath::gen {

Result<PcapWriter> PcapWriter::open(const std::string& path, std::uint64_t limit) {
  PcapWriter w;
  w.limit_ = limit;
  w.dead_ = ::pcap_open_dead(DLT_EN10MB, static_cast<int>(kMaxFrameSize));
  if (w.dead_ == nullptr) {
    return fail(Errc::invalid_argument, "pcap_open_dead failed");
  }
  w.dumper_ = ::pcap_dump_open(w.dead_, path.c_str());
  if (w.dumper_ == nullptr) {
    return fail(Errc::invalid_argument, path + ": " + ::pcap_geterr(w.dead_));
  }
  return w;
}

PcapWriter::PcapWriter(PcapWriter&& other) noexcept
    : dead_(std::exchange(other.dead_, nullptr)),
      dumper_(std::exchange(other.dumper_, nullptr)),
      limit_(other.limit_),
      written_(other.written_) {}

PcapWriter::~PcapWriter() {
  close();
}

void PcapWriter::close() {
  if (dumper_ != nullptr) {
    ::pcap_dump_close(dumper_);
    dumper_ = nullptr;
  }
  if (dead_ != nullptr) {
    ::pcap_close(dead_);
    dead_ = nullptr;
  }
}

bool PcapWriter::write(ConstBytes frame, std::uint64_t realtime_ns) {
  if (dumper_ == nullptr || full()) {
    return false;
  }
  pcap_pkthdr h{};
  h.ts.tv_sec = static_cast<time_t>(realtime_ns / 1'000'000'000U);
  h.ts.tv_usec = static_cast<suseconds_t>((realtime_ns % 1'000'000'000U) / 1000U);
  h.caplen = static_cast<bpf_u_int32>(frame.size());
  h.len = h.caplen;
  ::pcap_dump(reinterpret_cast<unsigned char*>(dumper_), &h,
              reinterpret_cast<const unsigned char*>(frame.data()));
  ++written_;
  if (full()) {
    close();
  }
  return true;
}

}  // namespace etherpath::gen
