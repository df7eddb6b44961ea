"""The direct transport to the jsii kernel (tools/jsii_transport.py): only for the jsii it was
checked against, and indistinguishable from jsii's own relay in what the app sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jsii.__meta__ import __version__ as jsii_version

from tools import jsii_transport

ROOT = Path(__file__).resolve().parent.parent

# One stack with what the app uses across the transport: construct creation, a Python callback
# from Node (a Lazy value resolved at synth), and a kernel error surfacing as a Python
# exception; prints the template and the kernel's argv.
APP = r"""
import json, os, sys
from tools import jsii_transport
jsii_transport.install()
import jsii
from aws_cdk import App, IStableStringProducer, Lazy, Stack, aws_s3 as s3
@jsii.implements(IStableStringProducer)
class Name:
    def produce(self):
        return "from-python"
app = App(outdir=sys.argv[1])
stack = Stack(app, "S")
s3.Bucket(stack, "B", bucket_name=Lazy.string(Name()))
try:
    s3.Bucket(stack, "B")
except RuntimeError as error:
    print("error:", str(error).splitlines()[0], file=sys.stderr)
app.synth()
from jsii._kernel import Kernel
kernel = Kernel().provider._process._process
print(json.dumps({"template": json.load(open(os.path.join(sys.argv[1], "S.template.json"))),
                  "argv": kernel.args}))
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[dict, str]]:
    """The app over each transport: {"direct"|"relay": (its printed JSON, its stderr)}."""
    results = {}
    for transport in ("direct", "relay"):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop(jsii_transport.DISABLE_ENV, None)
        if transport == "relay":
            env[jsii_transport.DISABLE_ENV] = "1"
        command = [sys.executable, "-c", APP, str(tmp_path_factory.mktemp(transport))]
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=True)
        results[transport] = (json.loads(done.stdout.strip().splitlines()[-1]), done.stderr)
    return results


def test_written_for_the_pinned_jsii():
    """A jsii bump must re-check the transport (the kernel's fd 3 protocol, _NodeProcess's
    attributes) before it runs again: until then it stands aside and this test says so."""
    assert jsii_version == jsii_transport.JSII_VERSION, (
        f"jsii is {jsii_version}; tools/jsii_transport.py was checked against {jsii_transport.JSII_VERSION}: "
        "check it against the new jsii and update JSII_VERSION"
    )


def test_the_suite_runs_over_it():
    assert jsii_transport.applies()


@pytest.mark.parametrize("transport", ["direct", "relay"])
def test_app_sees_the_same_kernel_either_way(runs, transport):
    result, stderr = runs[transport]
    bucket = result["template"]["Resources"]
    assert [r["Properties"]["BucketName"] for r in bucket.values() if r["Type"] == "AWS::S3::Bucket"] == [
        "from-python"
    ]
    assert "There is already a Construct with name 'B'" in stderr
    kernel_script = Path(result["argv"][-1]).name
    # direct: our shell starts the kernel program itself; relay: jsii's relay script
    assert kernel_script == {"direct": "program.js", "relay": "jsii-runtime.js"}[transport]


def test_templates_are_identical_over_both_transports(runs):
    assert runs["direct"][0]["template"] == runs["relay"][0]["template"]


def test_a_missing_node_is_jsii_s_own_error(tmp_path):
    """Without a Node.js to start, the direct start hands over to jsii's, whose error names
    the program it could not run (not a failed handshake on an empty socket)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JSII_NODE": str(tmp_path / "no-node")}
    env.pop(jsii_transport.DISABLE_ENV, None)
    done = subprocess.run([sys.executable, "-c", APP, str(tmp_path)], capture_output=True, text=True, env=env)
    assert done.returncode != 0
    assert "FileNotFoundError" in done.stderr and "no-node" in done.stderr
    assert "JSONDecodeError" not in done.stderr
