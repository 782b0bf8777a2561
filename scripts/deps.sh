#!/usr/bin/env bash
# Installs the Debian packages netlens needs to build, test and benchmark.
# Quiet and fast when everything is already there; apt-get only for what is missing.
set -euo pipefail

build_pkgs=(make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
            libjson-c-dev uthash-dev libmicrohttpd-dev libcap-ng-dev libncurses-dev
            libxdp-dev)
# dnsmasq-base: a resolver for the dns tests without a system service; libclang-rt-14-dev:
# libFuzzer for clang 14 (the fuzz targets); prometheus: a real server and promtool for serve's
# tests; nfdump: nfcapd, the IPFIX collector; python3-yaml and systemd (systemd-analyze): the
# deploy/ files' tests; tmux: a terminal of a fixed size for top's tests; nginx-light,
# redis-server and redis-tools (redis-cli), openssl: the servers and clients of http's tests.
test_pkgs=(iproute2 nftables python3 util-linux procps tcpdump dnsmasq-base bind9-dnsutils
           libclang-rt-14-dev prometheus curl nfdump python3-yaml systemd tmux
           nginx-light redis-server redis-tools openssl)
bench_pkgs=(bpftrace tcpdump iperf3 dnsperf wrk ethtool)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test)  want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
  { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
