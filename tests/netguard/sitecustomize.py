"""Network guard for subprocesses under test, loaded through PYTHONPATH.

Python imports ``sitecustomize`` at start-up, before any of rag's code, so
every connection the process tries (the CLI, the model loader, Gradio,
anything they import) goes through these wrappers. Loopback is allowed;
anything else is written to $RAG_NETGUARD_LOG and refused, so a test can
assert that nothing tried to leave the machine.
"""

import errno
import ipaddress
import os
import socket
import traceback

_LOG = os.environ.get("RAG_NETGUARD_LOG")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_loopback(host) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard, used to bind
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%")[0].lower()
    if host in _LOOPBACK_NAMES or host in ("", "0.0.0.0", "::"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # any other name is an attempt to reach somewhere


def _refuse(kind: str, target) -> None:
    if _LOG:
        where = "".join(traceback.format_stack(limit=6)[:-2]).replace("\n", " | ")
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{kind} {target!r} pid={os.getpid()} at {where}\n")
    raise OSError(errno.ENETUNREACH, f"netguard: outbound {kind} to {target!r} refused")


def _check_address(kind: str, sock, address) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        _refuse(kind, address)


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_sendto = socket.socket.sendto
_getaddrinfo = socket.getaddrinfo
_gethostbyname = socket.gethostbyname
_gethostbyname_ex = socket.gethostbyname_ex


def connect(self, address):
    _check_address("connect", self, address)
    return _connect(self, address)


def connect_ex(self, address):
    _check_address("connect", self, address)
    return _connect_ex(self, address)


def sendto(self, data, *args):
    _check_address("sendto", self, args[-1])
    return _sendto(self, data, *args)


def getaddrinfo(host, *args, **kwargs):
    if not _is_loopback(host):
        _refuse("resolve", host)
    return _getaddrinfo(host, *args, **kwargs)


def gethostbyname(host):
    if not _is_loopback(host):
        _refuse("resolve", host)
    return _gethostbyname(host)


def gethostbyname_ex(host):
    if not _is_loopback(host):
        _refuse("resolve", host)
    return _gethostbyname_ex(host)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.socket.sendto = sendto
socket.getaddrinfo = getaddrinfo
socket.gethostbyname = gethostbyname
socket.gethostbyname_ex = gethostbyname_ex
if _LOG:
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(f"armed pid={os.getpid()}\n")
