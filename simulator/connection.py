"""A request's client connection under uvicorn: whether the client is still there, for work that can outlast its
patience (a delay fault's wait and a dribble's gaps, simulator.control.layer; a gateway's calls upstream,
simulator.perf.gateway; the engine's wait for a modelled latency, simulator.engine.generate), and closing it (the
connection faults, a request cut by the server's graceful stop).

A client that gives up closes its connection, and the work for it should stop there: a delay of minutes, or an
upstream call bounded only by --upstream-timeout, would otherwise hold its task (and a server's graceful stop) long
after the client's own timeout, and the journal would show an answer nobody received. uvicorn shows the close two
ways: the request's next `receive` is an `http.disconnect` once its body has been read whole (until then the next
message is more body), and the connection's transport is closing. uvicorn tells the disconnect only to the request
it read last, not to one with a request pipelined behind it, so a wait also looks at the transport every
LEAVE_CHECK_SECONDS.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.requests import ClientDisconnect
from starlette.types import Receive, Send

from simulator.context import recording

T = TypeVar("T")

LEAVE_CHECK_SECONDS = 1.0
"""How often a wait looks whether its client's connection is closed (see the module's docstring)."""
_NO_LINGER = struct.pack("ii", 1, 0)
"""SO_LINGER on with a zero timeout: closing the socket then sends RST instead of FIN."""


def server_cycle(send: Send) -> Any:
    """uvicorn's request cycle (of its httptools or h11 protocol), of which `send` is a method and which holds the
    connection's transport; None under a server that exposes no transport (a test client)."""
    cycle = getattr(send, "__self__", None)
    return cycle if getattr(cycle, "transport", None) is not None else None


async def close_connection(send: Send, reset: bool = False) -> None:
    """Close the client's connection at once; `reset`: with a TCP RST (no linger), which a client reads as
    ECONNRESET, where a plain close is an end of stream. A connection the client has already closed is left as it is.

    The request is then marked disconnected in uvicorn's cycle: uvicorn marks only the request it read last, which is
    not this one when the client pipelined another behind it, and would then answer this one 500 on the closed
    connection (a traceback in the log) or log it as left incomplete."""
    cycle = server_cycle(send)
    if cycle is None:
        raise RuntimeError("drop, reset and truncate need a server that exposes its transport (uvicorn)")
    transport = cycle.transport
    if reset and not transport.is_closing():
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _NO_LINGER)
        transport.abort()
    else:
        transport.close()
    cycle.disconnected = True


async def cut_at_stop(send: Send) -> bool:
    """End a request the server's graceful stop cancelled (GRACEFUL_STOP_SECONDS) by closing its connection quietly,
    as a client leaving does; False under a server that exposes no connection (the cancellation goes on). uvicorn
    would answer a request cancelled before its answer began with a plain-text 500 and log the traceback."""
    if server_cycle(send) is None:
        return False
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
    await close_connection(send)
    return True


async def unless_client_leaves(work: Awaitable[T], send: Send, receive: Receive | None) -> T:
    """What `work` gives, or `ClientDisconnect` as soon as the client leaves: `work` is then cancelled (a gateway's
    calls upstream are closed, not left running to their timeout).

    `send`: the server's own, whose connection is looked at; `receive`: the server's own, for a request whose body has
    been read whole (its next message is then the disconnect), else None (the connection alone tells). A client that
    leaves is marked disconnected in uvicorn's cycle, as `close_connection` marks it: a cycle with a request pipelined
    behind it is not, and uvicorn would then answer the request 500 on the closed connection and log an error for what
    is a client's choice.

    Decision: a wait the server cuts at its graceful stop closes the connection and ends as a client's leaving does
    (`cut_at_stop`): the cut is the stop's documented behaviour, not an error of the request. Under a server that
    exposes no connection the cancellation goes on. The cancelled work is not awaited: at a stop the event loop ends
    soon after the cut, and a request still waiting then would be cancelled again, with a traceback."""
    cycle = server_cycle(send)
    task = asyncio.ensure_future(work)
    leaving = None if receive is None else asyncio.ensure_future(receive())
    check = None if cycle is None else LEAVE_CHECK_SECONDS
    try:
        while True:
            waited = (task,) if leaving is None else (task, leaving)
            done, _ = await asyncio.wait(waited, timeout=check, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                return task.result()
            if leaving is not None and leaving in done:
                if leaving.result()["type"] == "http.disconnect":
                    break
                leaving = None  # not a disconnect (no server sends one there): the connection alone tells from now on
            if cycle is not None and cycle.transport.is_closing():
                break
    except asyncio.CancelledError:
        if not await cut_at_stop(send):
            raise
    finally:
        if not task.done():
            task.cancel()
            task.add_done_callback(_nobodys)
        if leaving is not None:
            leaving.cancel()
    if cycle is not None:
        cycle.disconnected = True
    raise ClientDisconnect()


def _nobodys(task: asyncio.Future[Any]) -> None:
    """Retrieve what a cancelled work ended with (an error it raised as it was cancelled): it is nobody's answer, and
    asyncio would log it as never retrieved."""
    if not task.cancelled():
        task.exception()


def unless_this_client_leaves(work: Awaitable[T]) -> Awaitable[T]:
    """`unless_client_leaves` on the connection of the request being served (the control layer notes its server's
    `send`, `Made.server_send`), listening for its disconnect: for code below the face's reading of the body (the
    gateway's calls upstream, the engine's modelled latency), which has read it whole by then. `work` itself where no
    connection is exposed (in process, where a client cannot leave before its answer)."""
    send = recording.get().server_send
    cycle = None if send is None else server_cycle(send)
    if cycle is None or send is None:
        return work
    return unless_client_leaves(work, send, cycle.receive)
