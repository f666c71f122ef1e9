// rtnetlink message building (libmnl into a byte vector) and bounds-checked answer parsing.
#include "datapath/netlink/rtnl_messages.hpp"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <vector>

namespace etherpath::datapath::netlink {
namespace {

// Enough for any request built here: header, family header and two small attributes.
constexpr std::size_t kRequestCapacity = 256;

// A request being built in place by libmnl; message() trims it to the length libmnl wrote.
class RequestBuilder {
 public:
  RequestBuilder(std::uint16_t type, std::uint16_t flags) : bytes_(kRequestCapacity) {
    nlh_ = mnl_nlmsg_put_header(bytes_.data());
    nlh_->nlmsg_type = type;
    nlh_->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
  }
  template <typename T>
  T* family_header() {
    return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(T)));
  }
  void put_address(std::uint16_t type, const IpAddress& address) {
    mnl_attr_put(nlh_, type, address.size(), address.bytes().data());
  }
  void put_u32(std::uint16_t type, std::uint32_t value) { mnl_attr_put_u32(nlh_, type, value); }
  NetlinkMessage message() && {
    bytes_.resize(nlh_->nlmsg_len);
    return std::move(bytes_);
  }

 private:
  NetlinkMessage bytes_;
  nlmsghdr* nlh_ = nullptr;
};

std::uint8_t family_of(const IpAddress& address) {
  return address.is_v4() ? AF_INET : AF_INET6;
}

// A message copied into aligned storage with its header and family header checked, and its
// attributes indexed by type (types above `max_type` are skipped: newer kernels add some).
class ParsedMessage {
 public:
  static Result<ParsedMessage> parse(std::span<const std::byte> bytes, std::uint16_t type,
                                     std::size_t family_header_size, std::uint16_t max_type,
                                     const char* what) {
    ParsedMessage m;
    if (bytes.size() < sizeof(nlmsghdr)) {
      return fail(Errc::malformed, std::string(what) + ": shorter than a netlink header");
    }
    m.bytes_.assign(bytes.begin(), bytes.end());
    const nlmsghdr* nlh = m.header();
    if (nlh->nlmsg_len < mnl_nlmsg_size(family_header_size) || nlh->nlmsg_len > bytes.size()) {
      return fail(Errc::malformed, std::string(what) + ": length " +
                                       std::to_string(nlh->nlmsg_len) + " does not fit " +
                                       std::to_string(bytes.size()) + " bytes");
    }
    if (nlh->nlmsg_type != type) {
      return fail(Errc::malformed, std::string(what) + ": unexpected message type " +
                                       std::to_string(nlh->nlmsg_type));
    }
    m.attributes_.assign(std::size_t{max_type} + 1, nullptr);
    // libmnl's own walk (mnl_attr_parse) stops quietly at an attribute that overruns the
    // message; walk by hand so that such a message is refused instead of read half.
    const auto* first =
        static_cast<const std::byte*>(mnl_nlmsg_get_payload_offset(nlh, family_header_size));
    const auto* tail = static_cast<const std::byte*>(mnl_nlmsg_get_payload_tail(nlh));
    int left = static_cast<int>(tail - first);
    for (const auto* attr = static_cast<const nlattr*>(static_cast<const void*>(first));
         mnl_attr_ok(attr, left); attr = mnl_attr_next(attr)) {
      const std::uint16_t attr_type = mnl_attr_get_type(attr);
      if (attr_type < m.attributes_.size()) {
        m.attributes_[attr_type] = attr;
      }
      left -= static_cast<int>(MNL_ALIGN(attr->nla_len));
    }
    if (left > 0) {
      return fail(Errc::malformed, std::string(what) + ": an attribute overruns the message");
    }
    return m;
  }

  [[nodiscard]] const nlmsghdr* header() const {
    // The vector's storage is aligned for nlmsghdr; libmnl walks the message in place.
    return static_cast<const nlmsghdr*>(static_cast<const void*>(bytes_.data()));
  }
  template <typename T>
  [[nodiscard]] T family_header() const {
    T out{};
    std::memcpy(&out, mnl_nlmsg_get_payload(header()), sizeof(T));
    return out;
  }
  [[nodiscard]] const nlattr* attribute(std::uint16_t type) const {
    return type < attributes_.size() ? attributes_[type] : nullptr;
  }

