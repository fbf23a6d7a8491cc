"""The ports the test and benchmark servers start on: never one handed out twice in a process, even
before the first is bound (the system may pick a port again once its probing socket is closed)."""

from __future__ import annotations

import socket

import pytest

from .servers import free_port


def test_ports_asked_for_in_a_row_differ_and_are_bindable():
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))


def test_a_port_range_hands_each_port_out_once_then_says_it_is_used_up(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
    monkeypatch.setenv("FREE_PORTS", f"{base}-{base + 2}")
    given = []
    with pytest.raises(RuntimeError, match="no free port in FREE_PORTS"):
        for _ in range(4):
            given.append(free_port())
    assert len(given) == len(set(given)) <= 3
    assert all(base <= port <= base + 2 for port in given)
