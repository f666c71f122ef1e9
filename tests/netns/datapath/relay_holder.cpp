// ep_relay_holder IFNAME: opens a PacketRelay (AF_XDP + steering program) on IFNAME, prints
// "ready" and waits up to 30 s. The stale-program test kills it with SIGKILL.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "datapath/packet_relay.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: ep_relay_holder IFNAME\n";
    return 2;
  }
  etherpath::datapath::RelayOptions o;
  o.frames_per_queue = 1024;
  auto relay = etherpath::datapath::PacketRelay::open(argv[1], o);
  if (!relay) {
    std::cerr << relay.error() << '\n';
    return 1;
  }
  std::cout << "ready " << (*relay)->mode() << std::endl;
  std::this_thread::sleep_for(std::chrono::seconds(30));
  return 0;
}
