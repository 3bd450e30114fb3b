#!/usr/bin/env bash
# The image, run exactly as the chart would run it, under its memory limit.
#
#   bash scripts/container-e2e.sh [values-file]      (default chart/ci/tiny-values.yaml)
#
# 1. builds the image from the unchanged Dockerfile (podman, --pull=never:
#    scripts/ci-system-deps.sh provides the base image and podman config);
# 2. renders the chart for the values file and extracts the JobManager
#    container: env (Downward API limits.memory resolved to bytes as the
#    kubelet does), user, read-only root filesystem, limits.memory, volumes
#    (ConfigMap appsettings.json, the RPC token Secret, the storage emptyDir,
#    /tmp), terminationGracePeriodSeconds;
# 3. `podman run`s the image with exactly those: --memory = limits.memory,
#    --user, --read-only, --tmpfs /tmp, --cap-drop ALL, no-new-privileges;
# 4. checks uid 1000, the read-only root, /readyz, and that /jobmanager/memory
#    reports the chart's plan (every size, the flags, V8's heap limit, the
#    container limit);
# 5. runs a small bounded job on simulated TaskManagers (the simulator from
#    the same image) until it FINISHES;
# 6. sends SIGTERM and requires exit code 0 within the grace period.
#
# Env: JM_PODMAN_DIR (podman config from ci-system-deps.sh), IMAGE (tag to
# build, default localhost/jobmanager:e2e), JM_E2E_SKIP_BUILD=1 (reuse IMAGE).
# Host networking: ports are picked free on 127.0.0.1 and set through the
# chart's service.restPort/rpcPort so the rendered env stays the source.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VALUES=${1:-chart/ci/tiny-values.yaml}
IMAGE=${IMAGE:-localhost/jobmanager:e2e}
W=${JM_PODMAN_DIR:-/tmp/jobmanager-podman}
RUN_ID=jm-e2e-$$
step() { printf '\n== %s\n' "$*"; }
die() { echo "container-e2e: FAILED: $*" >&2; exit 1; }

