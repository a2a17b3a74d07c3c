#!/usr/bin/env bash
# Floodgate demo on a built-in lab: installs and builds, then builds three network
# namespaces on one bridge (attacker, legitimate client, edge server), starts floodgated
# on the edge's interface, floods it (TCP SYN + UDP) while the client makes small TCP
# requests, shows the live counters in monitor mode, switches `protect on`, and shows the
# flood dropped while the client still gets through. Everything is removed on exit,
# also on Ctrl-C. Traffic stays inside the lab's namespaces (198.18.0.0/24).
#   scripts/demo.sh            (as root; PHASE=seconds per phase, default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
PHASE=${PHASE:-10}
[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (it creates namespaces and loads XDP)" >&2; exit 1; }

scripts/install-deps.sh
scripts/build.sh
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

B=$PWD/build
id=$$
NET=fgdemo-net-$id ATK=fgdemo-atk-$id CLI=fgdemo-cli-$id EDGE=fgdemo-edge-$id
dir=$(mktemp -d /tmp/fgdemo-XXXXXX)
pins=/sys/fs/bpf/fgdemo-$id
export FLOODGATE_SOCKET=$dir/floodgate.sock

cleanup() {
  trap - EXIT INT TERM
  echo; echo "== cleaning up"
  # Background jobs of a script ignore SIGINT: TERM asks them to stop in order.
  jobs -p | xargs -r kill -TERM 2>/dev/null || true
  for _ in $(seq 30); do [ -z "$(jobs -pr)" ] && break; sleep 0.1; done
  jobs -pr | xargs -r kill -KILL 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -f "$dir/floodgate.toml" ]; then
    nsenter --net=/run/netns/$EDGE "$B/controller/floodgated" -c "$dir/floodgate.toml" --unload >/dev/null 2>&1 || true
  fi
  for ns in $ATK $CLI $EDGE $NET; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true  # e.g. trafgen workers
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$dir" "$pins"
}
trap cleanup EXIT INT TERM

echo "== building the lab: attacker, client and edge on one bridge"
for ns in $NET $ATK $CLI $EDGE; do ip netns add "$ns"; done
ip -n $NET link add br0 type bridge
ip -n $NET link set br0 up
for pair in "$ATK atk0 198.18.0.1" "$CLI cli0 198.18.0.2" "$EDGE edge0 198.18.0.254"; do
  set -- $pair
  ip link add "$2" netns "$1" type veth peer name "p-$2" netns $NET
  ip -n $NET link set "p-$2" master br0 up
  ip -n "$1" addr add "$3/24" dev "$2"
  ip -n "$1" link set "$2" up
  ip -n "$1" link set lo up
done
edge_mac=$(ip -n $EDGE -br link show edge0 | awk '{print $3}')
atk_mac=$(ip -n $ATK -br link show atk0 | awk '{print $3}')

cat >"$dir/floodgate.toml" <<TOML
[daemon]
interfaces = ["edge0"]
socket = "$dir/floodgate.sock"
state_db = "$dir/state.db"
pin_dir = "$pins"
[maps]
block_entries = 65536
source_entries = 65536
[datapath]
mode = "monitor"
syn = { rate = 200, burst = 400 }
udp_packets = { rate = 2000, burst = 4000 }
[network]
protected = ["198.18.0.254/32"]
[detection]
sustain_seconds = 1
[playbook]
dry_run = true                      # the demo's operator decides; the playbook only says what it would do
TOML

echo "== starting floodgated on the edge (monitor mode: count, do not drop)"
nsenter --net=/run/netns/$EDGE "$B/controller/floodgated" -c "$dir/floodgate.toml" >"$dir/floodgated.log" 2>&1 &
for _ in $(seq 50); do [ -S "$dir/floodgate.sock" ] && break; sleep 0.1; done
sleep 0.3
"$B/controller/floodgatectl" status

ip netns exec $EDGE "$B/tests/fglab" serve 198.18.0.254 8080 &
sleep 0.3

cat >"$dir/syn.cfg" <<CFG
{ eth(da=$edge_mac, sa=$atk_mac), ipv4(saddr=198.18.0.1, daddr=198.18.0.254, ttl=64),
  tcp(sp=drnd(), dp=8080, seq=drnd(), syn, win=1024) }
CFG
cat >"$dir/udp.cfg" <<CFG
{ eth(da=$edge_mac, sa=$atk_mac), ipv4(saddr=198.18.0.1, daddr=198.18.0.254, ttl=64),
  udp(sp=drnd(), dp=9), fill(0x41, 512) }
CFG

total=$((2 * PHASE + 2))
echo "== flood: TCP SYN and UDP from the attacker for ${total}s; the client probes throughout"
ip netns exec $ATK timeout -s INT $total trafgen -o atk0 -i "$dir/syn.cfg" -b 20000pps -P 1 -C >/dev/null 2>&1 &
ip netns exec $ATK timeout -s INT $total trafgen -o atk0 -i "$dir/udp.cfg" -b 20000pps -P 1 -C >/dev/null 2>&1 &
ip netns exec $CLI "$B/tests/fglab" probe 198.18.0.254 8080 $((total - 1)) >"$dir/client.log" &

show() {  # $1 = phase name
  for s in $(seq "$PHASE"); do
    sleep 1
    echo
    echo "-- $1, ${s}s -- $(tail -n 1 "$dir/client.log" 2>/dev/null)"
    "$B/controller/floodgatectl" stats
  done
}
show "MONITOR (counting only)"
echo
echo "== floodgatectl protect on"
"$B/controller/floodgatectl" protect on
show "ENFORCE (dropping)"
wait_for=$(( $(date +%s) + 3 ))
while [ "$(date +%s)" -lt $wait_for ] && ! grep -q summary "$dir/client.log"; do sleep 0.2; done
echo
echo "== who is sending it (sampled drops): floodgatectl top"
"$B/controller/floodgatectl" top
echo
echo "== rules now (the attacker was auto-blocked by its reputation): floodgatectl list"
"$B/controller/floodgatectl" list
echo
echo "== why the attacker is dropped, and how to let it through: floodgatectl explain 198.18.0.1"
"$B/controller/floodgatectl" explain 198.18.0.1
echo
echo "== what the detector saw and what its playbook would have done (dry run): floodgatectl incident show"
"$B/controller/floodgatectl" incident show | sed -n '1,/^## Peak/p' | head -n 14
"$B/controller/floodgatectl" incident show | grep -E '^\| [0-9T:-]+Z \| floodgate \| (detection|classification|plan) ' | head -n 12
echo
grep summary "$dir/client.log" || true
echo "== done. The same commands work on a real server: see README.md."
