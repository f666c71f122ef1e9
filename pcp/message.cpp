// PCP wire format: encoders that build the RFC 6887 layouts byte by byte and decoders that check
// every length before they read.
#include "pcp/message.hpp"

#include <fmt/format.h>

#include "base/byte_order.hpp"

namespace etherpath::pcp {
namespace {

constexpr std::uint8_t kResponseBit = 0x80;
constexpr std::size_t kThirdPartyLength = 16;
constexpr std::size_t kFilterLength = 20;

std::size_t info_size(Opcode opcode) {
  switch (opcode) {
    case Opcode::announce: return 0;
    case Opcode::map: return kMapInfoSize;
    case Opcode::peer: return kPeerInfoSize;
  }
  return 0;
}

std::string_view option_name(std::uint8_t code) {
  switch (code) {
    case 1: return "THIRD_PARTY";
    case 2: return "PREFER_FAILURE";
    case 3: return "FILTER";
    default: return "option";
  }
}

// Appends big-endian fields to a message under construction.
class Writer {
 public:
  void u8(std::uint8_t v) { bytes_.push_back(v); }
  void be16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8U));
    u8(static_cast<std::uint8_t>(v));
  }
  void be32(std::uint32_t v) {
    be16(static_cast<std::uint16_t>(v >> 16U));
    be16(static_cast<std::uint16_t>(v));
  }
  void zeros(std::size_t n) { bytes_.insert(bytes_.end(), n, 0); }
  // Every PCP address field is 128 bits; IPv4 goes as ::ffff:a.b.c.d (§5).
  void address(const IpAddress& a) {
    const auto b = a.to_v6_mapped();
    bytes_.insert(bytes_.end(), b.begin(), b.end());
  }
  void raw(std::span<const std::uint8_t> b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
  [[nodiscard]] std::size_t size() const { return bytes_.size(); }
  Message take() { return std::move(bytes_); }

 private:
  Message bytes_;
};

// Reads fields at offsets the caller has bounds-checked against size().
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) : bytes_(b) {}
  [[nodiscard]] std::size_t size() const { return bytes_.size(); }
  [[nodiscard]] std::uint8_t u8(std::size_t off) const { return bytes_[off]; }
  [[nodiscard]] std::uint16_t be16(std::size_t off) const {
    return load_be16(as_bytes(bytes_), off);
  }
  [[nodiscard]] std::uint32_t be32(std::size_t off) const {
    return load_be32(as_bytes(bytes_), off);
  }
  [[nodiscard]] IpAddress address(std::size_t off) const {
    IpAddress::Bytes16 b{};
    for (std::size_t i = 0; i < b.size(); ++i) {
      b[i] = bytes_[off + i];
    }
    // All of the first 96 bits are checked for the mapped pattern, not only the ones.
    bool mapped = b[10] == 0xff && b[11] == 0xff;
    for (std::size_t i = 0; i < 10 && mapped; ++i) {
      mapped = b[i] == 0;
    }
    if (mapped) {
      return IpAddress::v4(std::array<std::uint8_t, 4>{b[12], b[13], b[14], b[15]});
    }
    return IpAddress::v6(b);
  }

 private:
  std::span<const std::uint8_t> bytes_;
};

Status check_options_for(Opcode opcode, const Options& options) {
  if (opcode == Opcode::announce &&
      (options.third_party || options.prefer_failure || !options.filters.empty())) {
    return fail(Errc::invalid_argument, "ANNOUNCE carries no options");
  }
  if (opcode == Opcode::peer && (options.prefer_failure || !options.filters.empty())) {
    return fail(Errc::invalid_argument, "PREFER_FAILURE and FILTER are MAP options, not PEER");
  }
  for (const auto& f : options.filters) {
    if (f.prefix_length > 128) {
      return fail(Errc::invalid_argument,
                  fmt::format("FILTER prefix length {} is over 128", f.prefix_length));
    }
  }
  return ok();
}

