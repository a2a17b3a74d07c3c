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

fg_sample sample(uint32_t len, uint64_t second = 0) {
  fg_sample s{};
  s.ts_ns = second * 1'000'000'000ull;
  s.pkt_len = len;
  s.cap_len = len < FG_SAMPLE_BYTES ? len : FG_SAMPLE_BYTES;
  std::memset(s.data, 0xab, sizeof(s.data));
  return s;
}

// Seconds from the file's first packet to its last.
int64_t seconds_covered(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (!p) return -1;
  pcap_pkthdr* h;
  const u_char* d;
  int64_t first = -1, last = -1;
  while (pcap_next_ex(p, &h, &d) == 1) {
    if (first < 0) first = h->ts.tv_sec;
    last = h->ts.tv_sec;
  }
  pcap_close(p);
  return last - first;
}

constexpr uint64_t kRecord = 16 + FG_SAMPLE_BYTES;  // a full-size sample's bytes in the file

TEST(Evidence, ThePcapNeverGrowsPastItsCapAndStaysReadable) {
  char tmpl[] = "/tmp/fgev-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/incident-1.pcap";
  constexpr uint64_t kCap = 64 * 1024;
  constexpr uint64_t kFits = (kCap - 24) / kRecord;                    // 454 records
  constexpr uint64_t kHalf = (kCap / 2 - 24 + kRecord - 1) / kRecord;  // after 228, half
  {
    PcapWriter w;
    ASSERT_TRUE(w.open(path, kCap).ok());
    ASSERT_EQ(w.thin_per_second(), 1u);  // a small cap spread over a day: 1 a second
    // A burst within one second: everything up to half the cap, then one.
    for (int i = 0; i < 2000; i++) w.write(sample(1500));
    EXPECT_EQ(w.packets(), kHalf + 1);
    EXPECT_EQ(w.skipped(), 2000 - w.packets());
    EXPECT_TRUE(w.thinning());
    EXPECT_FALSE(w.full());
    // Then three a second for longer than the rest lasts: one a second, until full.
    for (uint64_t sec = 1; sec <= 2 * kFits; sec++)
      for (int i = 0; i < 3; i++) w.write(sample(1500, sec));
    EXPECT_TRUE(w.full());
    EXPECT_EQ(w.packets(), kFits);
  }
  EXPECT_LE(std::filesystem::file_size(path), kCap);
  EXPECT_EQ(count_packets(path), kFits);
  // The file reaches into the flood's later seconds: one a second after the burst.
  EXPECT_EQ(seconds_covered(path), static_cast<int64_t>(kFits - kHalf - 1));
  // A restarted daemon appends, and the cap counts what is already there.
  {
    PcapWriter w;
    ASSERT_TRUE(w.open(path, kCap).ok());
    EXPECT_TRUE(w.thinning());
    w.write(sample(1500, 10'000));  // 136 bytes are left
    EXPECT_EQ(w.packets(), 0u);
    EXPECT_EQ(w.skipped(), 1u);
  }
  {
    PcapWriter w;
    ASSERT_TRUE(w.open(path, 4 * kCap).ok());  // under half of the new cap
    EXPECT_FALSE(w.thinning());
    for (int i = 0; i < 10; i++) w.write(sample(60));
    EXPECT_EQ(w.packets(), 10u);
  }
  EXPECT_EQ(count_packets(path), kFits + 10);
  std::filesystem::remove_all(dir);
}

// At the default cap (256 MB) the second half lasts a day of flood at ten samples a second.
TEST(Evidence, TheDefaultCapSpreadsItsSecondHalfOverADay) {
  char tmpl[] = "/tmp/fgev-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  PcapWriter w;
  ASSERT_TRUE(w.open(dir + "/incident-1.pcap", 256ull << 20).ok());
  EXPECT_EQ(w.thin_per_second(), (128ull << 20) / kRecord / PcapWriter::kSpreadSeconds);
  EXPECT_EQ(w.thin_per_second(), 10u);
  w.close();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace floodgate
