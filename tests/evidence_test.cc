// The incident pcap: readable by libpcap, and never larger than its cap however long the
// flood (a real file in a temporary directory).
#include "evidence.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

namespace floodgate {
namespace {

uint64_t count_packets(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (!p) return 0;
  pcap_pkthdr* h;
  const u_char* d;
  uint64_t n = 0;
  while (pcap_next_ex(p, &h, &d) == 1) n++;
  pcap_close(p);
  return n;
}

fg_sample sample(uint32_t len) {
  fg_sample s{};
  s.pkt_len = len;
  s.cap_len = len < FG_SAMPLE_BYTES ? len : FG_SAMPLE_BYTES;
  std::memset(s.data, 0xab, sizeof(s.data));
  return s;
}

TEST(Evidence, ThePcapNeverGrowsPastItsCapAndStaysReadable) {
  char tmpl[] = "/tmp/fgev-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/incident-1.pcap";
  constexpr uint64_t kCap = 64 * 1024;
  {
    PcapWriter w;
    ASSERT_TRUE(w.open(path, kCap).ok());
    for (int i = 0; i < 2000; i++) w.write(sample(1500));  // 144 bytes a record
    EXPECT_EQ(w.packets(), (kCap - 24) / 144);
    EXPECT_EQ(w.skipped(), 2000 - w.packets());
  }
  EXPECT_LE(std::filesystem::file_size(path), kCap);
  EXPECT_EQ(count_packets(path), (kCap - 24) / 144);
  // A restarted daemon appends, and the cap counts what is already there.
  {
    PcapWriter w;
    ASSERT_TRUE(w.open(path, kCap).ok());
    w.write(sample(1500));  // 136 bytes are left
    EXPECT_EQ(w.packets(), 0u);
    EXPECT_EQ(w.skipped(), 1u);
  }
  {
    PcapWriter w;
    ASSERT_TRUE(w.open(path, 2 * kCap).ok());
    for (int i = 0; i < 10; i++) w.write(sample(60));
    EXPECT_EQ(w.packets(), 10u);
  }
  EXPECT_EQ(count_packets(path), (kCap - 24) / 144 + 10);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace floodgate