 private:
  NetlinkMessage bytes_;
  std::vector<const nlattr*> attributes_;
};

// An address attribute of `family`'s size (4 or 16 bytes).
Result<IpAddress> address_from(const nlattr* attr, std::uint8_t family, const char* what) {
  const std::uint16_t length = mnl_attr_get_payload_len(attr);
  const auto* payload = static_cast<const std::uint8_t*>(mnl_attr_get_payload(attr));
  if (family == AF_INET && length == 4) {
    return IpAddress::v4(
        std::array<std::uint8_t, 4>{payload[0], payload[1], payload[2], payload[3]});
  }
  if (family == AF_INET6 && length == 16) {
    IpAddress::Bytes16 b{};
    std::memcpy(b.data(), payload, b.size());
    return IpAddress::v6(b);
  }
  return fail(Errc::malformed, std::string(what) + ": a " + std::to_string(length) +
                                   "-byte address in family " + std::to_string(family));
}

}  // namespace

bool NeighbourAnswer::usable() const {
  constexpr std::uint16_t kUsable =
      NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;
  return (state & kUsable) != 0 && mac.has_value() && !mac->is_zero();
}

NetlinkMessage route_get_request(const IpAddress& destination, unsigned oif) {
  RequestBuilder b(RTM_GETROUTE, 0);
  auto* rtm = b.family_header<rtmsg>();
  rtm->rtm_family = family_of(destination);
  rtm->rtm_dst_len = destination.is_v4() ? 32 : 128;
  rtm->rtm_flags = RTM_F_LOOKUP_TABLE;
  b.put_address(RTA_DST, destination);
  b.put_u32(RTA_OIF, oif);
  return std::move(b).message();
}

NetlinkMessage neighbour_get_request(const IpAddress& address, unsigned ifindex) {
  RequestBuilder b(RTM_GETNEIGH, 0);
  auto* ndm = b.family_header<ndmsg>();
  ndm->ndm_family = family_of(address);
  ndm->ndm_ifindex = static_cast<int>(ifindex);
  b.put_address(NDA_DST, address);
  return std::move(b).message();
}

