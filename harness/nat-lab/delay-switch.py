#!/usr/bin/env python3
"""A userspace Ethernet switch with a delay line, for the NAT lab's public segment (stdlib only).

The kernel here has no `tc netem`, so the lab's WAN delay is done in userspace: this program runs
inside the lab's public namespace, opens an AF_PACKET raw socket on each of its ports (the public
ends of the veths of the public hosts and of the site routers), and forwards every frame like a
MAC-learning switch (unknown unicast, broadcast and multicast flooded), each copy after

    segment delay + delay of the ingress port + delay of the egress port (+ jitter of each)

and subject to a loss draw for the segment and for each of the two ports (so a site's conditions
apply in each direction, as netem on both ends of its WAN link did). Frames wait in one timer heap
ordered by release time then arrival, so a constant delay never reorders; jitter reorders only as
much as its draws imply. The queue is bounded: a frame arriving when it is full is dropped and
counted. Loss and jitter draws come from a seeded PRNG.

    delay-switch.py serve --ports p0,p1,s0 [--delay-ms 50] [--jitter-ms 0] [--loss-percent 0]
                          [--seed 1] [--limit 10000] [--realtime]
        Prints `ready {...}` once every socket is bound. --realtime: SCHED_FIFO priority 10 (else as
        high a nice as allowed), so that a busy machine does not make the switch late: its timing
        error is counted (`maxLatenessMs`, `late1ms`, `late10ms`: frames released that late). Reads commands on stdin, one JSON object a
        line, answers each with one line:
          {"id":1,"port":"s0","delayMs":25,"jitterMs":0,"lossPercent":0}  ->  ok 1
              ("port": "*" = the segment itself)
          {"id":2,"stats":true}                                            ->  stats 2 {...}
        Exits on SIGTERM/SIGINT or at the end of stdin, printing `counters {...}` last.
    delay-switch.py offload-off IF [IF...]
        Turns off tx checksum offload, scatter-gather, TSO, GSO and GRO on the interfaces of the
        namespace it runs in (SIOCETHTOOL, the legacy set commands) and prints what they are now.
        The switch needs it on every veth end that sends into it: a frame captured from a veth with
        offloads on can carry a partial checksum or be a GSO super-frame.

Every forwarded IPv4 frame's IP, TCP and UDP checksums are verified and bad ones counted
(`badChecksums`): a non-zero count means an offload was left on somewhere.
"""

import array
import fcntl
import heapq
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_OUTGOING = 4
SIOCETHTOOL = 0x8946
MAX_FRAME = 65536
# Frames read from one socket per wake-up before the others get a turn.
BATCH = 64

# Legacy ethtool get/set command pairs: (name, get, set).
ETHTOOL_FEATURES = (
    ("tx-checksum", 0x00000016, 0x00000017),
    ("scatter-gather", 0x00000018, 0x00000019),
    ("tso", 0x0000001E, 0x0000001F),
    ("gso", 0x00000023, 0x00000024),
    ("gro", 0x0000002B, 0x0000002C),
)


def ethtool_value(sock, ifname, cmd, data=0):
    """One legacy ETHTOOL_G*/S* ioctl on `ifname` (struct ethtool_value {u32 cmd; u32 data})."""
    buf = array.array("I", [cmd, data])
    addr, _ = buf.buffer_info()
    ifreq = struct.pack("16sP", ifname.encode(), addr).ljust(40, b"\0")
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
    return buf[1]


def offload_off(ifnames):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    result = {}
    try:
        for ifname in ifnames:
            state = {}
            # gro and gso before tso before sg before tx-checksum: the kernel ties them together.
            for name, _get, set_cmd in reversed(ETHTOOL_FEATURES):
                try:
                    ethtool_value(sock, ifname, set_cmd, 0)
                except OSError as err:
                    state[name + "Error"] = err.strerror
            for name, get_cmd, _set in ETHTOOL_FEATURES:
                state[name] = bool(ethtool_value(sock, ifname, get_cmd))
            result[ifname] = state
    finally:
        sock.close()
    print("offload " + json.dumps(result, sort_keys=True), flush=True)
    left = [f"{i}:{k}" for i, s in result.items() for k, v in s.items() if v is True]
    return 1 if left else 0