void write_info(Writer& w, Opcode opcode, const MappingInfo& info) {
  if (opcode == Opcode::announce) {
    return;
  }
  w.raw(info.nonce);
  w.u8(static_cast<std::uint8_t>(info.protocol));
  w.zeros(3);
  w.be16(info.internal_port);
  w.be16(info.external_port);
  w.address(info.external_address);
  if (opcode == Opcode::peer) {
    w.be16(info.remote_port);
    w.zeros(2);
    w.address(info.remote_address);
  }
}

// Option order on the wire: THIRD_PARTY, PREFER_FAILURE, then the FILTERs (§7.3 allows any).
void write_options(Writer& w, const Options& options) {
  if (options.third_party) {
    w.u8(static_cast<std::uint8_t>(OptionCode::third_party));
    w.u8(0);
    w.be16(kThirdPartyLength);
    w.address(*options.third_party);
  }
  if (options.prefer_failure) {
    w.u8(static_cast<std::uint8_t>(OptionCode::prefer_failure));
    w.u8(0);
    w.be16(0);
  }
  for (const auto& f : options.filters) {
    w.u8(static_cast<std::uint8_t>(OptionCode::filter));
    w.u8(0);
    w.be16(kFilterLength);
    w.u8(0);
    w.u8(f.prefix_length);
    w.be16(f.remote_port);
    w.address(f.remote_address);
  }
}

Result<Message> finish(Writer& w) {
  if (w.size() > kMaxMessageSize) {
    return fail(Errc::invalid_argument,
                fmt::format("message of {} bytes is over PCP's {} (too many FILTERs?)", w.size(),
                            kMaxMessageSize));
  }
  return w.take();
}

Result<Opcode> opcode_from(std::uint8_t value, std::string_view what) {
  if (value > static_cast<std::uint8_t>(Opcode::peer)) {
    return fail(Errc::malformed, fmt::format("{}: unknown opcode {}", what, value));
  }
  return static_cast<Opcode>(value);
}

// The first checks every PCP message gets: version, size bounds, 4-byte multiple, R bit.
Status check_common(const Reader& r, bool want_response, std::string_view what) {
  if (r.size() == 0) {
    return fail(Errc::malformed, fmt::format("{}: empty datagram", what));
  }
  const std::uint8_t version = r.u8(0);
  if (version == 0) {
    return fail(Errc::unsupported,
                fmt::format("{}: NAT-PMP (version 0) answer: the server speaks NAT-PMP "
                            "(RFC 6886), not PCP",
                            what));
  }
  if (version != kVersion) {
    return fail(Errc::unsupported,
                fmt::format("{}: PCP version {} is not supported (only version 2)", what, version));
  }
  if (r.size() < kHeaderSize) {
    return fail(Errc::malformed, fmt::format("{}: {} bytes, shorter than the {}-byte header", what,
                                             r.size(), kHeaderSize));
  }
  if (r.size() > kMaxMessageSize) {
    return fail(Errc::malformed,
                fmt::format("{}: {} bytes, longer than PCP's {}", what, r.size(), kMaxMessageSize));
  }
  if (r.size() % 4 != 0) {
    return fail(Errc::malformed, fmt::format("{}: {} bytes, not a multiple of 4", what, r.size()));
  }
  const bool is_response = (r.u8(1) & kResponseBit) != 0;
  if (is_response != want_response) {
    return fail(Errc::malformed, fmt::format("{}: R bit is {}", what, is_response ? 1 : 0));
  }
  return ok();
}

MappingInfo read_info(const Reader& r, std::size_t off, Opcode opcode) {
  MappingInfo info;
  for (std::size_t i = 0; i < info.nonce.size(); ++i) {
    info.nonce[i] = r.u8(off + i);
  }
  info.protocol = static_cast<Protocol>(r.u8(off + 12));
  info.internal_port = r.be16(off + 16);
  info.external_port = r.be16(off + 18);
  info.external_address = r.address(off + 20);
  if (opcode == Opcode::peer) {
    info.remote_port = r.be16(off + 36);
    info.remote_address = r.address(off + 40);
  }
  return info;
}

struct ParsedOptions {
  Options options;
  unsigned ignored = 0;
};

