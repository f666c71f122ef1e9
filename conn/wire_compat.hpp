// wire_compat: reads ParsedFrame's decoded layers whether they are fields or accessors, while
// conn/wire moves from the one to the other (the conn layer then builds against either).
#pragma once

#include "conn/wire/parsed_frame.hpp"

namespace etherpath::conn::wire_compat {

template <typename F>
auto arp(const F& f) {
  if constexpr (requires { f.arp(); }) {
    return f.arp();
  } else {
    return f.arp;
  }
}
template <typename F>
auto ndp(const F& f) {
  if constexpr (requires { f.ndp(); }) {
    return f.ndp();
  } else {
    return f.ndp;
  }
}
template <typename F>
IpAddress ip_src(const F& f) {
  if constexpr (requires { f.ip_src(); }) {
    return f.ip_src();
  } else {
    return f.ip_src;
  }
}
template <typename F>
IpAddress ip_dst(const F& f) {
  if constexpr (requires { f.ip_dst(); }) {
    return f.ip_dst();
  } else {
    return f.ip_dst;
  }
}

}  // namespace etherpath::conn::wire_compat
