// LinkState: SIOCGIFNAME by index (gone?) and SIOCGIFFLAGS (up?).
#include "datapath/link_state.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace etherpath::datapath {

Result<LinkState> LinkState::open(const std::string& ifname) {
  LinkState s;
  s.ifname_ = ifname;
  s.ifindex_ = ::if_nametoindex(ifname.c_str());
  if (s.ifindex_ == 0) {
    return fail(Errc::not_found, ifname + ": no such interface");
  }
  s.fd_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.fd_) {
    return fail_errno("socket for interface flags");
  }
  return s;
}

Status LinkState::check() const {
  ifreq ifr{};
  ifr.ifr_ifindex = static_cast<int>(ifindex_);
  if (::ioctl(fd_.get(), SIOCGIFNAME, &ifr) != 0) {
    return fail(Errc::closed, ifname_ + ": the interface went away");
  }
  if (::ioctl(fd_.get(), SIOCGIFFLAGS, &ifr) != 0) {
    return fail_errno(ifname_ + ": reading interface flags");
  }
  if ((static_cast<unsigned>(ifr.ifr_flags) & IFF_UP) == 0) {
    return fail(Errc::closed, ifname_ + ": the interface is down");
  }
  return ok();
}

}  // namespace etherpath::datapath