// Options from `off` to the end (§7.3): each a 4-byte header and data padded to 4 bytes.
Result<ParsedOptions> read_options(const Reader& r, std::size_t off, Opcode opcode,
                                   std::string_view what) {
  ParsedOptions out;
  while (off < r.size()) {
    if (r.size() - off < kOptionHeaderSize) {
      return fail(Errc::malformed, fmt::format("{}: {} bytes after the last option, too few "
                                               "for an option header",
                                               what, r.size() - off));
    }
    const std::uint8_t code = r.u8(off);
    const std::size_t length = r.be16(off + 2);
    const std::size_t padded = (length + 3U) & ~std::size_t{3};
    const std::size_t data = off + kOptionHeaderSize;
    if (padded > r.size() - data) {
      return fail(Errc::malformed,
                  fmt::format("{}: {} {} of length {} runs past the end of the message", what,
                              option_name(code), code, length));
    }
    off = data + padded;
    const bool allowed = (code == 1 && opcode != Opcode::announce) ||
                         ((code == 2 || code == 3) && opcode == Opcode::map);
    if (code < 1 || code > 3) {
      if (code >= kFirstOptionalOption) {
        ++out.ignored;  // optional to process: skip it (§7.3)
        continue;
      }
      return fail(Errc::malformed, fmt::format("{}: unknown mandatory option {}", what, code));
    }
    if (!allowed) {
      return fail(Errc::malformed,
                  fmt::format("{}: {} is not valid for {}", what, option_name(code), name(opcode)));
    }
    const std::size_t want = code == 1 ? kThirdPartyLength : code == 2 ? 0 : kFilterLength;
    if (length != want) {
      return fail(Errc::malformed, fmt::format("{}: {} has length {}, it needs {}", what,
                                               option_name(code), length, want));
    }
    if (code == 1) {
      if (out.options.third_party) {
        return fail(Errc::malformed, fmt::format("{}: THIRD_PARTY appears twice", what));
      }
      out.options.third_party = r.address(data);
    } else if (code == 2) {
      if (out.options.prefer_failure) {
        return fail(Errc::malformed, fmt::format("{}: PREFER_FAILURE appears twice", what));
      }
      out.options.prefer_failure = true;
    } else {
      Filter f{.remote_address = r.address(data + 4),
               .prefix_length = r.u8(data + 1),
               .remote_port = r.be16(data + 2)};
      if (f.prefix_length > 128) {
        return fail(Errc::malformed,
                    fmt::format("{}: FILTER prefix length {} is over 128", what, f.prefix_length));
      }
      if (f.remote_address.is_v4() && f.prefix_length != 0 && f.prefix_length < 96) {
        return fail(Errc::malformed,
                    fmt::format("{}: FILTER prefix length {} is under 96 for an IPv4 address", what,
                                f.prefix_length));
      }
      out.options.filters.push_back(f);
    }
  }
  return out;
}

}  // namespace

std::string_view name(Opcode opcode) {
  switch (opcode) {
    case Opcode::announce: return "ANNOUNCE";
    case Opcode::map: return "MAP";
    case Opcode::peer: return "PEER";
  }
  return "UNKNOWN";
}

std::string protocol_name(Protocol protocol) {
  switch (protocol) {
    case Protocol::all: return "all";
    case Protocol::icmp: return "icmp";
    case Protocol::tcp: return "tcp";
    case Protocol::udp: return "udp";
    case Protocol::sctp: return "sctp";
  }
  return std::to_string(static_cast<unsigned>(protocol));
}

std::string to_hex(const Nonce& nonce) {
  std::string out;
  out.reserve(nonce.size() * 2);
  for (const auto b : nonce) {
    out += fmt::format("{:02x}", b);
  }
  return out;
}

