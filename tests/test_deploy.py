"""Kubernetes manifests under deploy/k8s, validated offline against the bundled Kubernetes schemas."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

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
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    env = {e["name"]: e for e in container["env"]}
    assert env["NER_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == load("secret.example.yaml")["metadata"]["name"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "models")
    assert mount["readOnly"] and env["NER_MODELS_DIR"]["value"] == mount["mountPath"]
    claim = next(v for v in pod["volumes"] if v["name"] == "models")["persistentVolumeClaim"]["claimName"]
    assert claim == load("models-pvc.yaml")["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"]
    hpa = load("hpa.yaml")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    service = load("service.yaml")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    kustomization = load("kustomization.yaml")
    assert set(kustomization["resources"]) == {p.name for p in MANIFESTS} - {
        "kustomization.yaml",
        "secret.example.yaml",
    }
