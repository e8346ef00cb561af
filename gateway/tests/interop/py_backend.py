"""An MCP backend on the official Python SDK's MCPServer (Streamable HTTP), for the interop
tests: the same tools as mock-mcp-server (echo, add, fail), so a client's checks hold for
either backend. Serves both eras from one process: `initialize` opens a session, 2026-07-28
requests are answered statelessly.

usage: py_backend.py --port PORT --instance NAME   (prints LISTENING main=... when it answers)
"""

import argparse
import socket
import sys
import threading
import time

from pydantic import BaseModel

from mcp.server.mcpserver import MCPServer


class Echoed(BaseModel):
    """What echo returns: the instance that answered and the arguments it got."""

    instance: str
    arguments: dict


def build(instance: str) -> MCPServer:
    server = MCPServer(f"py-backend-{instance}")

    @server.tool(description="Echoes its arguments and names the backend instance.")
    def echo(msg: str = "") -> Echoed:
        return Echoed(instance=instance, arguments={"msg": msg})

    @server.tool(description="Adds a and b.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Always fails: the answer is a result with isError.")
    def fail() -> str:
        raise ValueError("this tool always fails")

    return server


def announce_when_listening(port: int) -> None:
    """Prints the LISTENING line the test harness waits for, once the port accepts."""
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                print(f"LISTENING main=http://127.0.0.1:{port} admin=-", flush=True)
                return
        except OSError:
            time.sleep(0.05)
    print("py_backend: the server never listened", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--instance", required=True)
    args = parser.parse_args()
    server = build(args.instance)
    threading.Thread(target=announce_when_listening, args=(args.port,), daemon=True).start()
    server.run(transport="streamable-http", host="127.0.0.1", port=args.port, json_response=True)


if __name__ == "__main__":
    main()
