"""Kubernetes manifests under deploy/k8s, validated offline against the bundled Kubernetes schemas."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from api.settings import Settings

from .conftest import ROOT

kubernetes_validate = pytest.importorskip("kubernetes_validate")
MANIFESTS = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
VERSION = "1.30.0"


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / "deploy" / "k8s" / name).read_text())


@pytest.mark.parametrize("path", [p for p in MANIFESTS if p.name != "kustomization.yaml"], ids=lambda p: p.name)
def test_manifest_is_valid(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(document, VERSION, strict=True)


def test_validator_rejects_a_broken_manifest() -> None:
    broken = copy.deepcopy(load("deployment.yaml"))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)
    unknown = copy.deepcopy(load("deployment.yaml"))
    unknown["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, VERSION, strict=True)


def test_deployment_wiring() -> None:
    deployment = load("deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["resources"]["requests"] and container["resources"]["limits"]
    env = {e["name"]: e for e in container["env"]}
    secret = load("secret.example.yaml")
    reference = env["NER_API_KEYS"]["valueFrom"]["secretKeyRef"]
    assert reference["name"] == secret["metadata"]["name"] and reference["key"] in secret["stringData"]
    assert "NER_API_KEY" not in env
    Settings(api_keys=secret["stringData"][reference["key"]])  # the example parses as id:key pairs
    mount = next(m for m in container["volumeMounts"] if m["name"] == "models")
    assert mount["readOnly"] and env["NER_MODELS_DIR"]["value"] == mount["mountPath"]
    claim = next(v for v in pod["volumes"] if v["name"] == "models")["persistentVolumeClaim"]["claimName"]
    assert claim == load("models-pvc.yaml")["metadata"]["name"]
    hpa = load("hpa.yaml")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    service = load("service.yaml")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]  # metrics stay off the Service
    kustomization = load("kustomization.yaml")
    assert set(kustomization["resources"]) == {p.name for p in MANIFESTS} - {
        "kustomization.yaml",
        "secret.example.yaml",
    }


def test_metrics_port_agrees_everywhere() -> None:
    template = load("deployment.yaml")["spec"]["template"]
    (container,) = template["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    defaults = Settings.model_fields
    assert ports["http"] == defaults["port"].default and ports["metrics"] == defaults["metrics_port"].default
    assert env["NER_METRICS_PORT"] == str(ports["metrics"])
    annotations = template["metadata"]["annotations"]
    assert (
        annotations["prometheus.io/port"] == str(ports["metrics"]) and annotations["prometheus.io/path"] == "/metrics"
    )


def test_pod_hardening() -> None:
    deployment = load("deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"]
    assert context["capabilities"]["drop"] == ["ALL"]
    pause = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep" and int(pause[1]) > 0
    assert pod["terminationGracePeriodSeconds"] >= int(pause[1]) + 30  # then uvicorn's 30 s graceful shutdown


def test_network_policy_opens_the_api_and_keeps_metrics_inside() -> None:
    policy = load("networkpolicy.yaml")
    labels = load("deployment.yaml")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"} and policy["spec"]["egress"] == []
    rules = {rule["ports"][0]["port"]: rule for rule in policy["spec"]["ingress"]}
    assert set(rules) == {"http", "metrics"}
    assert "from" not in rules["http"]
    (source,) = rules["metrics"]["from"]
    assert set(source) == {"namespaceSelector"}
