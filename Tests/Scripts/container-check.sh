#!/usr/bin/env bash
# Verifies the container image without Docker (run-all.sh runs it after the Swift tests):
#   1. the Dockerfile installs exactly container/packages-{build,runtime}.txt; k8s manifests pass
#      kubernetes-validate --strict plus our rules; the Step Functions definition is well formed;
#   2. the release binaries `optimize` and `optimize-job` (swift build -c release --static-swift-stdlib) load only libraries owned by the runtime
#      packages, their dependencies or debian:bookworm-slim base packages, and no Swift runtime library;
#   3. a staging root (.build/runtime-root) with just those packages' files and the image's layout
#      (/usr/local/bin/{optimize,optimize-job,aws,optimize-index}, /rpdx/rpdx) runs, under chroot: --version, a conversion
#      that validates, the Indexed-Job fan-out (optimize-index → optimize job on a local list), and the VAMS command line (`aws s3 cp … && /rpdx/rpdx … && aws s3 cp …`) against a local
#      moto S3, whose output is checked with boto3 and `optimize validate`.
# Needs root (chroot) or unprivileged user namespaces (unshare -r). Exits non-zero on the first failure.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
python="$repo/.venv/bin/python"
[[ -x "$python" ]] || { echo "container-check: $python missing (run Tests/Scripts/setup.sh)" >&2; exit 1; }
check() { "$python" "$repo/container/scripts/check.py" "$@"; }
step() { echo "container-check: $*"; }

step "Dockerfile, Kubernetes manifests, state machine"
check dockerfile
check k8s
check asl

step "release build (static Swift runtime)"
swift build -c release --static-swift-stdlib --product optimize
swift build -c release --static-swift-stdlib --product optimize-job
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)"
check ldd "$bin/optimize" "$bin/optimize-job"

step "staging root with only the runtime packages"
root="$repo/.build/runtime-root"
rm -rf "$root"
mkdir -p "$root"
packages=$(check closure)
# Debian 12's merged /usr, as in the image: /bin, /lib, /lib64, /sbin are links into /usr.
mkdir -p "$root"/usr/{bin,lib,lib64,sbin}
for dir in bin lib lib64 sbin; do ln -s "usr/$dir" "$root/$dir"; done
# Every file the packages install except documentation; directories come along (--no-recursion keeps it exact).
dpkg -L $packages | sort -u | grep -Ev '^/(bin|lib|lib64|sbin)$|^/usr/share/(doc|man|info|locale|lintian|bug)(/|$)' |
    tar -cf - --no-recursion --ignore-failed-read -T - 2>/dev/null | tar -xf - --keep-directory-symlink -C "$root"
install -D -m 0755 "$bin/optimize" "$root/usr/local/bin/optimize"
install -m 0755 "$bin/optimize-job" "$root/usr/local/bin/optimize-job"
install -m 0755 container/bin/aws container/bin/optimize-index "$root/usr/local/bin/"
install -D -m 0755 container/bin/rpdx "$root/rpdx/rpdx"
mkdir -p "$root/tmp" "$root/work" "$root/dev" "$root/proc"
chmod 1777 "$root/tmp"
# The jail: chroot in fresh mount and PID namespaces with its own /proc (as a container has), torn down on exit.
namespaces=(--mount --pid --fork --mount-proc="$root/proc")
if [[ $(id -u) -eq 0 ]]; then
    mknod -m 0666 "$root/dev/null" c 1 3
    jail=("$(command -v unshare)" "${namespaces[@]}" "$(command -v chroot)" "$root")
elif unshare -r true 2>/dev/null; then
    touch "$root/dev/null"
    jail=("$(command -v unshare)" -r "${namespaces[@]}" "$(command -v chroot)" "$root")
else
    echo "container-check: needs root or unprivileged user namespaces to chroot into $root" >&2
    exit 1
fi
in_root() {
    env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp TMPDIR=/tmp "$@" "${jail[@]}" /bin/sh -c "cd /work && $run"
}

fixture=fixtures/models/fbx/global_settings.fbx
cp "$fixture" "$root/work/chair.fbx"
# A COLLADA file reads through Assimp, which optimize loads only then (dlopen): it must be in the image too.
cp fixtures/models/dae/blue_cube.dae "$root/work/cube.dae"
run='optimize --version && optimize chair.fbx -o /tmp/plain.glb && optimize validate /tmp/plain.glb && optimize cube.dae -o /tmp/cube.glb && optimize validate /tmp/cube.glb'
in_root
[[ -s "$root/tmp/plain.glb" && -s "$root/tmp/cube.glb" ]] || { echo "container-check: no output from the staged binary" >&2; exit 1; }

step "Indexed-Job fan-out (optimize-index → optimize job)"
cp fixtures/models/stl/soup.stl "$root/work/"
printf '# batch\n/work/soup.stl\n\n/work/chair.fbx\n' >"$root/work/list.txt"
run='optimize-index --termination-log /tmp/term.json' in_root JOB_COMPLETION_INDEX=1 OPTIMIZE_BATCH_LIST=/work/list.txt \
    OPTIMIZE_JOB_OUTPUT=/work/out/
