#!/usr/bin/env bash
# Installs botscope's build, test and peer-tool dependencies from Debian's packages.
# Idempotent: does nothing when everything is present. Needs root (or sudo) to install.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev llvm
      libpcap-dev libzstd-dev liblz4-dev libsqlite3-dev zlib1g-dev libdeflate-dev libcmocka-dev
      tshark tcpdump softflowd nfdump pmacct iproute2 python3 jq sqlite3 zmap masscan nmap
      libmaxminddb-dev libmaxmind-db-writer-perl libjansson-dev libmicrohttpd-dev libxml2-dev
      libpcre2-dev libssl-dev openssl libssh-dev busybox-static dropbear-bin lighttpd
      lighttpd-mod-openssl libcurl4-openssl-dev clickhouse-server clickhouse-client curl)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