[ -f "$VALUES" ] || die "values file $VALUES not found"
command -v podman >/dev/null 2>&1 || die "podman not installed (run scripts/ci-system-deps.sh)"
[ -f "$W/env.sh" ] || bash scripts/ci-system-deps.sh
# shellcheck source=/dev/null
. "$W/env.sh"
HELM=$(bash scripts/ensure-helm.sh) || die "no helm"
command -v curl >/dev/null 2>&1 || die "curl not installed"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/$RUN_ID.XXXXXX")
JM="$RUN_ID-jobmanager"
TM="$RUN_ID-taskmanager-sim"
cleanup() {
  podman rm -f -t 0 "$JM" "$TM" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
REST_PORT=$(free_port)
RPC_PORT=$(free_port)
TM_PORT=$(free_port)

# --- 1. image ----------------------------------------------------------------
if [ "${JM_E2E_SKIP_BUILD:-}" != 1 ]; then
  step "build $IMAGE from the unchanged Dockerfile"
  podman build --pull=never --network host -q -t "$IMAGE" . >/dev/null
fi
podman image exists "$IMAGE" || die "image $IMAGE missing"
[ "$(podman image inspect "$IMAGE" --format '{{.Config.User}}')" = "1000:1000" ] || die "image does not run as 1000:1000"

# --- 2. render ---------------------------------------------------------------
step "render the chart for $VALUES"
"$HELM" template jm chart -f "$VALUES" \
  --set "image.repository=${IMAGE%:*}" --set "image.tag=${IMAGE##*:}" \
  --set "service.restPort=$REST_PORT" --set "service.rpcPort=$RPC_PORT" > "$TMP/rendered.yaml"

# Node (with the project's `yaml` package) turns the rendered pod into podman
# arguments; every value comes from the manifests.
JM_TMP=$TMP node --input-type=module - <<'EOF'
import { readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
const tmp = process.env.JM_TMP;
const docs = parseAllDocuments(readFileSync(`${tmp}/rendered.yaml`, 'utf8')).map((d) => d.toJS()).filter(Boolean);
const deployment = docs.find((d) => d.kind === 'Deployment' && d.spec.template.metadata.labels['app.kubernetes.io/component'] === 'jobmanager');
const pod = deployment.spec.template.spec;
const c = pod.containers.find((x) => x.name === 'jobmanager');
const quantity = (q) => {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(String(q));
  if (!m) throw new Error(`not a quantity: ${q}`);
  const mult = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 }[m[2] ?? ''];
  return Math.ceil(Number(m[1]) * mult);
};
const limitBytes = quantity(c.resources.limits.memory);
const secretData = (name) => docs.find((d) => d.kind === 'Secret' && d.metadata.name === name)?.data;
const args = [];
// env: plain values as rendered; the Downward API's limits.memory is bytes.
for (const e of c.env) {
  if (typeof e.value === 'string') args.push('--env', `${e.name}=${e.value}`);
  else if (e.valueFrom?.resourceFieldRef?.resource === 'limits.memory') args.push('--env', `${e.name}=${limitBytes}`);
  else throw new Error(`cannot reproduce env ${e.name} outside Kubernetes`);
}
// volumes, as the kubelet would materialise them
for (const m of c.volumeMounts) {
  const v = pod.volumes.find((x) => x.name === m.name);
  const dir = `${tmp}/vol-${m.name}`;
  if (v.configMap) {
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === v.configMap.name);
    mkdirSync(dir, { recursive: true });
    for (const [k, val] of Object.entries(cm.data)) writeFileSync(`${dir}/${k}`, val);
    args.push('--volume', `${dir}:${m.mountPath}:ro`);
  } else if (v.secret) {
    mkdirSync(dir, { recursive: true });
    const data = secretData(v.secret.secretName);
    for (const item of v.secret.items) {
      const value = data?.[item.key] !== undefined ? Buffer.from(data[item.key], 'base64') : randomBytes(24).toString('hex');
      writeFileSync(`${dir}/${item.path}`, value);
      chmodSync(`${dir}/${item.path}`, 0o444);
    }
    writeFileSync(`${tmp}/token-file`, `${m.mountPath}/${v.secret.items[0].path}`);
    args.push('--volume', `${dir}:${m.mountPath}:ro`);
  } else if (v.emptyDir && m.mountPath === '/tmp') {
    args.push('--tmpfs', `/tmp:rw,nosuid,nodev,size=${v.emptyDir.sizeLimit ? quantity(v.emptyDir.sizeLimit) : 64 * 2 ** 20}`);
  } else if (v.emptyDir) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777); // an emptyDir with fsGroup is writable by the pod's user
    args.push('--volume', `${dir}:${m.mountPath}`);
  } else throw new Error(`volume ${m.name}: only configMap, secret and emptyDir are reproduced here`);
}
const sc = { ...pod.securityContext, ...c.securityContext };
if (sc.readOnlyRootFilesystem !== true) throw new Error('rendered container is not readOnlyRootFilesystem');
args.push('--read-only');
args.push('--user', `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}`);
if (pod.securityContext?.fsGroup !== undefined) args.push('--group-add', String(pod.securityContext.fsGroup));
for (const cap of sc.capabilities?.drop ?? []) args.push('--cap-drop', cap);
if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
args.push('--memory', String(limitBytes), '--memory-swap', String(limitBytes));
const testPod = docs.find((d) => d.kind === 'Pod' && d.metadata.annotations?.['helm.sh/hook'] === 'test');
const expected = JSON.parse(testPod.spec.containers[0].env.find((e) => e.name === 'EXPECTED_PLAN').value);
const env = Object.fromEntries(c.env.filter((e) => typeof e.value === 'string').map((e) => [e.name, e.value]));
writeFileSync(`${tmp}/podman-args`, args.join('\n') + '\n');
// The `helm test` pod's check, run later against this container.
writeFileSync(`${tmp}/helm-test-script.js`, testPod.spec.containers[0].args[0]);
writeFileSync(`${tmp}/helm-test-expected.json`, JSON.stringify(expected));
writeFileSync(`${tmp}/meta.json`, JSON.stringify({
  limitBytes,
  user: sc.runAsUser,
  grace: pod.terminationGracePeriodSeconds,
  expected: {
    ...expected,
    network: Number(env.JOBMANAGER_NETWORK_MEMORY_SIZE),
    networkSegmentSize: Number(env.JOBMANAGER_NETWORK_MEMORY_SEGMENT_SIZE),
    flags: env.NODE_OPTIONS.split(' '),
    // The cgroup holds the limit in whole pages (1G = 10^9 -> 999997440); the
    // process reports the tighter of cgroup and Downward API.
    containerLimit: Math.floor(limitBytes / 4096) * 4096,
  },
}, null, 1));
console.log(`limits.memory ${c.resources.limits.memory} = ${limitBytes} bytes; user ${sc.runAsUser}; read-only root; grace ${pod.terminationGracePeriodSeconds}s`);
console.log(`chart plan: ${JSON.stringify(expected)} flags: ${env.NODE_OPTIONS}`);
EOF
meta() { node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(eval("m."+process.argv[2]))' "$TMP/meta.json" "$1"; }
LIMIT=$(meta limitBytes)
GRACE=$(meta grace)
UID_WANT=$(meta user)
TOKEN_FILE=$(cat "$TMP/token-file")
mapfile -t RUN_ARGS < "$TMP/podman-args"

# --- 3. run ------------------------------------------------------------------
step "podman run with the rendered container's env, user, read-only root and --memory $LIMIT"
podman run -d --name "$JM" --network host "${RUN_ARGS[@]}" "$IMAGE" >/dev/null
ready=""
for _ in $(seq 1 120); do
  if [ "$(podman inspect "$JM" --format '{{.State.Running}}')" != true ]; then
    podman logs "$JM" >&2 || true
    die "the JobManager exited (code $(podman inspect "$JM" --format '{{.State.ExitCode}}')) before it was ready"
  fi
  if curl -fsS -o /dev/null "http://127.0.0.1:$REST_PORT/readyz" 2>/dev/null; then ready=1; break; fi
  sleep 0.5
done
[ -n "$ready" ] || { podman logs "$JM" >&2; die "/readyz not ready within 60 s"; }
echo "/readyz: 200"

# --- 4. checks ---------------------------------------------------------------
step "uid, read-only root, cgroup limit"
uid=$(podman exec "$JM" sh -c 'awk "/^Uid:/ {print \$2}" /proc/1/status')
[ "$uid" = "$UID_WANT" ] || die "PID 1 runs as uid $uid, the chart says $UID_WANT"
echo "PID 1 uid: $uid"
if podman exec "$JM" sh -c 'touch /app/written-by-e2e' 2>/dev/null; then die "root filesystem is writable"; fi
echo "root filesystem: read-only"
cgroup_limit=$(podman exec "$JM" sh -c 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes')
[ "$cgroup_limit" = $((LIMIT / 4096 * 4096)) ] || die "cgroup memory limit $cgroup_limit, chart limits.memory $LIMIT"
echo "cgroup memory limit: $cgroup_limit bytes"

step "/jobmanager/memory equals the chart's plan"
curl -fsS "http://127.0.0.1:$REST_PORT/jobmanager/memory" > "$TMP/memory.json"
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
node -e '
const fs = require("fs");
const meta = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const body = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const plan = body.plan ?? body;
const wrong = [];
for (const [k, v] of Object.entries(meta.expected)) {
  if (JSON.stringify(plan[k]) !== JSON.stringify(v)) wrong.push(`${k}: app ${JSON.stringify(plan[k])}, chart ${JSON.stringify(v)}`);
}
if (body.heapSizeLimit && body.heapSizeLimit.expected !== body.heapSizeLimit.actual) wrong.push(`V8 heap_size_limit ${body.heapSizeLimit.actual}, planned ${body.heapSizeLimit.expected}`);
if (wrong.length) { console.error(wrong.join("\n")); process.exit(1); }
console.log("plan equal in all " + Object.keys(meta.expected).length + " fields; V8 heap_size_limit " + (body.heapSizeLimit ? body.heapSizeLimit.actual : "n/a"));
' "$TMP/meta.json" "$TMP/memory.json" || die "the running plan differs from the chart's"

step "the chart's \`helm test\` check (same image, same script) against this JobManager"
podman run --rm --network host --read-only --user 1000:1000 --cap-drop ALL \
  -e "JOBMANAGER_URL=http://127.0.0.1:$REST_PORT" -e "EXPECTED_PLAN=$(cat "$TMP/helm-test-expected.json")" \
  --entrypoint node "$IMAGE" -e "$(cat "$TMP/helm-test-script.js")" || die "the helm test pod's check failed"
# ... and it can fail: a plan the JobManager does not run must be reported.
if podman run --rm --network host --read-only --user 1000:1000 --cap-drop ALL \
  -e "JOBMANAGER_URL=http://127.0.0.1:$REST_PORT" -e 'EXPECTED_PLAN={"heap":1}' \
  --entrypoint node "$IMAGE" -e "$(cat "$TMP/helm-test-script.js")" >/dev/null 2>&1; then
  die "the helm test pod's check accepted a wrong plan"
fi
echo "(and it rejects a wrong plan)"

# --- 5. a small job on simulated TaskManagers ---------------------------------
step "a bounded job on 2 simulated TaskManagers (same image)"
# The simulator runs as in the chart's demo Deployment: same image, node dist/cli.js taskmanager-sim.
podman run -d --name "$TM" --network host --read-only --tmpfs /tmp --user 1000:1000 --cap-drop ALL \
  --volume "$TMP/vol-rpc-token:$(dirname "$TOKEN_FILE"):ro" --memory 256m \
  --entrypoint node "$IMAGE" dist/cli.js taskmanager-sim \
  --jobmanager "http://127.0.0.1:$RPC_PORT" --count 2 --slots 2 --token-file "$TOKEN_FILE" \
  --bind 127.0.0.1 --port "$TM_PORT" --id-prefix e2e >/dev/null
for _ in $(seq 1 60); do
  tms=$(curl -fsS "http://127.0.0.1:$REST_PORT/overview" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).taskmanagers))')
  [ "$tms" = 2 ] && break
  [ "$(podman inspect "$TM" --format '{{.State.Running}}')" = true ] || { podman logs "$TM" >&2; die "the simulator exited"; }
  sleep 0.5
