#!/usr/bin/env bash
# End-to-end on a local Kubernetes (kind), for machines with Docker and kind:
#
#   bash scripts/kind-e2e.sh
#
# 1. creates a kind cluster (unless one named $KIND_CLUSTER exists);
# 2. builds the image with docker and `kind load`s it (no registry needed);
# 3. `helm install`s the chart with a 512Mi limit and the demo TaskManagers,
#    waits for the rollout, runs `helm test` (readiness + injected plan);
# 4. submits a bounded job and waits until it FINISHES;
# 5. `helm upgrade`s to a 1Gi limit: the pod must be replaced (checksum/config)
#    and the new pod must run the new plan (process size, heap, V8 flags);
#    `helm test` again;
# 6. `helm uninstall`s and deletes the namespace (and the cluster, if this
#    script created it, unless KEEP_CLUSTER=1).
#
# Env: KIND_CLUSTER (default jobmanager-e2e), NAMESPACE (jobmanager-e2e),
# RELEASE (jm), IMAGE (jobmanager:kind-e2e), KEEP_CLUSTER=1 to keep it.
# Needs: docker, kind, kubectl; helm from PATH or scripts/ensure-helm.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CLUSTER=${KIND_CLUSTER:-jobmanager-e2e}
NS=${NAMESPACE:-jobmanager-e2e}
RELEASE=${RELEASE:-jm}
IMAGE=${IMAGE:-jobmanager:kind-e2e}
KEEP=${KEEP_CLUSTER:-0}
CTX="kind-$CLUSTER"
FULLNAME="$RELEASE-jobmanager"
[ "$RELEASE" = jobmanager ] && FULLNAME=$RELEASE

step() { printf '\n== %s\n' "$*"; }
die() { echo "kind-e2e: FAILED: $*" >&2; exit 1; }

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required (see README: Install on Kubernetes)"
done
docker info >/dev/null 2>&1 || die "docker is installed but its daemon is not reachable"
HELM=$(bash scripts/ensure-helm.sh) || die "no helm"

created_cluster=0
installed=0
cleanup() {
  status=$?
  if [ "$status" -ne 0 ] && [ "$installed" = 1 ]; then
    echo "--- diagnostics" >&2
    kubectl --context "$CTX" -n "$NS" get all >&2 || true
    kubectl --context "$CTX" -n "$NS" describe pods -l "app.kubernetes.io/instance=$RELEASE" >&2 | tail -60 || true
    kubectl --context "$CTX" -n "$NS" logs "deployment/$FULLNAME" --tail=50 >&2 || true
  fi
  if [ "$installed" = 1 ]; then
    "$HELM" --kube-context "$CTX" -n "$NS" uninstall "$RELEASE" --wait >/dev/null 2>&1 || true
  fi
  kubectl --context "$CTX" delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  if [ "$created_cluster" = 1 ] && [ "$KEEP" != 1 ]; then
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
  exit "$status"
}
trap cleanup EXIT

# --- 1. cluster -------------------------------------------------------------------
step "kind cluster $CLUSTER"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "reusing existing cluster $CLUSTER"
else
  kind create cluster --name "$CLUSTER" --wait 180s
  created_cluster=1
fi
kubectl --context "$CTX" get nodes

# --- 2. image ---------------------------------------------------------------------
step "docker build $IMAGE and kind load"
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

k() { kubectl --context "$CTX" -n "$NS" "$@"; }
h() { "$HELM" --kube-context "$CTX" -n "$NS" "$@"; }
jm_pod() {
  k get pods -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=jobmanager" \
    --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}'
}
pod_env() { k get pod "$1" -o jsonpath="{.spec.containers[0].env[?(@.name==\"$2\")].value}"; }
# GET/POST against the JobManager's REST API from inside its pod (node is there; no port-forward).
rest() {
  local pod=$1 method=$2 path=$3 body=${4:-}
  k exec "$pod" -c jobmanager -- node -e '
    const [method, path, body] = process.argv.slice(1);
    fetch("http://127.0.0.1:" + (process.env.REST_PORT || 8081) + path,
      { method, headers: { "content-type": "application/json" }, body: body || undefined })
      .then(async (r) => { const t = await r.text(); if (!r.ok) { console.error(r.status + " " + t); process.exit(1); } console.log(t); })
      .catch((e) => { console.error(e.message); process.exit(1); });' "$method" "$path" "$body"
}
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v?.[k];console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"; }

