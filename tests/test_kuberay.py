"""The KubeRay RayJob under deploy/kuberay, validated offline: its own fields against a schema of the part of
the ray.io/v1 RayJob that it uses, its pod templates against the Kubernetes schemas, its command against
`ner tag`."""

from __future__ import annotations

import copy
import re
import shlex
import tomllib

import pytest
import yaml

from ner.cli import build_parser

from .conftest import MODELS, ROOT

jsonschema = pytest.importorskip("jsonschema")
kubernetes_validate = pytest.importorskip("kubernetes_validate")
MANIFEST = ROOT / "deploy" / "kuberay" / "rayjob.yaml"
VERSION = "1.30.0"

STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
QUANTITY = {"type": ["string", "integer"]}
POD_TEMPLATE = {"type": "object", "required": ["spec"], "properties": {"metadata": {"type": "object"}}}
GROUP = {
    "rayStartParams": STRINGS,  # passed to `ray start` as strings: KubeRay rejects numbers here
    "template": POD_TEMPLATE,
}
RAYJOB_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "ray.io/v1"},
        "kind": {"const": "RayJob"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["entrypoint", "rayClusterSpec"],
            "additionalProperties": False,
            "properties": {
                "entrypoint": {"type": "string", "minLength": 1},
                "submissionMode": {"enum": ["K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"]},
                "shutdownAfterJobFinishes": {"type": "boolean"},
                "ttlSecondsAfterFinished": {"type": "integer", "minimum": 0},
                "activeDeadlineSeconds": {"type": "integer", "minimum": 1},
                "backoffLimit": {"type": "integer", "minimum": 0},
                "runtimeEnvYAML": {"type": "string"},
                "rayClusterSpec": {
                    "type": "object",
                    "required": ["headGroupSpec"],
                    "additionalProperties": False,
                    "properties": {
                        "rayVersion": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
                        "enableInTreeAutoscaling": {"type": "boolean"},
                        "headGroupSpec": {
                            "type": "object",
                            "required": ["template"],
                            "additionalProperties": False,
                            "properties": {**GROUP, "serviceType": {"type": "string"}},
                        },
                        "workerGroupSpecs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["groupName", "template"],
                                "additionalProperties": False,
                                "properties": {
                                    **GROUP,
                                    "groupName": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                                    "replicas": {"type": "integer", "minimum": 0},
                                    "minReplicas": {"type": "integer", "minimum": 0},
                                    "maxReplicas": {"type": "integer", "minimum": 0},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def load() -> dict:
    return yaml.safe_load(MANIFEST.read_text())


def groups(job: dict) -> list[dict]:
    cluster = job["spec"]["rayClusterSpec"]
    return [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]


def test_rayjob_fields_match_the_schema() -> None:
    jsonschema.validate(load(), RAYJOB_SCHEMA)


def test_schema_rejects_a_broken_rayjob() -> None:
    number = load()
    number["spec"]["rayClusterSpec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] = 0
    misspelt = load()
    misspelt["spec"]["shutdownAfterJobFinish"] = misspelt["spec"].pop("shutdownAfterJobFinishes")
    for broken in (number, misspelt):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, RAYJOB_SCHEMA)


@pytest.mark.parametrize("index", [0, 1], ids=["head", "workers"])
def test_pod_templates_are_valid_kubernetes(index: int) -> None:
    template = groups(load())[index]["template"]
    pod_template = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "ray"}, "template": template}
    kubernetes_validate.validate(pod_template, VERSION, strict=True)
    broken = copy.deepcopy(pod_template)
    broken["template"]["spec"]["containers"][0]["cpu"] = "4"  # outside resources
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_rayjob_wiring() -> None:
    job = load()
    command = shlex.split(job["spec"]["entrypoint"])
    assert command[0] == "ner"
    args = build_parser().parse_args(command[1:])
    assert (args.command, args.engine, args.address) == ("tag", "ray", "auto")
    assert args.out.startswith("s3://") and all(f.startswith("s3://") for f in args.files)
    assert args.model.startswith("/models/") and (MODELS / args.model.removeprefix("/models/")).is_dir()

    head, workers = groups(job)
    assert head["rayStartParams"]["num-cpus"] == "0"
    worker = workers["template"]["spec"]["containers"][0]
    assert args.workers == workers["replicas"] * int(worker["resources"]["limits"]["cpu"])
    assert workers["minReplicas"] == workers["replicas"] == workers["maxReplicas"]
    assert head["template"]["spec"]["containers"][0]["image"] == worker["image"]

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (pin,) = [re.fullmatch(r"ray\[[a-z,]+\]==(.+)", r) for r in extras["ray"] if r.startswith("ray")]
    assert pin and job["spec"]["rayClusterSpec"]["rayVersion"] == pin.group(1)