done
[ "$tms" = 2 ] || { podman logs "$TM" >&2; die "TaskManagers did not register (have $tms)"; }
echo "TaskManagers registered: $tms"
job='{"name":"e2e-bounded","vertices":[{"id":"source","name":"Source","parallelism":2,"config":{"sim.finish-after-ms":"1500"}},{"id":"sink","name":"Sink","parallelism":2,"config":{"sim.finish-after-ms":"2000"}}],"edges":[{"source":"source","target":"sink","distribution":"ALL_TO_ALL"}],"restartStrategy":{"type":"none"}}'
jobid=$(curl -fsS -X POST -H 'content-type: application/json' -d "$job" "http://127.0.0.1:$REST_PORT/jobs" \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).jobid))')
[ -n "$jobid" ] || die "job submission failed"
echo "submitted job $jobid"
state=""
for _ in $(seq 1 120); do
  state=$(curl -fsS "http://127.0.0.1:$REST_PORT/jobs/$jobid" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).state))')
  case "$state" in FINISHED|FAILED|CANCELED) break ;; esac
  sleep 0.5
done
[ "$state" = FINISHED ] || die "job $jobid ended as ${state:-unknown}, expected FINISHED"
echo "job $jobid: FINISHED"
podman stop -t 10 "$TM" >/dev/null

# --- 6. SIGTERM ----------------------------------------------------------------
step "SIGTERM -> exit 0 within the grace period (${GRACE}s)"
start=$(date +%s)
podman kill --signal TERM "$JM" >/dev/null
code=$(timeout "$GRACE" podman wait "$JM") || die "still running ${GRACE}s after SIGTERM (Kubernetes would SIGKILL it)"
elapsed=$(( $(date +%s) - start ))
[ "$code" = 0 ] || { podman logs --tail 20 "$JM" >&2; die "exit code $code after SIGTERM"; }
echo "exit code 0 after ${elapsed}s"
if [ "$(podman inspect "$JM" --format '{{.State.OOMKilled}}')" = true ]; then die "OOMKilled"; fi

echo
echo "container-e2e: PASSED ($VALUES: image $IMAGE, uid $UID_WANT, read-only root, --memory $LIMIT, plan equal, job FINISHED, SIGTERM -> 0)"
