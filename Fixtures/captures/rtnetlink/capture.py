#!/usr/bin/env python3
"""Captures rtnetlink messages the way iscsi-rootd receives them, in a network namespace of its own.

Run as root: `Fixtures/captures/rtnetlink/capture.py > Fixtures/captures/rtnetlink/veth-root-path.txt`.
It makes two namespaces joined by a veth pair (the client's `v0` with 10.0.2.15/24 and 2001:db8::15/64,
the portal side's `v1` with 10.0.2.2/24), joins the multicast groups iscsi-rootd joins
(links, IPv4 and IPv6 addresses, routes and rules), runs each step's `ip` command and writes
every datagram the kernel sent, in hex, under the step. `query` steps send the requests iscsi-rootd sends
(link and address dumps, RTM_GETROUTE for the portal with RTM_F_LOOKUP_TABLE) and record the replies.
The namespaces are removed at the end. Nothing leaves the machine: the namespaces have no other link.
"""
import os
import select
import socket
import struct
import subprocess
import sys
import time

SUFFIX = os.environ.get("CAPTURE_SUFFIX", str(os.getpid()))
CLIENT = f"iscsi-rootd-capture-{SUFFIX}"
PORTAL = f"iscsi-rootd-portal-{SUFFIX}"
# RTMGRP_LINK, IPV4_IFADDR, IPV4_ROUTE, IPV4_RULE, IPV6_IFADDR, IPV6_ROUTE, and RTNLGRP_IPV6_RULE (19).
GROUPS = 0x1 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | (1 << 18)
RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE = 18, 22, 26
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
RTM_F_LOOKUP_TABLE = 0x1000

STEPS = [
    ("setup", "ip link set lo up"),
    ("setup", f"ip link add v0 type veth peer name v1 netns {PORTAL}"),
    ("setup", "sysctl -qw net.ipv4.conf.v0.promote_secondaries=1"),
    ("setup", f"ip -n {PORTAL} link set v1 up"),
    ("setup", f"ip -n {PORTAL} addr add 10.0.2.2/24 dev v1"),
    ("event", "ip addr add 10.0.2.15/24 dev v0"),
    ("event", "ip link set v0 up"),
    ("event", "ip route add default via 10.0.2.2 dev v0"),
    ("event", "ip -6 addr add 2001:db8::15/64 dev v0 nodad"),
    ("query", "dump links"),
    ("query", "dump addresses"),
    ("query", "route 10.0.2.2"),
    ("query", "route 192.0.2.7"),
    ("query", "route 2001:db8::2"),
    ("event", "ip addr del 10.0.2.15/24 dev v0"),
    ("query", "route 10.0.2.2"),
    ("event", "ip addr add 10.0.2.15/24 dev v0"),
    ("event", "ip route add default via 10.0.2.2 dev v0"),
    ("event", "ip addr add 10.0.2.16/24 dev v0"),
    ("event", "ip addr del 10.0.2.15/24 dev v0"),
    ("query", "route 10.0.2.2"),
    ("event", "ip addr add 10.0.2.15/24 dev v0"),
    ("event", "ip addr del 10.0.2.16/24 dev v0"),
    ("event", f"ip -n {PORTAL} link set v1 down"),
    ("query", "route 10.0.2.2"),
    ("event", f"ip -n {PORTAL} link set v1 up"),
    ("event", "ip link set v0 down"),
    ("event", "ip link set v0 up"),
    ("event", "ip route add default via 10.0.2.2 dev v0"),
    ("event", "ip rule add to 10.0.2.2 table 100 priority 100"),
    ("event", "ip route add 10.0.2.2 dev v0 src 10.0.2.15 table 100"),
    ("query", "route 10.0.2.2"),
    ("event", "ip route del 10.0.2.2 dev v0 table 100"),
    ("event", "ip rule del to 10.0.2.2 table 100 priority 100"),
    ("event", "ip -6 addr add 2001:db8::15/64 dev v0 nodad"),
    ("event", "ip -6 route add default via 2001:db8::2 dev v0"),
    ("query", "route 2001:db8::2"),
    ("event", "ip -6 addr del 2001:db8::15/64 dev v0"),
    ("event", "ip link del v0"),
]


def request(sock, seq, msg_type, flags, body):
    sock.send(struct.pack("=IHHII", 16 + len(body), msg_type, flags, seq, 0) + body)


def query(sock, seq, what):
    if what == "dump links":
        request(sock, seq, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BxHiII", 0, 0, 0, 0, 0))
    elif what == "dump addresses":
        request(sock, seq, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BBBBI", 0, 0, 0, 0, 0))
    else:
        address = what.split()[1]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        packed = socket.inet_pton(family, address)
        rtmsg = struct.pack("=BBBBBBBBI", family, len(packed) * 8, 0, 0, 0, 0, 0, 0, RTM_F_LOOKUP_TABLE)
        attribute = struct.pack("=HH", 4 + len(packed), 1) + packed  # RTA_DST
        request(sock, seq, RTM_GETROUTE, NLM_F_REQUEST, rtmsg + attribute)


def drain(sock, settle=0.3):
    datagrams = []
    deadline = time.monotonic() + settle
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return datagrams
        ready, _, _ = select.select([sock], [], [], left)
        if ready:
            datagrams.append(sock.recv(65536))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside":
        return inside()
    subprocess.run(["ip", "netns", "add", CLIENT], check=True)
    subprocess.run(["ip", "netns", "add", PORTAL], check=True)
    try:
        return subprocess.run(["ip", "netns", "exec", CLIENT, sys.executable, __file__, "--inside"],
                              env=dict(os.environ, CAPTURE_SUFFIX=SUFFIX)).returncode
    finally:
        subprocess.run(["ip", "netns", "del", CLIENT])
        subprocess.run(["ip", "netns", "del", PORTAL])


def inside():
    events = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    events.bind((0, GROUPS))
    queries = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    queries.bind((0, 0))
    out = sys.stdout
    out.write("# rtnetlink messages captured by Fixtures/captures/rtnetlink/capture.py "
              f"(kernel {os.uname().release}); namespace names are replaced by CLIENT and PORTAL.\n")
    out.write("# Format: '## <kind> <command>' starts a step; 'event <hex>' is a datagram received on the\n"
              "# multicast socket after it, 'reply <hex>' one received on the request socket.\n")
    seq = 0
    for kind, command in STEPS:
        shown = command.replace(PORTAL, "PORTAL")
        out.write(f"## {kind} {shown}\n")
        if kind == "query":
            seq += 1
            drain(events, 0.05)
            query(queries, seq, command)
            for datagram in drain(queries):
                out.write(f"reply {datagram.hex()}\n")
        else:
            subprocess.run(command.split(), check=True)
            if kind == "event":
                for datagram in drain(events):
                    out.write(f"event {datagram.hex()}\n")
            else:
                drain(events, 0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
