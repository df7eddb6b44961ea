"""README tables derived from the platform's catalogues, so the README cannot drift from them.

`python -m tools.readme_tables` rewrites each table between its markers in README.md;
`tests/test_readme.py` fails when a table in the README differs from what this renders.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from platform_config import cpu_catalog, gpu_catalog, mig_catalog

README = Path(__file__).resolve().parent.parent / "README.md"


def _size(instance_type: str) -> str:
    return instance_type.split(".", 1)[1]


def _efa(gpu: gpu_catalog.GpuInstance) -> str:
    return f" ({gpu.efa_interfaces})" if gpu.supports_efa else ""


def gpu_catalog_table() -> str:
    rows = ["| Family | GPU | Architecture | Sizes: GPUs per node (EFA interfaces) |", "|---|---|---|---|"]
    for family in gpu_catalog.known_families():
        types = sorted(
            (t for t in gpu_catalog.GPU_INSTANCES.values() if t.family == family),
            key=lambda t: t.vcpus,
        )
        first = types[0]
        sizes = ", ".join(f"{_size(t.instance_type)} {t.gpus}" + _efa(t) for t in types)
        rows.append(
            f"| {family} | {first.gpu_model} {first.gpu_memory_gib} GiB | {first.architecture} | {sizes} |"
        )
    return "\n".join(rows)


def cpu_catalog_table() -> str:
    rows = ["| Family | Architecture | Sizes (vCPUs) |", "|---|---|---|"]
    for family in cpu_catalog.known_families():
        types = sorted(
            (t for t in cpu_catalog.CPU_INSTANCES.values() if t.family == family), key=lambda t: t.vcpus
        )
        sizes = ", ".join(f"{_size(t.instance_type)} {t.vcpus}" for t in types)
        rows.append(f"| {family} | {types[0].architecture} | {sizes} |")
    return "\n".join(rows)


def mig_catalog_table() -> str:
    """Per MIG-capable GPU: its profiles as compute/memory slices and the most per GPU."""
    rows = [
        "| GPU | Profiles: compute/7, memory/8 slices, at most n per GPU | Instance types | Source |",
        "|---|---|---|---|",
    ]
    for gpu in mig_catalog.MIG_GPUS.values():
        profiles = ", ".join(
            f"`{p.name}` {p.compute}/{p.memory} x{p.max_instances}" for p in gpu.profiles.values()
        )
        families = sorted(
            {t.family for t in gpu_catalog.GPU_INSTANCES.values() if t.gpu_model == gpu.gpu_model}
        )
        rows.append(f"| {gpu.gpu_model} | {profiles} | {', '.join(families)} | [NVIDIA]({gpu.source}) |")
    return "\n".join(rows)


TABLES = {
    "gpu-catalog": gpu_catalog_table,
    "cpu-catalog": cpu_catalog_table,
    "mig-catalog": mig_catalog_table,
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- table:{name} -->\n)(.*?)(<!-- /table:{name} -->)", re.S)


def table_in(text: str, name: str) -> str | None:
    """The README's current text of one generated table (None when its markers are missing)."""
    return m.group(2).rstrip("\n") if (m := _pattern(name).search(text)) else None


def tables_in(text: str) -> dict[str, str]:
    """The README's current text of each catalogue table."""
    return {name: found for name in TABLES if (found := table_in(text, name)) is not None}


def replace_table(text: str, name: str, table: str) -> str:
    """``text`` with the body between one table's markers replaced by ``table``."""
    return _pattern(name).sub(lambda m: m.group(1) + table + "\n" + m.group(3), text)


def rewrite(text: str) -> str:
    for name, render in TABLES.items():
        text = replace_table(text, name, render())
    return text


def main() -> int:
    README.write_text(rewrite(README.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
