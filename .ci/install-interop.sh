#!/bin/sh
# Installs the independent programs the interop tests and the SIP benchmark drive:
# SIPp, Kamailio, baresip, linphonec, sipsak, sofia-sip tools, coturn, a STUN client, tshark,
# for the NAT lab (harness/nat-lab): nftables, iproute2 (ip, tc, ss), conntrack; and for media:
# sox and espeak-ng (test audio), rtpengine-daemon (the relay the media benchmark compares with);
# for the office tests (issue 15): dig, avahi (daemon, tools, libnss-mdns) and D-Bus as independent
# mDNS clients, openssl (a non-member TLS server), curl (the peers' API inside namespaces),
# systemd-analyze (the unit file); for issue 17: chromium (browser tests through playwright-core) and
# python3-prometheus-client (an independent parser of /metrics).
# Idempotent: does nothing when every program is already there. Needs root (apt-get);
# without root it only reports what is missing (the interop tests then skip).
# No service is enabled or started: the tests start and stop each program themselves.
set -eu

PACKAGES="sip-tester kamailio kamailio-presence-modules baresip-core linphone-cli sipsak sofia-sip-bin coturn stun-client tshark nftables iproute2 conntrack sox espeak-ng rtpengine-daemon bind9-dnsutils avahi-daemon avahi-utils libnss-mdns dbus openssl curl systemd chromium python3-prometheus-client"
# One program per package, to tell whether it is installed.
PROGRAMS="sipp kamailio baresip linphonec sipsak sip-options turnserver stunc tshark nft ip conntrack sox espeak-ng rtpengine dig avahi-daemon avahi-browse dbus-daemon openssl curl systemd-analyze chromium"

missing=""
for prog in $PROGRAMS; do
  if ! command -v "$prog" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$prog" ] && [ ! -x "/usr/bin/$prog" ]; then
    missing="$missing $prog"
  fi
done
# packages that install no program of their own
[ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/presence.so ] || missing="$missing kamailio-presence-modules"

if [ -z "$missing" ]; then
  echo "install-interop: all programs present ($PROGRAMS)"
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "install-interop: missing:$missing — run this script as root to install ($PACKAGES)" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no (tests capture as root).
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update
apt-get install -y $PACKAGES

# Packages that ship services must not leave them running (kamailio, coturn, rtpengine-daemon, avahi-daemon).
for svc in kamailio coturn rtpengine-daemon avahi-daemon; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
    systemctl disable "$svc" || true
  fi
done

echo "install-interop: installed:$missing"