"$bin/optimize" validate "$root/work/out/chair-glb.glb"
if run='optimize-index' in_root JOB_COMPLETION_INDEX=2 OPTIMIZE_BATCH_LIST=/work/list.txt OPTIMIZE_JOB_OUTPUT=/work/out/ 2>/dev/null; then
    echo "container-check: optimize-index accepted an index beyond the list" >&2; exit 1
fi

step "VAMS command line against a local S3 (moto)"
coproc moto { "$python" Tests/S3Tests/Support/s3_test_helper.py moto vams-in vams-out vams-aux; }
read -r info <&"${moto[0]}"
port=$("$python" -c 'import json,sys; print(json.loads(sys.argv[1])["port"])' "$info")
access=$("$python" -c 'import json,sys; print(json.loads(sys.argv[1])["access_key"])' "$info")
secret=$("$python" -c 'import json,sys; print(json.loads(sys.argv[1])["secret_key"])' "$info")
stop_moto() { exec {moto[1]}>&- 2>/dev/null || true; wait "$moto_PID" 2>/dev/null || true; }
trap stop_moto EXIT
s3() { "$python" - "$port" "$access" "$secret" "$@"; }
# Inputs as VAMS stores them: the model, and the workflow's settings as rp_config.json.
s3 "$repo/$fixture" <<'EOF'
import boto3, json, sys
port, ak, sk, fixture = sys.argv[1:5]
c = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                 aws_access_key_id=ak, aws_secret_access_key=sk)
c.upload_file(fixture, "vams-in", "assets/x1/chair.fbx")
config = {"version": 1.4,
          "optimize": {"3dModelOptimizationMethod": {"meshAndMaterialOptimization": {"decimator": {
              "target": {"faces": {"percentage": 50}, "deviation": {"percentage": 1}},
              "preserveNormals": True}}}},
          "export": [{"fileName": "", "format": {"glb": {"draco": {"enable": True}}}}]}
c.put_object(Bucket="vams-aux", Key="pipelines/p1/rp_config.json", Body=json.dumps(config).encode())
EOF
rm -f "$root/work/chair.fbx"
run='aws s3 cp s3://vams-aux/pipelines/p1/rp_config.json rp_config.json && aws s3 cp s3://vams-in/assets/x1/chair.fbx . && /rpdx/rpdx --read_config rp_config.json -i chair.fbx -c -e chair-glb.glb && aws s3 cp chair-glb.glb s3://vams-out/pipelines/p1/output/E1/files/'
in_root AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID="$access" AWS_SECRET_ACCESS_KEY="$secret" \
    AWS_DEFAULT_REGION=us-east-1 2>"$root/tmp/vams.log" || { cat "$root/tmp/vams.log" >&2; exit 1; }
cat "$root/tmp/vams.log"
grep -q 'ignoring .*decimator\.preserveNormals' "$root/tmp/vams.log" ||
    { echo "container-check: no warning for the ignored setting decimator.preserveNormals" >&2; exit 1; }
s3 "$root/tmp/downloaded.glb" <<'EOF'
import boto3, sys
port, ak, sk, path = sys.argv[1:5]
c = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                 aws_access_key_id=ak, aws_secret_access_key=sk)
keys = [o["Key"] for o in c.list_objects_v2(Bucket="vams-out").get("Contents", [])]
assert keys == ["pipelines/p1/output/E1/files/chair-glb.glb"], f"unexpected output keys {keys}"
head = c.head_object(Bucket="vams-out", Key=keys[0])
assert head["ContentType"] == "model/gltf-binary", head["ContentType"]
c.download_file("vams-out", keys[0], path)
EOF
"$bin/optimize" validate "$root/tmp/downloaded.glb"
grep -q KHR_draco_mesh_compression "$root/tmp/downloaded.glb" ||
    { echo "container-check: export draco.enable did not produce a Draco-compressed GLB" >&2; exit 1; }
before=$("$bin/optimize" inspect --json "$root/tmp/plain.glb" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["triangles"])')
after=$("$bin/optimize" inspect --json "$root/tmp/downloaded.glb" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["triangles"])')
step "decimation from rp_config.json: $before → $after triangles"
((after < before)) || { echo "container-check: faces.percentage 50 did not reduce triangles" >&2; exit 1; }

# Anything but `aws s3 cp SRC DST` fails clearly.
if out=$(run='aws s3 ls s3://vams-out' in_root 2>&1); then
    echo "container-check: 'aws s3 ls' should fail" >&2; exit 1
fi
[[ "$out" == *"only 'aws s3 cp SRC DST' is supported"* ]] || { echo "container-check: unclear aws error: $out" >&2; exit 1; }
step "ok"