def ones_sum(data):
    """The 16-bit ones' complement sum of `data` (padded to an even length)."""
    if len(data) % 2:
        data = bytes(data) + b"\0"
    s = sum(memoryview(data).cast("H"))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def checksum_ok(frame):
    """False when an IPv4 frame's IP, TCP or UDP checksum is wrong (other frames: True)."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return True
    ihl = (frame[14] & 0x0F) * 4
    if ihl < 20 or len(frame) < 14 + ihl:
        return True
    if ones_sum(frame[14 : 14 + ihl]) != 0xFFFF:
        return False
    total = struct.unpack_from("!H", frame, 16)[0]
    frag = struct.unpack_from("!H", frame, 20)[0]
    proto = frame[23]
    if frag & 0x3FFF or proto not in (6, 17) or total > len(frame) - 14:
        return True
    seg = frame[14 + ihl : 14 + total]
    if proto == 17 and len(seg) >= 8 and seg[6:8] == b"\0\0":
        return True  # UDP without a checksum
    pseudo = frame[26:34] + struct.pack("!BBH", 0, proto, len(seg))
    return ones_sum(pseudo + bytes(seg)) == 0xFFFF


class Conditions:
    __slots__ = ("delay", "jitter", "loss")

    def __init__(self, delay_ms=0.0, jitter_ms=0.0, loss_percent=0.0):
        self.delay = delay_ms / 1000.0
        self.jitter = jitter_ms / 1000.0
        self.loss = loss_percent / 100.0

    def as_dict(self):
        return {"delayMs": self.delay * 1000, "jitterMs": self.jitter * 1000, "lossPercent": self.loss * 100}


class Switch:
    def __init__(self, ports, segment, seed, limit):
        self.rng = random.Random(seed)
        self.limit = limit
        self.segment = segment
        self.conditions = {p: Conditions() for p in ports}
        self.socks = {}
        self.by_fd = {}
        for name in ports:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            s.setsockopt(socket.SOL_SOCKET, 33, 4 * 1024 * 1024)  # SO_RCVBUFFORCE
            s.setsockopt(socket.SOL_SOCKET, 32, 4 * 1024 * 1024)  # SO_SNDBUFFORCE
            s.bind((name, 0))
            ifindex = socket.if_nametoindex(name)
            s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, struct.pack("iHH8s", ifindex, PACKET_MR_PROMISC, 0, b""))
            s.setblocking(False)
            self.socks[name] = s
            self.by_fd[s.fileno()] = name
        self.macs = {}
        self.heap = []
        self.seq = 0
        self.counters = {
            "received": 0,
            "forwarded": 0,
            "flooded": 0,
            "droppedLoss": 0,
            "droppedQueueFull": 0,
            "sendErrors": 0,
            "badChecksums": 0,
            "maxQueue": 0,
            "maxLatenessMs": 0.0,
            "late1ms": 0,
            "late10ms": 0,
        }

    def draw(self, cond):
        """(lost, delay in s) for one crossing of `cond`."""
        if cond.loss > 0 and self.rng.random() < cond.loss:
            return True, 0.0
        d = cond.delay
        if cond.jitter > 0:
            d = max(0.0, d + self.rng.uniform(-cond.jitter, cond.jitter))
        return False, d

    def receive(self, name, now):
        sock = self.socks[name]
        for _ in range(BATCH):
            try:
                frame, addr = sock.recvfrom(MAX_FRAME)
            except (BlockingIOError, InterruptedError):
                return
            if addr[2] == PACKET_OUTGOING or len(frame) < 14:
                continue
            self.counters["received"] += 1
            if not checksum_ok(frame):
                self.counters["badChecksums"] += 1
            dst, src = frame[0:6], frame[6:12]
            if not src[0] & 1:
                self.macs[src] = name
            out = self.macs.get(dst) if not dst[0] & 1 else None
            if out == name:
                continue  # both ends on the same port: nothing to forward
            targets = [out] if out is not None else [p for p in self.socks if p != name]
            if out is None:
                self.counters["flooded"] += 1
            lost_in, d_in = self.draw(self.conditions[name])
            lost_seg, d_seg = self.draw(self.segment)
            for target in targets:
                lost_out, d_out = self.draw(self.conditions[target])
                if lost_in or lost_seg or lost_out:
                    self.counters["droppedLoss"] += 1
                    continue
                if len(self.heap) >= self.limit:
                    self.counters["droppedQueueFull"] += 1
                    continue
                self.seq += 1
                heapq.heappush(self.heap, (now + d_in + d_seg + d_out, self.seq, target, frame))
            if len(self.heap) > self.counters["maxQueue"]:
                self.counters["maxQueue"] = len(self.heap)

    def release(self, now):
        while self.heap and self.heap[0][0] <= now:
            due, _seq, target, frame = heapq.heappop(self.heap)
            late = (now - due) * 1000
            if late > 1:
                self.counters["late1ms"] += 1
                if late > 10:
                    self.counters["late10ms"] += 1
            if late > self.counters["maxLatenessMs"]:
                self.counters["maxLatenessMs"] = round(late, 3)
            try:
                self.socks[target].send(frame)
                self.counters["forwarded"] += 1
            except OSError:
                self.counters["sendErrors"] += 1

    def command(self, line):
        msg = json.loads(line)
        ident = msg.get("id", 0)
        if msg.get("stats"):
            return f"stats {ident} {json.dumps(self.snapshot(), sort_keys=True)}"
        cond = Conditions(float(msg.get("delayMs", 0)), float(msg.get("jitterMs", 0)), float(msg.get("lossPercent", 0)))
        port = msg.get("port")
        if port == "*":
            self.segment = cond
        elif port in self.conditions:
            self.conditions[port] = cond
        else:
            return f"error {ident} no port {port}"
        return f"ok {ident}"

    def snapshot(self):
        return {
            **self.counters,
            "queued": len(self.heap),
            "macs": len(self.macs),
            "segment": self.segment.as_dict(),
            "ports": {p: c.as_dict() for p, c in self.conditions.items() if c.delay or c.jitter or c.loss},
        }


def serve(args):
    opts = {"--ports": "", "--delay-ms": "0", "--jitter-ms": "0", "--loss-percent": "0", "--seed": "1", "--limit": "10000"}
    realtime = False
    it = iter(args)
    for a in it:
        if a == "--realtime":
            realtime = True
            continue
        if a not in opts:
            raise SystemExit(f"unknown option {a}")
        opts[a] = next(it)
    sched = "normal"
    if realtime:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
            sched = "fifo-10"
        except OSError:
            try:
                os.nice(-15)
                sched = "nice-15"
            except OSError:
                pass
    ports = [p for p in opts["--ports"].split(",") if p]
    if not ports:
        raise SystemExit("--ports is required")
    segment = Conditions(float(opts["--delay-ms"]), float(opts["--jitter-ms"]), float(opts["--loss-percent"]))
    sw = Switch(ports, segment, int(opts["--seed"]), int(opts["--limit"]))
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    # A signal wakes the poll up (epoll retries after EINTR on its own).
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    ep = select.epoll()
    ep.register(wake_r, select.EPOLLIN)
    for fd in sw.by_fd:
        ep.register(fd, select.EPOLLIN)
    stdin_fd = sys.stdin.fileno()
    ep.register(stdin_fd, select.EPOLLIN)
    os.set_blocking(stdin_fd, False)
    pending = b""
    print("ready " + json.dumps({"ports": ports, "segment": segment.as_dict(), "sched": sched}), flush=True)
    try:
        while not stopping:
            timeout = -1 if not sw.heap else max(0.0, sw.heap[0][0] - time.monotonic())
            try:
                events = ep.poll(timeout)
            except InterruptedError:
                continue
            now = time.monotonic()
            for fd, _ev in events:
                if fd == wake_r:
                    try:
                        os.read(wake_r, 512)
                    except BlockingIOError:
                        pass
                elif fd == stdin_fd:
                    try:
                        chunk = os.read(stdin_fd, 65536)
                    except BlockingIOError:
                        continue
                    if chunk == b"":
                        stopping.append(1)  # our owner is gone: stop too
                        ep.unregister(stdin_fd)
                        break
                    pending += chunk
                    while b"\n" in pending:
                        line, pending = pending.split(b"\n", 1)
                        if line.strip():
                            try:
                                print(sw.command(line.decode()), flush=True)
                            except (ValueError, TypeError) as err:
                                print(f"error 0 {err}", flush=True)
                else:
                    sw.receive(sw.by_fd[fd], now)
            sw.release(time.monotonic())
    finally:
        print("counters " + json.dumps(sw.snapshot(), sort_keys=True), flush=True)
    return 0


def main(argv):
    if len(argv) >= 1 and argv[0] == "serve":
        return serve(argv[1:])
    if len(argv) >= 2 and argv[0] == "offload-off":
        return offload_off(argv[1:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
