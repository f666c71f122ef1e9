// A process that attaches etherpath's steering program and holds it until SIGTERM/SIGINT, for the
// tests that need another owner (a live one, or one killed with SIGKILL that leaves it stale).
//   steer_attach_helper IFNAME [--generic] [--once] [--libxdp-debug]
// Prints "attached: <report>" once attached. --once detaches and exits at once; --libxdp-debug
// prints every libxdp message (it shows why the dispatcher is refused).
#include <xdp/libxdp.h>

#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <string_view>

#include "bpf/steering_program.hpp"

namespace {

__attribute__((format(printf, 2, 0))) int print_all(enum libxdp_print_level /*level*/,
                                                    const char* format, va_list args) {
  std::vfprintf(stderr, format, args);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace etherpath;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s IFNAME [--generic] [--once] [--libxdp-debug]\n", argv[0]);
    return 2;
  }
  bpf::SteeringOptions options;
  bool once = false;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg == "--generic") {
      options.mode = bpf::XdpMode::generic;
    } else if (arg == "--once") {
      once = true;
    } else if (arg == "--libxdp-debug") {
      bpf::install_library_printers();
      libxdp_set_print(print_all);
    }
  }
  // Block the signals before attaching so that they end the wait below, and the destructor
  // detaches.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto program = bpf::SteeringProgram::attach(argv[1], options);
  if (!program) {
    std::fprintf(stderr, "error: %s\n", program.error().message().c_str());
    return 1;
  }
  std::printf("attached: %s\n", program->describe_attach().c_str());
  std::fflush(stdout);
  if (!once) {
    int sig = 0;
    sigwait(&set, &sig);
  }
  return 0;
}