Result<Nonce> parse_nonce(std::string_view hex) {
  Nonce n{};
  if (hex.size() != n.size() * 2) {
    return fail(Errc::invalid_argument,
                fmt::format("nonce '{}': needs 24 hex digits (96 bits)", hex));
  }
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  for (std::size_t i = 0; i < n.size(); ++i) {
    const int hi = digit(hex[2 * i]);
    const int lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return fail(Errc::invalid_argument, fmt::format("nonce '{}': not a hex number", hex));
    }
    n[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return n;
}

Result<Filter> Filter::from_prefix(const IpAddress& address, unsigned family_prefix,
                                   std::uint16_t port) {
  const unsigned bits = address.is_v4() ? 32 : 128;
  if (family_prefix > bits) {
    return fail(Errc::invalid_argument, fmt::format("prefix /{} is longer than the {} bits of {}",
                                                    family_prefix, bits, address.to_string()));
  }
  return Filter{.remote_address = address,
                .prefix_length = static_cast<std::uint8_t>(family_prefix + (128 - bits)),
                .remote_port = port};
}

unsigned Filter::family_prefix_length() const {
  if (remote_address.is_v4()) {
    return prefix_length >= 96 ? prefix_length - 96U : 0U;
  }
  return prefix_length;
}

Result<Message> encode(const Request& request) {
  EP_TRY_STATUS(check_options_for(request.opcode, request.options));
  Writer w;
  w.u8(kVersion);
  w.u8(static_cast<std::uint8_t>(request.opcode));  // R = 0
  w.zeros(2);
  w.be32(request.lifetime);
  w.address(request.client_address);
  write_info(w, request.opcode, request.info);
  write_options(w, request.options);
  return finish(w);
}

Result<Message> encode(const Response& response) {
  EP_TRY_STATUS(check_options_for(response.opcode, response.options));
  Writer w;
  w.u8(kVersion);
  w.u8(static_cast<std::uint8_t>(kResponseBit | static_cast<std::uint8_t>(response.opcode)));
  w.u8(0);
  w.u8(static_cast<std::uint8_t>(response.result));
  w.be32(response.lifetime);
  w.be32(response.epoch);
  w.zeros(12);
  if (response.has_info) {
    write_info(w, response.opcode, response.info);
    write_options(w, response.options);
  }
  return finish(w);
}

Result<Request> decode_request(std::span<const std::uint8_t> bytes) {
  const Reader r(bytes);
  EP_TRY_STATUS(check_common(r, false, "PCP request"));
  EP_TRY(const Opcode opcode, opcode_from(r.u8(1) & 0x7fU, "PCP request"));
  const auto what = fmt::format("{} request", name(opcode));
  Request out;
  out.opcode = opcode;
  out.lifetime = r.be32(4);
  out.client_address = r.address(8);
  const std::size_t need = info_size(opcode);
  if (r.size() - kHeaderSize < need) {
    return fail(Errc::malformed, fmt::format("{}: {} bytes of opcode data, {} needed", what,
                                             r.size() - kHeaderSize, need));
  }
  if (need > 0) {
    out.info = read_info(r, kHeaderSize, opcode);
  }
  EP_TRY(auto parsed, read_options(r, kHeaderSize + need, opcode, what));
  out.options = std::move(parsed.options);
  return out;
}

Result<Response> decode_response(std::span<const std::uint8_t> bytes) {
  const Reader r(bytes);
  EP_TRY_STATUS(check_common(r, true, "PCP response"));
  EP_TRY(const Opcode opcode, opcode_from(r.u8(1) & 0x7fU, "PCP response"));
  const auto what = fmt::format("{} response", name(opcode));
  const auto result = result_code_from(r.u8(3));
  if (!result) {
    return fail(Errc::malformed, fmt::format("{}: unknown result code {}", what, r.u8(3)));
  }
  Response out;
  out.opcode = opcode;
  out.result = *result;
  out.lifetime = r.be32(4);
  out.epoch = r.be32(8);
  const std::size_t need = info_size(opcode);
  if (need > 0 && r.size() == kHeaderSize && out.result != ResultCode::success) {
    out.has_info = false;  // an error the server answered with the bare header
    return out;
  }
  if (r.size() - kHeaderSize < need) {
    return fail(Errc::malformed, fmt::format("{}: {} bytes of opcode data, {} needed", what,
                                             r.size() - kHeaderSize, need));
  }
  if (need > 0) {
    out.info = read_info(r, kHeaderSize, opcode);
  }
  EP_TRY(auto parsed, read_options(r, kHeaderSize + need, opcode, what));
  out.options = std::move(parsed.options);
  out.ignored_options = parsed.ignored;
  return out;
}

bool is_nat_pmp(std::span<const std::uint8_t> bytes) {
  return !bytes.empty() && bytes[0] == 0;
}

}  // namespace etherpath::pcp
