"""Run a command in a network namespace of its own, with loopback only.

    python tests/netguard/loopback_only.py COMMAND [ARGS...]

Re-executes itself under ``unshare --net`` (with ``--map-root-user`` when not
root), brings ``lo`` up with an ioctl (no dependency on iproute2, which a
minimal Debian lacks), then replaces itself with COMMAND. Nothing inside can
reach another machine: there is no interface but loopback, so every connect()
to an outside address fails with ENETUNREACH, and strace or the getaddrinfo
hook (sitecustomize.py here) records the attempt.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import struct
import sys

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
INSIDE = "RAG_LOOPBACK_ONLY_INSIDE"


def unshare_command() -> list[str] | None:
    """The unshare prefix that works here, or None (no util-linux, or namespaces refused)."""
    tool = shutil.which("unshare")
    if tool is None:
        return None
    return [tool, "--net"] if os.geteuid() == 0 else [tool, "--net", "--map-root-user"]


def bring_loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14s", b"lo", 0, b"\x00" * 14)
        flags = struct.unpack("16sH14s", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b"\x00" * 14))


def interfaces() -> list[str]:
    return sorted(name for _, name in socket.if_nameindex())


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    if os.environ.get(INSIDE) != "1":
        prefix = unshare_command()
        if prefix is None:
            raise SystemExit("loopback_only: unshare (util-linux) is not installed")
        os.environ[INSIDE] = "1"
        os.execv(prefix[0], [*prefix, sys.executable, os.path.abspath(__file__), *argv])
    bring_loopback_up()
    if interfaces() != ["lo"]:
        raise SystemExit(f"loopback_only: expected only lo, found {interfaces()}")
    os.environ.pop(INSIDE, None)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
