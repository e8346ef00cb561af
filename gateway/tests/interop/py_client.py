"""A strict MCP client on the official Python SDK, for the interop tests: every answer is
validated by the SDK's own models (a result the SDK refuses fails the check). Runs one era
against the gateway and checks, for each tool prefix given, tools/list, a structured result,
a text result, a tool answering isError, an unknown tool and a backend that is down.

usage: py_client.py --url URL --era legacy|stateless --prefix P[=instance] ... [--down TOOL]
Prints one line per check (`ok ...` or `FAIL ...`) and exits 1 when any failed.
"""

import argparse
import sys

import anyio

from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


async def run(url: str, era: str, prefixes: list[tuple[str, str]], down: str | None) -> list[str]:
    failures: list[str] = []

    def check(ok: bool, what: str, seen: object = "") -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {era} {what}{'' if ok else f': {seen}'}", flush=True)
        if not ok:
            failures.append(what)

    async with streamable_http_client(url) as (read, write, *_):
        async with ClientSession(read, write) as session:
            if era == "stateless":
                await session.discover()
            else:
                await session.initialize()
            listed = {tool.name for tool in (await session.list_tools()).tools}
            for prefix, instance in prefixes:
                for name in ("echo", "add", "fail"):
                    check(f"{prefix}{name}" in listed, f"tools/list has {prefix}{name}", sorted(listed))
                echo = await session.call_tool(f"{prefix}echo", {"msg": "interop"})
                structured = echo.structured_content or {}
                check(
                    not echo.is_error
                    and structured.get("instance") == instance
                    and structured.get("arguments", {}).get("msg") == "interop",
                    f"{prefix}echo gives a structured result from {instance}",
                    echo.model_dump(exclude_none=True),
                )
                added = await session.call_tool(f"{prefix}add", {"a": 1, "b": 2})
                text = [c.text for c in added.content if getattr(c, "type", "") == "text"]
                check(not added.is_error and "3" in text, f"{prefix}add gives the text 3", added.model_dump(exclude_none=True))
                failed = await session.call_tool(f"{prefix}fail", {})
                check(failed.is_error, f"{prefix}fail answers isError", failed.model_dump(exclude_none=True))
            try:
                answer = await session.call_tool("no_such_tool", {})
                check(False, "an unknown tool is a JSON-RPC error", answer.model_dump(exclude_none=True))
            except MCPError as e:
                check(e.error.code == -32602 and "no_such_tool" in e.error.message, "an unknown tool is -32602 naming it", e.error)
            if down:
                try:
                    answer = await session.call_tool(down, {})
                    check(False, "a backend that is down is a JSON-RPC error", answer.model_dump(exclude_none=True))
                except MCPError as e:
                    check(e.error.code == -32000 and down in e.error.message, f"{down} (backend down) is -32000 naming it", e.error)
    return failures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--era", choices=["legacy", "stateless"], required=True)
    parser.add_argument("--prefix", action="append", default=[], help="tool prefix=instance")
    parser.add_argument("--down")
    args = parser.parse_args()
    prefixes = [tuple(p.split("=", 1)) for p in args.prefix]
    failures = anyio.run(run, args.url, args.era, prefixes, args.down)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
