"""The synth summary printed by `make synth` describes the assembly that was produced."""

from __future__ import annotations

from tools.synth_summary import main, summarize


def test_summary_lists_every_stage_with_gpu_capacity_and_gates(synth):
    text = summarize(synth.outdir)
    stages = [line.split(":")[0] for line in text.splitlines() if line.startswith("stage ")]
    assert stages == ["stage dev", "stage staging", "stage prod"]
    assert "t4: g4dn.12xlarge (4 x T4), 2-2 nodes, up to 8 GPUs" in text
    assert "a100: p4d.24xlarge (8 x A100-40GB), 2-2 nodes, up to 16 GPUs, EFA" in text
    assert "g6: Karpenter L4, weight 40, 0 to 16 GPUs" in text
    assert "gate AwsSolutions: success, 0 open finding(s)" in text


def test_summary_refuses_a_directory_without_an_assembly(tmp_path, capsys):
    assert main(["synth_summary", str(tmp_path)]) == 2
    assert "holds no cloud assembly" in capsys.readouterr().err