NetlinkMessage neighbour_use_request(const IpAddress& address, unsigned ifindex) {
  RequestBuilder b(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
  auto* ndm = b.family_header<ndmsg>();
  ndm->ndm_family = family_of(address);
  ndm->ndm_ifindex = static_cast<int>(ifindex);
  // With NTF_USE the kernel only starts resolution; the state here does not become the entry's.
  ndm->ndm_state = NUD_NONE;
  ndm->ndm_flags = NTF_USE;
  b.put_address(NDA_DST, address);
  return std::move(b).message();
}

NetlinkMessage address_dump_request() {
  RequestBuilder b(RTM_GETADDR, NLM_F_DUMP);
  auto* ifa = b.family_header<ifaddrmsg>();
  ifa->ifa_family = AF_UNSPEC;
  return std::move(b).message();
}

Result<RouteAnswer> parse_route(std::span<const std::byte> message) {
  EP_TRY(auto m, ParsedMessage::parse(message, RTM_NEWROUTE, sizeof(rtmsg), RTA_MAX, "route"));
  const auto rtm = m.family_header<rtmsg>();
  RouteAnswer out;
  out.type = rtm.rtm_type;
  out.table = rtm.rtm_table;
  if (const nlattr* a = m.attribute(RTA_TABLE); a != nullptr) {
    if (mnl_attr_validate(a, MNL_TYPE_U32) != 0) {
      return fail(Errc::malformed, "route: RTA_TABLE is not 4 bytes");
    }
    out.table = mnl_attr_get_u32(a);
  }
  if (const nlattr* a = m.attribute(RTA_OIF); a != nullptr) {
    if (mnl_attr_validate(a, MNL_TYPE_U32) != 0) {
      return fail(Errc::malformed, "route: RTA_OIF is not 4 bytes");
    }
    out.oif = mnl_attr_get_u32(a);
  }
  if (const nlattr* a = m.attribute(RTA_GATEWAY); a != nullptr) {
    EP_TRY(out.gateway, address_from(a, rtm.rtm_family, "route gateway"));
  } else if (const nlattr* via = m.attribute(RTA_VIA); via != nullptr) {
    // struct rtvia: a 2-byte address family, then the address.
    const std::uint16_t length = mnl_attr_get_payload_len(via);
    if (length < sizeof(std::uint16_t)) {
      return fail(Errc::malformed, "route: RTA_VIA shorter than its family");
    }
    const auto* payload = static_cast<const std::byte*>(mnl_attr_get_payload(via));
    std::uint16_t family = 0;
    std::memcpy(&family, payload, sizeof(family));
    const std::size_t address_length = length - sizeof(family);
    if (!((family == AF_INET && address_length == 4) ||
          (family == AF_INET6 && address_length == 16))) {
      return fail(Errc::malformed, "route: RTA_VIA with family " + std::to_string(family) +
                                       " and " + std::to_string(address_length) + " bytes");
    }
    IpAddress::Bytes16 b{};
    std::memcpy(b.data(), payload + sizeof(family), address_length);
    out.gateway = family == AF_INET
                      ? IpAddress::v4(std::array<std::uint8_t, 4>{b[0], b[1], b[2], b[3]})
                      : IpAddress::v6(b);
  }
  return out;
}

Result<NeighbourAnswer> parse_neighbour(std::span<const std::byte> message) {
  EP_TRY(auto m, ParsedMessage::parse(message, RTM_NEWNEIGH, sizeof(ndmsg), NDA_MAX, "neighbour"));
  const auto ndm = m.family_header<ndmsg>();
  NeighbourAnswer out;
  out.ifindex = static_cast<unsigned>(ndm.ndm_ifindex);
  out.state = ndm.ndm_state;
  const nlattr* dst = m.attribute(NDA_DST);
  if (dst == nullptr) {
    return fail(Errc::malformed, "neighbour: no NDA_DST");
  }
  EP_TRY(out.address, address_from(dst, ndm.ndm_family, "neighbour"));
  if (const nlattr* ll = m.attribute(NDA_LLADDR); ll != nullptr) {
    // Only Ethernet-sized link-layer addresses are MACs; others (e.g. a tunnel's) are left out.
    if (mnl_attr_get_payload_len(ll) == MacAddress::kSize) {
      MacAddress::Octets o{};
      std::memcpy(o.data(), mnl_attr_get_payload(ll), o.size());
      out.mac = MacAddress(o);
    }
  }
  return out;
}

Result<AddressAnswer> parse_address(std::span<const std::byte> message) {
  EP_TRY(auto m, ParsedMessage::parse(message, RTM_NEWADDR, sizeof(ifaddrmsg), IFA_MAX, "address"));
  const auto ifa = m.family_header<ifaddrmsg>();
  AddressAnswer out;
  out.ifindex = ifa.ifa_index;
  out.prefix_length = ifa.ifa_prefixlen;
  const nlattr* a = m.attribute(IFA_LOCAL);
  if (a == nullptr) {
    a = m.attribute(IFA_ADDRESS);
  }
  if (a == nullptr) {
    return fail(Errc::malformed, "address: neither IFA_LOCAL nor IFA_ADDRESS");
  }
  EP_TRY(out.address, address_from(a, ifa.ifa_family, "address"));
  return out;
}

std::string neighbour_state_name(std::uint16_t state) {
  static constexpr std::array<std::pair<std::uint16_t, const char*>, 8> kNames{{
      {NUD_INCOMPLETE, "INCOMPLETE"},
      {NUD_REACHABLE, "REACHABLE"},
      {NUD_STALE, "STALE"},
      {NUD_DELAY, "DELAY"},
      {NUD_PROBE, "PROBE"},
      {NUD_FAILED, "FAILED"},
      {NUD_NOARP, "NOARP"},
      {NUD_PERMANENT, "PERMANENT"},
  }};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((state & bit) != 0) {
      out += out.empty() ? name : std::string("|") + name;
    }
  }
  return out.empty() ? "NONE" : out;
}

}  // namespace etherpath::datapath::netlink
