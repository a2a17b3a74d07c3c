#!/usr/bin/env bash
# The flood lab: an attacker, a legitimate client and the edge server running floodgated,
# each in its own network namespace on one bridge; one flood profile (trafgen), bounded
# in time and rate, while the client makes TCP request/response exchanges with a server on
# the edge and reports success and latency each second. Everything is torn down on exit,
# also on Ctrl-C. Traffic never leaves the lab's namespaces.
#
#   scripts/lab.sh list
#   scripts/lab.sh PROFILE [--seconds N] [--pps N] [--mode enforce|monitor|off]
#
# --mode off runs the same flood with no filter at all: the harm, for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build

PROFILES="syn-spoofed syn-heavy udp dns-ntp-reflection icmp fragments ipv6-syn vlan-syn"
usage() {
  echo "usage: scripts/lab.sh PROFILE [--seconds N] [--pps N] [--mode enforce|monitor|off]"
  echo "profiles: $PROFILES"
}
[ $# -ge 1 ] || { usage >&2; exit 2; }
[ "$1" = list ] && { echo "$PROFILES" | tr ' ' '\n'; exit 0; }
[ "$1" = -h ] || [ "$1" = --help ] && { usage; exit 0; }
PROFILE=$1
shift
SECS=8 PPS=20000 MODE=enforce
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) SECS=$2; shift 2 ;;
    --pps) PPS=$2; shift 2 ;;
    --mode) MODE=$2; shift 2 ;;
    *) usage >&2; exit 2 ;;
  esac
done
case " $PROFILES " in *" $PROFILE "*) ;; *) echo "unknown profile $PROFILE" >&2; usage >&2; exit 2 ;; esac
case $MODE in enforce | monitor | off) ;; *) echo "--mode is enforce, monitor or off" >&2; exit 2 ;; esac
if [ "$(id -u)" -ne 0 ]; then
  echo "lab.sh: run as root (namespaces, XDP)" >&2
  exit 1
fi
[ -x "$B/controller/floodgated" ] && [ -x "$B/tests/fglab" ] || scripts/build.sh >/dev/null
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

P=fglab$$
ATK=$P-atk CLI=$P-cli EDGE=$P-edge NET=$P-net
dir=$(mktemp -d /tmp/fglab-XXXXXX)
pins=/sys/fs/bpf/fglab-$$
cleanup() {
  set +e
  if [ -f "$dir/floodgate.toml" ]; then
    nsenter --net=/run/netns/$EDGE "$B/controller/floodgated" -c "$dir/floodgate.toml" --unload \
      >/dev/null 2>&1
  fi
  for ns in $ATK $CLI $EDGE $NET; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$dir" "$pins"
}
trap cleanup EXIT INT TERM

for ns in $NET $ATK $CLI $EDGE; do ip netns add "$ns"; done
ip -n $NET link add br0 type bridge
ip -n $NET link set br0 up
for spec in "$ATK atk0 198.18.0.1 2001:db8:18::1" "$CLI cli0 198.18.0.2 2001:db8:18::2" \
  "$EDGE edge0 198.18.0.254 2001:db8:18::fe"; do
  set -- $spec
  ip link add "$2" netns "$1" type veth peer name "p-$2" netns $NET
  ip -n $NET link set "p-$2" master br0 up
  ip -n "$1" addr add "$3/24" dev "$2"
  ip -n "$1" addr add "$4/64" dev "$2" nodad
  ip -n "$1" link set "$2" up
  ip -n "$1" link set lo up
done
edge_mac=$(ip -n $EDGE -br link show edge0 | awk '{print $3}')
atk_mac=$(ip -n $ATK -br link show atk0 | awk '{print $3}')

if [ "$MODE" != off ]; then
  cat >"$dir/floodgate.toml" <<TOML
[daemon]
interfaces = ["edge0"]
socket = "$dir/floodgate.sock"
state_db = "$dir/state.db"
pin_dir = "$pins"
[metrics]
listen = ""
[maps]
block_entries = 65536
source_entries = 65536
[datapath]
mode = "$MODE"
later_fragments = "drop"
syn = { rate = 20, burst = 40 }
icmp = { rate = 20, burst = 40 }
protected_syn = { rate = 20, burst = 40 }
[network]
protected = ["198.18.0.254/32", "2001:db8:18::fe/128"]
[policy]
udp = { default = "drop" }
[incidents]
auto_open = false
TOML
  nsenter --net=/run/netns/$EDGE "$B/controller/floodgated" -c "$dir/floodgate.toml" \
    >"$dir/floodgated.log" 2>&1 &
  disown  # stopped by cleanup, without a "Killed" line
  for _ in $(seq 100); do [ -S "$dir/floodgate.sock" ] && break; sleep 0.1; done
  export FLOODGATE_SOCKET=$dir/floodgate.sock
fi
ip netns exec $EDGE "$B/tests/fglab" serve 198.18.0.254 8080 &
disown
sleep 0.3

syn="tcp(sp=drnd(), dp=8080, seq=drnd(), syn, win=1024)"
heavy() {  # three sources sending $1 (IPv4 header extras in $2)
  for s in 198.18.0.11 198.18.0.12 198.18.0.13; do
    echo "{ eth(da=$edge_mac, sa=$atk_mac), ipv4(saddr=$s, daddr=198.18.0.254, ttl=64${2:-}), $1 }"
  done
}
case $PROFILE in
  syn-spoofed) echo "{ eth(da=$edge_mac, sa=$atk_mac), ipv4(saddr=drnd(), daddr=198.18.0.254, ttl=64), $syn }" ;;
  syn-heavy) heavy "$syn" ;;
  udp) heavy "udp(sp=drnd(1024, 65000), dp=9), fill(0x41, 512)" ;;
  dns-ntp-reflection) heavy "udp(sp=53, dp=drnd(1024, 65000)), fill(0x41, 468)"
    heavy "udp(sp=123, dp=drnd(1024, 65000)), fill(0x41, 468)" ;;
  icmp) heavy "icmp4(type=8, code=0, id=drnd(), seq=drnd()), fill(0x41, 56)" ;;
  fragments) heavy "fill(0x41, 1000)" ", frag=185, mf, proto=17" ;;
  ipv6-syn) for s in 2001:db8:201::1 2001:db8:202::1 2001:db8:203::1; do
      echo "{ eth(da=$edge_mac, sa=$atk_mac), ipv6(saddr=$s, daddr=2001:db8:18::fe, hoplimit=64), $syn }"
    done ;;
  vlan-syn) heavy "$syn" | sed 's/), ipv4(/), vlan(id=100), ipv4(/' ;;
esac >"$dir/flood.cfg"

echo "== $PROFILE at $PPS pkt/s for $((SECS - 2))s; Floodgate: $MODE; the client probes for ${SECS}s"
ip netns exec $CLI "$B/tests/fglab" probe 198.18.0.254 8080 "$SECS" &
probe=$!
sleep 1
ip netns exec $ATK timeout -s INT $((SECS - 2)) trafgen -o atk0 -i "$dir/flood.cfg" -b "${PPS}pps" \
  -P 1 -C >/dev/null 2>&1 || true
wait $probe
if [ "$MODE" != off ]; then
  echo
  "$B/controller/floodgatectl" stats
fi
