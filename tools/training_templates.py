"""Write the manifests teams apply themselves, and the EFA acceptance test of a pool.

``make templates STAGE=dev`` writes, under ``cdk.out/templates/<stage>/``, one example TrainJob
and one RayCluster per GPU pool (apply them in a team namespace), and with ``workloads.rdma`` on
the RDMA test pod. ``make efa-test STAGE=dev POOL=<pool> [TYPE=<instance type>]`` writes the
pool's EFA/NCCL test and prints the kubectl commands that run it and judge its result. Nothing
here talks to a cluster: the commands are for whoever holds the stage's kubeconfig.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from k8s_charts.efa_test import EfaTest, efa_pool_types
from k8s_charts.ray_clusters import ray_cluster, ray_pools
from k8s_charts.rdma import rdma_test_pod
from k8s_charts.training import example_trainjob
from platform_config import gpu_catalog
from platform_config.loader import CONFIG_DIR, StageConfigError, load_stage_file
from platform_config.model import StageConfig

OUT = Path("cdk.out")


class TemplateError(Exception):
    """A request the stage cannot serve (a pool it lacks, a feature it has off)."""


def _efa_pools(config: StageConfig) -> dict[str, bool]:
    return {p.name: p.efa for p in config.gpu_pools} | {
        p.name: p.efa for p in config.karpenter.gpu_node_pools
    }


def templates(config: StageConfig) -> dict[str, list[dict]]:
    """File name -> the manifests in it."""
    files: dict[str, list[dict]] = {}
    efa = _efa_pools(config)
    if config.workloads.training.enabled:
        for pool, instances in config.gpu_pool_instances().items():
            files[f"trainjob-{pool}.yaml"] = [example_trainjob(pool, instances, efa=efa[pool])]
    if config.workloads.ray.enabled:
        for ray_pool in ray_pools(config):
            files[f"raycluster-{ray_pool.name}.yaml"] = [ray_cluster(ray_pool, config.workloads.ray)]
    if config.workloads.rdma.enabled:
        files["rdma-test-pod.yaml"] = [rdma_test_pod(config.workloads.rdma)]
    return files


def efa_test(config: StageConfig, pool: str, instance_type: str | None = None) -> EfaTest:
    efa = _efa_pools(config)
    if pool not in efa:
        raise TemplateError(
            f"POOL={pool!r} is not a GPU pool of stage {config.name}; allowed: {', '.join(efa)}"
        )
    if not efa[pool]:
        capable = [name for name, on in efa.items() if on]
        raise TemplateError(
            f"POOL={pool!r} has no EFA (efa: false); allowed: the stage's EFA pools {capable or '(none)'}"
        )
    if not config.workloads.training.enabled:
        raise TemplateError(
            f"stage {config.name} has workloads.training off; Kubeflow Trainer runs the EFA test, so "
            "allowed: turn workloads.training on"
        )
    types = efa_pool_types(config.gpu_pool_instances()[pool])
    chosen = types[0]
    if instance_type is not None:
        by_name = {t.instance_type: t for t in types}
        if instance_type not in by_name:
            raise TemplateError(
                f"TYPE={instance_type!r} is not an EFA type of pool {pool}; allowed: {', '.join(by_name)}"
            )
        chosen = by_name[instance_type]
    return EfaTest(pool, chosen)


def _write(path: Path, manifests: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(manifests, sort_keys=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["templates", "acceptance"], help="acceptance: the EFA test")
    parser.add_argument("--stage", required=True, help="a stage name (config/<stage>.yaml) or a stage file")
    parser.add_argument("--pool")
    parser.add_argument("--instance-type")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    stage_file = Path(args.stage) if args.stage.endswith(".yaml") else CONFIG_DIR / f"{args.stage}.yaml"
    try:
        config = load_stage_file(stage_file)
        if args.command == "templates":
            for name, manifests in templates(config).items():
                _write(args.out / "templates" / config.name / name, manifests)
                print(args.out / "templates" / config.name / name)
            return 0
        if not args.pool:
            raise TemplateError("POOL is required, e.g. make efa-test STAGE=dev POOL=<an EFA pool>")
        test = efa_test(config, args.pool, args.instance_type)
    except (StageConfigError, TemplateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = args.out / "efa" / f"{config.name}-{test.pool}.yaml"
    _write(path, test.manifests())
    gbps = gpu_catalog.EFA_NETWORK_GBPS[test.instance.instance_type]
    print(
        f"# EFA/NCCL acceptance test of pool {test.pool}: 2 x {test.instance.instance_type}, "
        f"{test.instance.gpus} GPUs and {test.instance.efa_interfaces} EFA interfaces per node\n"
        f"# pass mark: average bus bandwidth >= {test.pass_mark_gbs} GB/s "
        f"({gpu_catalog.NCCL_PASS_SHARE:.0%} of {gbps} Gbps; platform_config/gpu_catalog.py)"
    )
    print("\n".join(test.commands(str(path))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
