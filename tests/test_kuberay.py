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
POLICY = ROOT / "deploy" / "kuberay" / "networkpolicy.yaml"
LABEL = {"app.kubernetes.io/name": "ner-bulk-tag"}
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
                "submitterPodTemplate": POD_TEMPLATE,
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


def pod_templates(job: dict) -> list[dict]:
    """The head's, the workers' and the submitter's."""
    return [group["template"] for group in groups(job)] + [job["spec"]["submitterPodTemplate"]]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["head", "workers", "submitter"])
def test_pod_templates_are_valid_kubernetes(index: int) -> None:
    template = pod_templates(load())[index]
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
    (model,) = args.models
    assert model.startswith("/models/") and (MODELS / model.removeprefix("/models/")).is_dir()

    head, workers = groups(job)
    assert head["rayStartParams"]["num-cpus"] == "0"
    worker = workers["template"]["spec"]["containers"][0]
    assert args.workers == workers["replicas"] * int(worker["resources"]["limits"]["cpu"])
    assert workers["minReplicas"] == workers["replicas"] == workers["maxReplicas"]
    assert head["template"]["spec"]["containers"][0]["image"] == worker["image"]

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (pin,) = [re.fullmatch(r"ray\[[a-z,]+\]==(.+)", r) for r in extras["ray"] if r.startswith("ray")]
    assert pin and job["spec"]["rayClusterSpec"]["rayVersion"] == pin.group(1)


def test_every_pod_is_hardened_and_labelled_for_the_network_policy() -> None:
    for template in pod_templates(load()):
        assert template["metadata"]["labels"] == LABEL
        spec = template["spec"]
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (container,) = spec["containers"]
        assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def test_network_policy_lets_only_the_job_and_the_operator_reach_the_dashboard() -> None:
    policy = yaml.safe_load(POLICY.read_text())
    kubernetes_validate.validate(policy, VERSION, strict=True)
    assert policy["spec"]["podSelector"] == {"matchLabels": LABEL}
    assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    own, operator = policy["spec"]["ingress"]
    assert own == {"from": [{"podSelector": {"matchLabels": LABEL}}]}  # Ray's own traffic, any port
    assert operator["ports"] == [{"port": 8265, "protocol": "TCP"}]  # the dashboard only
    (source,) = operator["from"]
    assert set(source) == {"namespaceSelector"}
    ports = {(p["port"], p["protocol"]) for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
    assert ports == {(53, "UDP"), (53, "TCP"), (443, "TCP")}
