"""A minimal agent: the smallest program that shows how a team runs one on the platform.

Every ``INTERVAL_SECONDS`` it observes (a tool: the current time), asks the model served at
``OPENAI_BASE_URL`` what to make of it (``/chat/completions``, the OpenAI-compatible API of
vLLM, TGI and Dynamo) and logs the answer as one JSON line; ``/healthz`` on 8080 answers the
kubelet. Standard library only: an agent framework (CrewAI, LangGraph, AutoGen) is a library
in the team's own image, pointed at the same base URL, never a platform component.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

BASE_URL = os.environ["OPENAI_BASE_URL"].rstrip("/")
MODEL = os.environ["MODEL"]
INTERVAL_SECONDS = int(os.environ.get("INTERVAL_SECONDS", "300"))
HEALTH_PORT = 8080


def utc_time() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def chat(messages: list[dict[str, str]]) -> str:
    body = json.dumps({"model": MODEL, "messages": messages, "max_tokens": 128}).encode()
    request = urllib.request.Request(
        f"{BASE_URL}/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return str(json.load(response)["choices"][0]["message"]["content"])


def step() -> None:
    """One observe-think-act turn; the 'act' is the log line a real agent would replace."""
    observation = utc_time()
    answer = chat(
        [
            {"role": "system", "content": "You are a scheduling assistant. Answer in one sentence."},
            {"role": "user", "content": f"It is {observation}. Is it business hours in Berlin?"},
        ]
    )
    print(json.dumps({"observation": observation, "answer": answer}), flush=True)


def run_forever() -> None:
    while True:
        try:
            step()
        except Exception as error:  # an unreachable or failing model is logged, then retried
            print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
        time.sleep(INTERVAL_SECONDS)


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Probes every few seconds would drown the agent's own lines."""


if __name__ == "__main__":
    threading.Thread(target=run_forever, daemon=True).start()
    HTTPServer(("", HEALTH_PORT), Health).serve_forever()
