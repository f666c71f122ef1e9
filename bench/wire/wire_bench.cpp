// Builds and parses a 64-byte UDP/IPv4/802.1Q frame with etherpath (template path, full builder,
// parser) and with libtins, used as its users would at speed: the PDU chain is built once, and
// per frame the source port and payload are set and serialize() is called.
#include <benchmark/benchmark.h>
#include <tins/tins.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "conn/wire/frame_builder.hpp"
#include "conn/wire/frame_parser.hpp"
#include "conn/wire/frame_template.hpp"

namespace {

using namespace etherpath;
using namespace etherpath::wire;

// 14 Ethernet + 4 tag + 20 IPv4 + 8 UDP + 18 payload = 64 bytes without FCS.
constexpr std::size_t kPayload = 18;
const MacAddress kDst = MacAddress::parse("02:00:00:00:00:02").value();
const MacAddress kSrc = MacAddress::parse("02:00:00:00:00:01").value();
const IpAddress kIpSrc = IpAddress::parse("192.0.2.1").value();
const IpAddress kIpDst = IpAddress::parse("198.51.100.7").value();

Bytes build_full(FrameBuilder& b, ConstBytes payload, std::uint16_t sport) {
  b.reset();
  b.payload(payload)
      .push_udp(sport, 4789)
      .push_ipv4({.src = kIpSrc, .dst = kIpDst, .ttl = 64, .id = 1, .flags = kIpv4FlagDf})
      .push_vlan({.id = 100, .pcp = 3})
      .push_ethernet(kDst, kSrc);
  return b.finish().value();
}

void BM_TemplateBuild(benchmark::State& state) {
  std::array<std::byte, 256> proto_buf{};
  FrameBuilder pb(proto_buf);
  const auto tmpl = FrameTemplate::from_frame(build_full(pb, {}, 0)).value();
  std::array<std::byte, kPayload> payload{};
  alignas(64) std::array<std::byte, 2048> out{};
  std::uint16_t port = 1024;
  for (auto _ : state) {
    payload[0] = static_cast<std::byte>(port);  // a different payload every frame
    const Bytes f = tmpl.write(out, payload, {.src_port = port, .dst_port = 4789, .ipv4_id = 1});
    benchmark::DoNotOptimize(f.data());
    benchmark::ClobberMemory();
    ++port;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_TemplateBuild);

void BM_FullBuild(benchmark::State& state) {
  alignas(64) std::array<std::byte, 2048> buf{};
  FrameBuilder b(buf);
  std::array<std::byte, kPayload> payload{};
  std::uint16_t port = 1024;
  for (auto _ : state) {
    payload[0] = static_cast<std::byte>(port);
    const Bytes f = build_full(b, payload, port);
    benchmark::DoNotOptimize(f.data());
    benchmark::ClobberMemory();
    ++port;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_FullBuild);

void BM_LibtinsBuild(benchmark::State& state) {
  Tins::EthernetII eth = Tins::EthernetII("02:00:00:00:00:02", "02:00:00:00:00:01") /
                         Tins::Dot1Q(100) / Tins::IP("198.51.100.7", "192.0.2.1") /
                         Tins::UDP(4789, 1024) / Tins::RawPDU(std::vector<std::uint8_t>(kPayload));
  eth.rfind_pdu<Tins::Dot1Q>().priority(3);
  eth.rfind_pdu<Tins::IP>().flags(Tins::IP::DONT_FRAGMENT);
  eth.rfind_pdu<Tins::IP>().id(1);
  auto& udp = eth.rfind_pdu<Tins::UDP>();
  auto& raw = eth.rfind_pdu<Tins::RawPDU>();
  std::vector<std::uint8_t> payload(kPayload);
  std::uint16_t port = 1024;
  for (auto _ : state) {
    payload[0] = static_cast<std::uint8_t>(port);
    udp.sport(port);
    raw.payload(payload);
    const Tins::PDU::serialization_type f = eth.serialize();
    benchmark::DoNotOptimize(f.data());
    benchmark::ClobberMemory();
    ++port;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_LibtinsBuild);

std::vector<std::byte> sample_frame() {
  std::array<std::byte, 256> buf{};
  FrameBuilder b(buf);
  std::array<std::byte, kPayload> payload{};
  const Bytes f = build_full(b, payload, 1024);
  return {f.begin(), f.end()};
}

void BM_Parse(benchmark::State& state) {
  const auto frame = sample_frame();
  const FrameParser parser;
  for (auto _ : state) {
    benchmark::DoNotOptimize(frame.data());
    const ParseResult r = parser.parse(frame);
    const ParsedFrame& f = r.frame;
    benchmark::DoNotOptimize(r.drop);
    benchmark::DoNotOptimize(f.dst);
    benchmark::DoNotOptimize(f.src);
    benchmark::DoNotOptimize(f.vlans[0].id);
    benchmark::DoNotOptimize(f.vlans[0].pcp);
    benchmark::DoNotOptimize(f.vlans[0].dei);
    benchmark::DoNotOptimize(f.ether_type);
    benchmark::DoNotOptimize(f.key);
    benchmark::DoNotOptimize(f.ipv4.tos);
    benchmark::DoNotOptimize(f.ipv4.total_length);
    benchmark::DoNotOptimize(f.ipv4.id);
    benchmark::DoNotOptimize(f.ipv4.flags);
    benchmark::DoNotOptimize(f.ipv4.ttl);
    benchmark::DoNotOptimize(f.ipv4.protocol);
    benchmark::DoNotOptimize(f.ipv4.checksum);
    benchmark::DoNotOptimize(f.ip_src());
    benchmark::DoNotOptimize(f.ip_dst());
    benchmark::DoNotOptimize(f.udp.src_port);
    benchmark::DoNotOptimize(f.udp.dst_port);
    benchmark::DoNotOptimize(f.udp.length);
    benchmark::DoNotOptimize(f.udp.checksum);
    benchmark::DoNotOptimize(f.payload.data());
    benchmark::DoNotOptimize(f.payload.size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Parse);

void BM_LibtinsParse(benchmark::State& state) {
  const auto frame = sample_frame();
  const auto* data = reinterpret_cast<const std::uint8_t*>(frame.data());  // NOLINT: libtins API
  const auto size = static_cast<std::uint32_t>(frame.size());
  for (auto _ : state) {
    const Tins::EthernetII eth(data, size);
    const auto& tag = eth.rfind_pdu<Tins::Dot1Q>();
    const auto& ip = eth.rfind_pdu<Tins::IP>();
    const auto& udp = eth.rfind_pdu<Tins::UDP>();
    const auto& raw = eth.rfind_pdu<Tins::RawPDU>();
    benchmark::DoNotOptimize(eth.dst_addr());
    benchmark::DoNotOptimize(eth.src_addr());
    benchmark::DoNotOptimize(eth.payload_type());
    benchmark::DoNotOptimize(tag.id());
    benchmark::DoNotOptimize(tag.priority());
    benchmark::DoNotOptimize(tag.cfi());
    benchmark::DoNotOptimize(tag.payload_type());
    benchmark::DoNotOptimize(ip.tos());
    benchmark::DoNotOptimize(ip.tot_len());
    benchmark::DoNotOptimize(ip.id());
    benchmark::DoNotOptimize(ip.flags());
    benchmark::DoNotOptimize(ip.ttl());
    benchmark::DoNotOptimize(ip.protocol());
    benchmark::DoNotOptimize(ip.checksum());
    benchmark::DoNotOptimize(ip.src_addr());
    benchmark::DoNotOptimize(ip.dst_addr());
    benchmark::DoNotOptimize(udp.sport());
    benchmark::DoNotOptimize(udp.dport());
    benchmark::DoNotOptimize(udp.length());
    benchmark::DoNotOptimize(udp.checksum());
    benchmark::DoNotOptimize(raw.payload().data());
    benchmark::DoNotOptimize(raw.payload().size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_LibtinsParse);

}  // namespace

// With EP_WIRE_ITERATIONS=N every benchmark runs exactly N iterations once: count.sh runs it
// under callgrind twice (N and 2N) and divides the difference, so instruction counts per frame
// come out exact whatever the load on the machine.
int main(int argc, char** argv) {
  if (const char* n = std::getenv("EP_WIRE_ITERATIONS")) {
    const auto iterations = static_cast<benchmark::IterationCount>(std::strtoll(n, nullptr, 10));
    for (const auto& [name, fn] :
         {std::pair{"BM_TemplateBuild", &BM_TemplateBuild},
          std::pair{"BM_FullBuild", &BM_FullBuild}, std::pair{"BM_LibtinsBuild", &BM_LibtinsBuild},
          std::pair{"BM_Parse", &BM_Parse}, std::pair{"BM_LibtinsParse", &BM_LibtinsParse}}) {
      benchmark::RegisterBenchmark((std::string(name) + "/fixed").c_str(), fn)
          ->Iterations(iterations);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
