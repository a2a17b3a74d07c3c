// pcap evidence with libpcap's dumper on a "dead" Ethernet handle.
#include "evidence.h"

#include <pcap/pcap.h>
#include <time.h>

#include <algorithm>
#include <filesystem>

namespace floodgate {
namespace {

constexpr uint64_t kFileHeaderBytes = 24;    // pcap's global header
constexpr uint64_t kRecordHeaderBytes = 16;  // per packet, before its bytes

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

Status PcapWriter::open(const std::string& path, uint64_t max_bytes) {
  close();
  std::lock_guard lock(mu_);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  mono_to_real_ns_ = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
  pcap_ = pcap_open_dead(DLT_EN10MB, 65535);
  if (!pcap_) return internal_error("pcap_open_dead failed");
  dumper_ = std::filesystem::exists(path) ? pcap_dump_open_append(pcap_, path.c_str())
                                          : pcap_dump_open(pcap_, path.c_str());
  if (!dumper_) {
    std::string err = pcap_geterr(pcap_);
    pcap_close(pcap_);
    pcap_ = nullptr;
    return failed_precondition("cannot write " + path + ": " + err +
                               " (check incidents.evidence_dir)");
  }
  packets_ = skipped_ = in_second_ = 0;
  second_ = -1;
  full_ = false;
  max_bytes_ = max_bytes;
  thin_per_s_ = std::max<uint64_t>(
      1, max_bytes / 2 / (kRecordHeaderBytes + FG_SAMPLE_BYTES) / kSpreadSeconds);
  pcap_dump_flush(dumper_);
  bytes_ = std::filesystem::file_size(path, ec);
  if (ec) bytes_ = kFileHeaderBytes;
  return Ok{};
}

void PcapWriter::write(const fg_sample& s) {
  std::lock_guard lock(mu_);
  if (!dumper_) return;
  const int64_t real = static_cast<int64_t>(s.ts_ns) + mono_to_real_ns_;
  pcap_pkthdr h{};
  h.ts.tv_sec = real / 1'000'000'000;
  h.ts.tv_usec = (real % 1'000'000'000) / 1000;
  h.caplen = std::min<uint32_t>(s.cap_len, FG_SAMPLE_BYTES);
  h.len = std::max(s.pkt_len, h.caplen);
  const uint64_t size = kRecordHeaderBytes + h.caplen;
  if (bytes_ >= max_bytes_ / 2) {
    const auto second = static_cast<int64_t>(s.ts_ns / 1'000'000'000);
    if (second != second_) {
      second_ = second;
      in_second_ = 0;
    }
    if (in_second_ >= thin_per_s_) {
      skipped_++;
      return;
    }
  }
  full_ = bytes_ + size > max_bytes_;
  if (full_) {
    skipped_++;
    return;
  }
  in_second_++;
  bytes_ += size;
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, s.data);
  if (++packets_ % 64 == 0) pcap_dump_flush(dumper_);
}

void PcapWriter::close() {
  std::lock_guard lock(mu_);
  if (dumper_) pcap_dump_close(dumper_);
  if (pcap_) pcap_close(pcap_);
  dumper_ = nullptr;
  pcap_ = nullptr;
}

bool PcapWriter::thinning() const {
  std::lock_guard lock(mu_);
  return max_bytes_ && bytes_ >= max_bytes_ / 2;
}

bool PcapWriter::full() const {
  std::lock_guard lock(mu_);
  return full_;
}

uint64_t PcapWriter::thin_per_second() const {
  std::lock_guard lock(mu_);
  return thin_per_s_;
}

uint64_t PcapWriter::skipped() const {
  std::lock_guard lock(mu_);
  return skipped_;
}

uint64_t PcapWriter::packets() const {
  std::lock_guard lock(mu_);
  if (dumper_) pcap_dump_flush(dumper_);
  return packets_;
}

}  // namespace floodgate
