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

  // How long a flood the second half of the file is spread over (see write()).
  static constexpr int64_t kSpreadSeconds = 24 * 3600;

  // Appends to an existing file (a restarted daemon keeps what was captured). The file
  // never grows past max_bytes: a long flood must not fill the disk the store is on.
  Status open(const std::string& path, uint64_t max_bytes);
  // Thread-safe; a no-op while closed. Timestamps: the sample's CLOCK_MONOTONIC converted
  // to wall-clock time. Every sample is written until the file holds half of max_bytes;
  // after that at most thin_per_second() a second (by the samples' clock), so that the
  // rest lasts through kSpreadSeconds of flood and the evidence covers the whole attack,
  // not its first seconds. A sample not written (thinned, or past max_bytes) is counted
  // in skipped().
  void write(const fg_sample& s);
  void close();
  uint64_t packets() const;
  uint64_t skipped() const;
  bool thinning() const;  // the file holds half of max_bytes or more
  bool full() const;      // the last sample offered did not fit
  uint64_t thin_per_second() const;

 private:
  mutable std::mutex mu_;
  pcap* pcap_ = nullptr;
  pcap_dumper* dumper_ = nullptr;
  uint64_t packets_ = 0;
  uint64_t skipped_ = 0;
  uint64_t bytes_ = 0;  // the file's size
  uint64_t max_bytes_ = 0;
  uint64_t thin_per_s_ = 1;
  int64_t second_ = -1;     // the second (samples' clock) in_second_ counts
  uint64_t in_second_ = 0;  // written in that second while thinning
  bool full_ = false;
  int64_t mono_to_real_ns_ = 0;
};

}  // namespace floodgate
