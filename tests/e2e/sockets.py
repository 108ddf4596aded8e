"""Which sockets a set of processes listens on, read from /proc (no ``ss`` or ``lsof`` needed).

``/proc/<pid>/fd/*`` links to ``socket:[<inode>]`` for each open socket; the socket tables in
``/proc/<pid>/net/{tcp,tcp6,udp,udp6}`` (the tables of that process's network namespace) give
each inode's local address. A TCP socket listens in state ``0A``; a UDP socket counts when it
is bound to a port and not connected to a peer (it then receives from anyone who can reach
its address, like mDNS on 5353).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TCP_LISTEN = "0A"


@dataclass(frozen=True)
class Listener:
    protocol: str  # tcp, tcp6, udp, udp6
    address: str
    port: int
    pid: int
    command: str

    @property
    def loopback(self) -> bool:
        ip = ipaddress.ip_address(self.address)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return ip.ipv4_mapped.is_loopback
        return ip.is_loopback

    def __str__(self) -> str:
        return f"{self.protocol} {self.address}:{self.port} (pid {self.pid}, {self.command})"


def _decode_address(hex_address: str) -> str:
    """``0100007F`` -> ``127.0.0.1``; IPv6 is four little-endian 32-bit words."""
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = struct.unpack("<4I", raw)
    return socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words))


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def listeners(pids: Iterable[int]) -> list[Listener]:
    """Every listening TCP socket and bound, unconnected UDP socket that the processes hold."""
    found: list[Listener] = []
    for pid in sorted(set(pids)):
        inodes = _socket_inodes(pid)
        if not inodes:
            continue
        command = _command(pid)
        for protocol in ("tcp", "tcp6", "udp", "udp6"):
            try:
                lines = Path(f"/proc/{pid}/net/{protocol}").read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
                if inode not in inodes:
                    continue
                local_hex, local_port = local.split(":")
                remote_port = int(remote.split(":")[1], 16)
                port = int(local_port, 16)
                if protocol.startswith("tcp") and state != TCP_LISTEN:
                    continue
                if protocol.startswith("udp") and (port == 0 or remote_port != 0):
                    continue
                found.append(Listener(protocol, _decode_address(local_hex), port, pid, command))
    return found


def beyond_loopback(pids: Iterable[int]) -> list[Listener]:
    return [listener for listener in listeners(pids) if not listener.loopback]
