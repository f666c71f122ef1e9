// PingReport against lines iputils 20221126 printed on this machine: header, reply, no-timing and
// summary forms, the time rounding bands, %g loss, duplicates, errors and pipe.
#include "tools/etherpath-ping/ping_report.hpp"

#include <gtest/gtest.h>

namespace etherpath::ping {
namespace {

using namespace std::chrono_literals;

EchoEvent reply_from(const char* from, std::uint16_t seq, std::size_t bytes = 64, int ttl = 64) {
  EchoEvent e;
  e.from = IpAddress::parse(from).value();
  e.sequence = seq;
  e.icmp_bytes = bytes;
  e.ttl = ttl;
  return e;
}

PingTarget target(const char* host, const char* address, bool numeric = true) {
  return PingTarget{host, IpAddress::parse(address).value(), numeric};
}

TEST(PingReport, HeadersAsIputils) {
  EXPECT_EQ(PingReport(target("127.0.0.1", "127.0.0.1"), 56, true).header(),
            "PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n");
  EXPECT_EQ(PingReport(target("::1", "::1"), 56, true).header(), "PING ::1(::1) 56 data bytes\n");
  EXPECT_EQ(PingReport(target("localhost", "127.0.0.1", false), 100, true).header(),
            "PING localhost (127.0.0.1) 100(128) bytes of data.\n");
  EXPECT_EQ(PingReport(target("10.0.0.1", "10.0.0.1"), 56, true, "10.0.0.2 eth1").header(),
            "PING 10.0.0.1 (10.0.0.1) from 10.0.0.2 eth1: 56(84) bytes of data.\n");
  EXPECT_EQ(PingReport(target("2001:db8::1", "2001:db8::1"), 56, true, "2001:db8::2 eth1").header(),
            "PING 2001:db8::1(2001:db8::1) from 2001:db8::2 eth1: 56 data bytes\n");
}

TEST(PingReport, ReplyLinesAndTimeBands) {
  PingReport r(target("127.0.0.1", "127.0.0.1"), 56, true);
  EXPECT_EQ(r.reply(reply_from("127.0.0.1", 1), 45us, false),
            "64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms\n");
  EXPECT_EQ(format_time(999), " time=0.999 ms");
  EXPECT_EQ(format_time(1234), " time=1.23 ms");
  EXPECT_EQ(format_time(9994), " time=9.99 ms");
  EXPECT_EQ(format_time(9995), " time=10.0 ms");
  EXPECT_EQ(format_time(12345), " time=12.3 ms");
  EXPECT_EQ(format_time(99950), " time=100 ms");
  EXPECT_EQ(format_time(123456), " time=123 ms");
  EXPECT_EQ(r.reply(reply_from("127.0.0.1", 1), 50us, true),
            "64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.050 ms (DUP!)\n");
  EXPECT_EQ(r.reply(reply_from("127.0.0.1", 2, 30), 50us, false),
            "30 bytes from 127.0.0.1: icmp_seq=2 ttl=64 (truncated)\n");
}

TEST(PingReport, NamesForANamedTarget) {
  PingReport r(target("localhost", "127.0.0.1", false), 100, true, {},
               [](const IpAddress&) { return std::string("localhost"); });
  EXPECT_EQ(r.reply(reply_from("127.0.0.1", 1, 108), 28us, false),
            "108 bytes from localhost (127.0.0.1): icmp_seq=1 ttl=64 time=0.028 ms\n");
}

TEST(PingReport, SummaryAsIputils) {
  PingReport r(target("127.0.0.1", "127.0.0.1"), 56, true);
  r.transmitted();
  (void)r.reply(reply_from("127.0.0.1", 1), 45us, false);
  r.transmitted();
  (void)r.reply(reply_from("127.0.0.1", 2), 49us, false);
  r.transmitted();
  (void)r.reply(reply_from("127.0.0.1", 3), 50us, false);
  EXPECT_EQ(r.summary(408ms),
            "\n--- 127.0.0.1 ping statistics ---\n"
            "3 packets transmitted, 3 received, 0% packet loss, time 408ms\n"
            "rtt min/avg/max/mdev = 0.045/0.048/0.050/0.002 ms\n");
}

TEST(PingReport, LossDuplicatesErrorsPipe) {
  PingReport r(target("10.0.0.1", "10.0.0.1"), 56, true);
  for (int i = 0; i < 3; ++i) {
    r.transmitted();
  }
  (void)r.reply(reply_from("10.0.0.1", 1), 1000us, false);
  (void)r.reply(reply_from("10.0.0.1", 1), 3000us, true);
  EchoEvent err;
  err.kind = EchoEvent::Kind::error;
  err.from = IpAddress::parse("10.0.0.2").value();
  err.sequence = 2;
  err.error = icmp_error_text(false, 3, 1);
  EXPECT_EQ(r.error(err), "From 10.0.0.2 icmp_seq=2 Destination Host Unreachable\n");
  // 1 of 3 answered: iputils prints 66.6667 (float, %g); the duplicate counts in the times.
  EXPECT_EQ(r.summary(2030ms),
            "\n--- 10.0.0.1 ping statistics ---\n"
            "3 packets transmitted, 1 received, +1 duplicates, +1 errors, 66.6667% packet loss, "
            "time 2030ms\n"
            "rtt min/avg/max/mdev = 1.000/2.000/3.000/1.000 ms, pipe 3\n");
}

TEST(PingReport, NoTimingNoReplies) {
  PingReport small(target("127.0.0.1", "127.0.0.1"), 4, false);
  small.transmitted();
  EXPECT_EQ(small.reply(reply_from("127.0.0.1", 1, 12), 40us, false),
            "12 bytes from 127.0.0.1: icmp_seq=1 ttl=64\n");
  EXPECT_EQ(small.summary(0ms),
            "\n--- 127.0.0.1 ping statistics ---\n"
            "1 packets transmitted, 1 received, 0% packet loss, time 0ms\n\n");
  PingReport none(target("127.0.0.1", "127.0.0.1"), 56, true);
  none.transmitted();
  none.transmitted();
  EXPECT_EQ(none.summary(331ms),
            "\n--- 127.0.0.1 ping statistics ---\n"
            "2 packets transmitted, 0 received, 100% packet loss, time 331ms\n\n");
}

TEST(PingReport, Icmpv6ErrorTexts) {
  EXPECT_EQ(icmp_error_text(true, 1, 3), "Destination unreachable: Address unreachable");
  EXPECT_EQ(icmp_error_text(true, 3, 0), "Time exceeded: Hop limit");
  EXPECT_EQ(icmp_error_text(false, 11, 0), "Time to live exceeded");
}

}  // namespace
}  // namespace etherpath::ping