# verify_plan LIMIT_BYTES: the running pod's env and /jobmanager/memory show the plan for that limit.
verify_plan() {
  local want=$1 pod env_process env_heap flags memory
  pod=$(jm_pod)
  [ -n "$pod" ] || die "no running JobManager pod"
  env_process=$(pod_env "$pod" JOBMANAGER_PROCESS_MEMORY_SIZE)
  env_heap=$(pod_env "$pod" JOBMANAGER_HEAP_MEMORY_SIZE)
  flags=$(pod_env "$pod" NODE_OPTIONS)
  [ "$env_process" = "$want" ] || die "pod $pod: JOBMANAGER_PROCESS_MEMORY_SIZE=$env_process, expected $want"
  memory=$(rest "$pod" GET /jobmanager/memory)
  [ "$(json_field plan.process <<<"$memory")" = "$want" ] || die "pod $pod: /jobmanager/memory process is not $want"
  [ "$(json_field plan.heap <<<"$memory")" = "$env_heap" ] || die "pod $pod: running heap differs from the injected $env_heap"
  [ "$(json_field plan.containerLimit <<<"$memory")" = "$want" ] || die "pod $pod: container limit is not $want"
  [ "$(json_field plan.flags <<<"$memory")" = "$(node -e 'console.log(JSON.stringify(process.argv[1].split(" ")))' "$flags")" ] \
    || die "pod $pod: running flags differ from NODE_OPTIONS ($flags)"
  echo "pod $pod runs the plan for $want bytes: heap $env_heap, $flags"
}

# --- 3. install -------------------------------------------------------------------
step "helm install $RELEASE (512Mi, demo TaskManagers)"
installed=1
h install "$RELEASE" chart --create-namespace \
  --set "image.repository=${IMAGE%:*}" --set "image.tag=${IMAGE##*:}" --set image.pullPolicy=Never \
  --set resources.requests.memory=512Mi --set resources.limits.memory=512Mi \
  --set taskManagerSim.enabled=true --set taskManagerSim.count=2 --set taskManagerSim.slots=4 \
  --wait --timeout 5m
k rollout status "deployment/$FULLNAME" --timeout 180s
k rollout status "deployment/$FULLNAME-taskmanager-sim" --timeout 180s
h test "$RELEASE" --logs --timeout 3m
verify_plan $((512 * 1024 * 1024))

# --- 4. a job -----------------------------------------------------------------------
step "a bounded job on the simulated TaskManagers"
pod=$(jm_pod)
for _ in $(seq 1 60); do
  tms=$(rest "$pod" GET /overview | json_field taskmanagers)
  [ "$tms" -ge 2 ] 2>/dev/null && break
  sleep 2
done
[ "${tms:-0}" -ge 2 ] || die "simulated TaskManagers did not register (have ${tms:-0})"
job='{"name":"kind-e2e","vertices":[{"id":"source","name":"Source","parallelism":2,"config":{"sim.finish-after-ms":"2000"}},{"id":"sink","name":"Sink","parallelism":2,"config":{"sim.finish-after-ms":"3000"}}],"edges":[{"source":"source","target":"sink","distribution":"ALL_TO_ALL"}],"restartStrategy":{"type":"none"}}'
jobid=$(rest "$pod" POST /jobs "$job" | json_field jobid)
state=""
for _ in $(seq 1 60); do
  state=$(rest "$pod" GET "/jobs/$jobid" | json_field state)
  case "$state" in FINISHED|FAILED|CANCELED) break ;; esac
  sleep 1
done
[ "$state" = FINISHED ] || die "job $jobid ended as ${state:-unknown}"
echo "job $jobid FINISHED"

# --- 5. upgrade with a new memory limit ---------------------------------------------
step "helm upgrade to a 1Gi limit: the pod is replaced and runs the new plan"
old_pod=$(jm_pod)
old_token=$(k get secret "$FULLNAME-rpc" -o jsonpath='{.data.token}')
old_checksum=$(k get deployment "$FULLNAME" -o json | json_field 'spec.template.metadata.annotations.checksum/config')
h upgrade "$RELEASE" chart --reuse-values \
  --set resources.requests.memory=1Gi --set resources.limits.memory=1Gi --wait --timeout 5m
k rollout status "deployment/$FULLNAME" --timeout 180s
new_checksum=$(k get deployment "$FULLNAME" -o json | json_field 'spec.template.metadata.annotations.checksum/config')
[ "$new_checksum" != "$old_checksum" ] || die "checksum/config did not change"
[ "$(k get secret "$FULLNAME-rpc" -o jsonpath='{.data.token}')" = "$old_token" ] || die "the generated RPC token changed on upgrade"
echo "RPC token kept across the upgrade"
for _ in $(seq 1 60); do
  new_pod=$(jm_pod || true)
  [ -n "$new_pod" ] && [ "$new_pod" != "$old_pod" ] && break
  sleep 2
done
[ "$new_pod" != "$old_pod" ] || die "the JobManager pod was not replaced"
echo "pod replaced: $old_pod -> $new_pod"
verify_plan $((1024 * 1024 * 1024))
h test "$RELEASE" --logs --timeout 3m

# --- 6. uninstall ---------------------------------------------------------------------
step "helm uninstall"
h uninstall "$RELEASE" --wait
installed=0
left=$(k get deployments,services,configmaps,secrets -l "app.kubernetes.io/instance=$RELEASE" -o name 2>/dev/null || true)
[ -z "$left" ] || die "left behind after uninstall: $left"

echo
echo "kind-e2e: PASSED (install, helm test, job FINISHED, upgrade 512Mi -> 1Gi rolled the pod to the new plan, uninstall)"
