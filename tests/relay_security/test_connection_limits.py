"""Slow and many clients: the global connection cap and the DATA deadline
(issue 14, finding 7), with real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket

from rawsmtp import RawClient

from config.schema import ListenerMode

PLAIN = ListenerMode.PLAIN
COLLEAGUE = "clara.weber@example.com"


async def test_connections_beyond_the_global_cap_get_421_while_others_are_served(start_relay):
    relay = await start_relay(
        SIGRELAY_RELAY__MAX_CONNECTIONS="3", SIGRELAY_RELAY__MAX_CONNECTIONS_PER_IP="10"
    )
    port = relay.address[1]

    def scenario() -> tuple[list[int], int, list[int]]:
        inside = [RawClient(port) for _ in range(3)]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
                beyond = extra.makefile("rb").readline()
            # A client inside the cap is still served, command by command.
            served = [
                inside[0].command(b"EHLO client.test").code,
                inside[0].command(f"MAIL FROM:<{COLLEAGUE}>".encode()).code,
                inside[0].command(b"RCPT TO:<kim@customer.test>").code,
            ]
            return [c.greeting.code for c in inside], int(beyond[:3]), served
        finally:
            for client in inside:
                client.close()

    greetings, beyond, served = await asyncio.to_thread(scenario)
    assert greetings == [220, 220, 220]
    assert beyond == 421
    assert served == [250, 250, 250]


async def test_a_slowloris_data_sender_is_cut_at_the_deadline(start_relay):
    relay = await start_relay(SIGRELAY_RELAY__DATA_TIMEOUT="0.5")
    port = relay.address[1]

    def slowloris() -> tuple[int, bytes]:
        client = RawClient(port)
        try:
            client.command(b"EHLO client.test")
            client.command(f"MAIL FROM:<{COLLEAGUE}>".encode())
            client.command(b"RCPT TO:<kim@customer.test>")
            start = client.command(b"DATA").code
            client.sock.sendall(b"Subject: slow\r\n\r\n")
            # One byte at a time, never the end of data, until the server answers.
            while not select.select([client.sock], [], [], 0.05)[0]:
                client.sock.sendall(b"x")
            answer = b""
            with contextlib.suppress(ConnectionResetError):  # our last "x" hit a closed socket
                while chunk := client.sock.recv(4096):  # b"" once the server has closed
                    answer += chunk
            return start, answer
        finally:
            client.close()

    start, answer = await asyncio.to_thread(slowloris)
    assert start == 354
    assert answer.startswith(b"421 4.4.2 DATA not completed"), answer
    assert answer.endswith(b"\r\n") and answer.count(b"\r\n") == 1  # then closed
    assert relay.spool.list() == []


async def test_data_within_the_deadline_is_accepted(start_relay, sink):
    relay = await start_relay(SIGRELAY_RELAY__DATA_TIMEOUT="30")

    def send() -> int:
        client = RawClient(relay.address[1])
        try:
            client.command(b"EHLO client.test")
            client.command(f"MAIL FROM:<{COLLEAGUE}>".encode())
            client.command(b"RCPT TO:<kim@customer.test>")
            client.command(b"DATA")
            return client.command(
                f"From: <{COLLEAGUE}>\r\nSubject: hi\r\n\r\nHello.\r\n.".encode()
            ).code
        finally:
            client.close()

    assert await asyncio.to_thread(send) == 250
