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

  // Appends to an existing file (a restarted daemon keeps what was captured).
  Status open(const std::string& path);
  // Thread-safe; a no-op while closed. Timestamps: the sample's CLOCK_MONOTONIC converted
  // to wall-clock time.
  void write(const fg_sample& s);
  void close();
  uint64_t packets() const;

 private:
  mutable std::mutex mu_;
  pcap* pcap_ = nullptr;
  pcap_dumper* dumper_ = nullptr;
  uint64_t packets_ = 0;
  int64_t mono_to_real_ns_ = 0;
};

}  // namespace floodgate
