"""The conformance suite's strict MCP client: the official Python MCP SDK, whose own pydantic
models validate every answer, so a result the SDK refuses fails the check that asked.

The suite embeds this file and runs it as `python -c <source> URL ERA OP...`:
  ERA  legacy (initialize, a session) or stateless (server/discover, 2026-07-28)
  OP   a JSON object: {"op": "tools/list"} or {"op": "tools/call", "tool": NAME, "arguments": {...}}
The bearer token, when there is one, comes from $CONFORMANCE_MCP_TOKEN: argv is visible in ps.

Prints one JSON line for the handshake and one per OP, each holding what the SDK validated
(dumped by alias, so the wire names). Judging is the suite's, in Rust. On any error it prints
the SDK's error to stderr and exits 1.
"""

import json
import os
import sys
import traceback

import anyio
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import PaginatedRequestParams

TOKEN_ENV = "CONFORMANCE_MCP_TOKEN"
# What was under way, so an error says which request the SDK refused.
doing = "connecting"


def dump(model) -> dict:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def emit(line: dict) -> None:
    print(json.dumps(line), flush=True)


async def list_tools(session: ClientSession) -> dict:
    pages, cursor = [], None
    while True:
        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        pages.append(dump(page))
        cursor = page.next_cursor
        if not cursor:
            return {"op": "tools/list", "pages": pages}


async def run(url: str, era: str, ops: list[dict]) -> None:
    global doing
    headers = {}
    if token := os.environ.get(TOKEN_ENV):
        headers["Authorization"] = f"Bearer {token}"
    # mcp 2.3.0 takes headers only on the http client. trust_env off: the gateway is reached
    # directly, as the suite's rmcp client does (no proxy from the environment).
    http = httpx2.AsyncClient(headers=headers, trust_env=False, timeout=httpx2.Timeout(30.0, read=300.0))
    async with http, streamable_http_client(url, http_client=http) as (read, write, *_):
        async with ClientSession(read, write) as session:
            doing = "server/discover" if era == "stateless" else "initialize"
            if era == "stateless":
                shake = await session.discover()
                emit({"op": "server/discover", "protocolVersion": session.protocol_version, "result": dump(shake)})
            else:
                shake = await session.initialize()
                emit({"op": "initialize", "protocolVersion": session.protocol_version, "result": dump(shake)})
            for op in ops:
                doing = " ".join(str(op[k]) for k in ("op", "tool") if k in op)
                if op["op"] == "tools/list":
                    emit(await list_tools(session))
                elif op["op"] == "tools/call":
                    result = await session.call_tool(op["tool"], op.get("arguments") or {})
                    emit({"op": "tools/call", "tool": op["tool"], "result": dump(result)})
                else:
                    raise ValueError(f"unknown op {op!r}")


def describe(error: BaseException) -> str:
    # anyio's task groups wrap the SDK's error; the innermost ones say what was refused.
    if hasattr(error, "exceptions"):
        return "; ".join(describe(e) for e in error.exceptions)
    return "".join(traceback.format_exception_only(error)).strip()


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("legacy", "stateless"):
        print("usage: strict_client URL legacy|stateless OP...", file=sys.stderr)
        return 2
    url, era, ops = argv[0], argv[1], [json.loads(op) for op in argv[2:]]
    try:
        anyio.run(run, url, era, ops)
    except BaseException as error:  # noqa: BLE001 -- every failure is the verdict, reported whole
        print(f"{doing}: {describe(error)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
