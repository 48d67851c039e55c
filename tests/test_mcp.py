"""The MCP server, driven by the official SDK's own client: `qa mcp` started as a subprocess on
stdio, and /mcp on the real server on 127.0.0.1, with and without its key, over the sample index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from tests.conftest import ROOT, SAMPLE_CORPUS
from tests.live_server import LiveServer

from qa.config import Config
from qa.service import Assistant

QUESTION = "How many people have left Chechnya to join the fighting in Syria?"
KEY = "correct-horse-battery-staple-42"
TOOLS = {"search", "ask", "cite", "verify", "documents"}


async def use_every_tool(client: Client) -> None:
    """List the tools and resources, call each tool, follow an answer's citations through `cite`
    to the quoted text and into the document it names, and meet the errors a user can make."""
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and "\n" not in tool.description
        assert tool.input_schema["type"] == "object" and tool.output_schema["type"] == "object"
    assert tools["ask"].input_schema["required"] == ["question"]

    listed = await client.call_tool("documents", {})
    doc_ids = [d["doc_id"] for d in listed.structured_content["documents"]]
    assert doc_ids == sorted(p.name for p in SAMPLE_CORPUS.glob("*.txt"))
    assert json.loads(listed.content[0].text) == listed.structured_content  # the same, as JSON text
    resources = (await client.list_resources()).resources
    assert [r.uri for r in resources] == [f"qa://documents/{doc_id}" for doc_id in doc_ids]

    found = await client.call_tool("search", {"query": "Kadyrov spy network", "top_k": 3,
                                              "filters": {"since": "2016-01-01"}})
    assert not found.is_error and len(found.structured_content["results"]) == 3

    asked = await client.call_tool("ask", {"question": QUESTION})
    answer = asked.structured_content
    assert not asked.is_error and not answer["abstained"] and "405" in answer["answer"]
    assert answer["citations"] and all(f"[{c['n']}]" in answer["answer"] for c in answer["citations"])
    for citation in answer["citations"]:
        cited = await client.call_tool("cite", {"id": citation["id"]})
        resolved = cited.structured_content
        assert not cited.is_error and resolved["quote"] == citation["quote"] and resolved["title"]
        document = (await client.read_resource(resolved["uri"])).contents[0].text
        assert document[citation["start"]:citation["end"]] == citation["quote"]

    checked = await client.call_tool("verify", {"answer": "405 people left Chechnya for Syria.",
                                                "passages": ["A total of 405 people have left Chechnya for Syria."]})
    assert checked.structured_content["supported"] is True
    assert checked.structured_content["sentences"][0]["source"]["passage"] == 0

    # The product's own one-line messages, as tool errors the agent can read and act on.
    errors = {
        ("cite", "not-a-citation"): "not a citation id: 'not-a-citation' is not <doc_id>:<start>-<end>",
        ("search", "filtered"): "no indexed document 'nope.txt'; the documents tool lists them",
        ("ask", "empty"): "the question is empty",
        ("search", "top_k"): "top_k: Input should be less than or equal to 50",
    }
    calls = {("cite", "not-a-citation"): {"id": "not-a-citation"},
             ("search", "filtered"): {"query": QUESTION, "filters": {"doc_ids": ["nope.txt"]}},
             ("ask", "empty"): {"question": "   "},
             ("search", "top_k"): {"query": QUESTION, "top_k": 500}}
    for (tool, case), arguments in calls.items():
        failed = await client.call_tool(tool, arguments)
        assert failed.is_error and len(failed.content) == 1, (tool, case)
        assert failed.content[0].text.startswith(errors[tool, case]) and "\n" not in failed.content[0].text


def test_qa_mcp_on_stdio_serves_every_tool_to_the_sdk_client(sample_index_dir):
    server = StdioServerParameters(command=sys.executable, args=["-m", "qa.cli", "--index-dir", str(sample_index_dir),
                                                                 "mcp"], env=dict(os.environ), cwd=str(ROOT))

    async def session() -> None:
        async with Client(server, read_timeout_seconds=300) as client:
            await use_every_tool(client)

    anyio.run(session)


def test_qa_mcp_without_an_index_says_so_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "qa.cli", "--index-dir", str(tmp_path / "none"), "mcp"], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"qa: error: no index in {tmp_path / 'none'}; build one with 'qa ingest' first\n"


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory, sample_index_dir, embedder, support_model):
    root = tmp_path_factory.mktemp("mcp-keyed")
    shutil.copytree(sample_index_dir, root / "index")
    config = Config(index_dir=root / "index", corpus_dir=SAMPLE_CORPUS, api_key=KEY)
    with LiveServer(Assistant(config, embedder=embedder, support=support_model)) as live:
        yield live


def test_mcp_over_http_with_the_key_serves_every_tool(keyed_server):
    async def session() -> None:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=300) as http:
            async with Client(streamable_http_client(keyed_server.url + "/mcp", http_client=http)) as client:
                await use_every_tool(client)

    anyio.run(session)


def test_mcp_over_http_without_the_key_gets_401(keyed_server):
    statuses: list[int] = []

    async def record(response) -> None:
        statuses.append(response.status_code)

    async def session() -> None:
        async with httpx2.AsyncClient(event_hooks={"response": [record]}, timeout=60) as http:
            async with Client(streamable_http_client(keyed_server.url + "/mcp", http_client=http)) as client:
                await client.list_tools()

    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its own error (in an exception group)
        anyio.run(session)
    assert statuses and set(statuses) == {401}

    for key in (None, "not-the-key"):
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        refused = httpx.post(keyed_server.url + "/mcp", headers=headers, timeout=60,
                             json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert refused.status_code == 401
        assert refused.json() == {"error": "this server needs its key: send Authorization: Bearer <key>"}


def test_mcp_over_http_answers_only_to_its_host_names_caps_bodies_and_holds_no_stream(keyed_server):
    auth = {"Authorization": f"Bearer {KEY}"}
    rebound = httpx.post(keyed_server.url + "/mcp", headers=auth | {"Host": "attacker.example"}, timeout=60,
                         json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert rebound.status_code == 400 and "host name" in rebound.json()["error"]
    huge = httpx.post(keyed_server.url + "/mcp", headers=auth | {"content-type": "application/json"}, timeout=60,
                      content=b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list", "x": "' + b"x" * 1_100_000 + b'"}')
    assert huge.status_code == 413
    # A stateless server has no stream of its own to send: a GET is refused, not held open for ever.
    stream = httpx.get(keyed_server.url + "/mcp", headers=auth | {"accept": "text/event-stream"}, timeout=60)
    assert stream.status_code == 405
