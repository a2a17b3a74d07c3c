// Evidence files: the sampled packets of an incident as a pcap (libpcap) that Wireshark
// and tcpdump open. Kept apart because <pcap.h> and libbpf both define struct bpf_insn.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "floodgate.h"
#include "result.h"

struct pcap;
struct pcap_dumper;

namespace floodgate {

class PcapWriter {
 public:
  PcapWriter() = default;
  ~PcapWriter() { close(); }
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Appends to an existing file (a restarted daemon keeps what was captured). The file
  // never grows past max_bytes: a long flood must not fill the disk the store is on.
  Status open(const std::string& path, uint64_t max_bytes);
  // Thread-safe; a no-op while closed. Timestamps: the sample's CLOCK_MONOTONIC converted
  // to wall-clock time. A sample that would take the file past max_bytes is counted in
  // skipped() instead.
  void write(const fg_sample& s);
  void close();
  uint64_t packets() const;
  uint64_t skipped() const;

 private:
  mutable std::mutex mu_;
  pcap* pcap_ = nullptr;
  pcap_dumper* dumper_ = nullptr;
  uint64_t packets_ = 0;
  uint64_t skipped_ = 0;
  uint64_t bytes_ = 0;  // the file's size
  uint64_t max_bytes_ = 0;
  int64_t mono_to_real_ns_ = 0;
};

}  // namespace floodgate
