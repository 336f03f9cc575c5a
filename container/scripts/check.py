#!/usr/bin/env python3
"""Offline checks of the container image definition (run by Tests/Scripts/container-check.sh, no Docker needed).

  dockerfile                  the Dockerfile installs exactly container/packages-build.txt (build stage) and
                              container/packages-runtime.txt (runtime stage), read from the files, never inlined
  closure                     print the runtime packages plus the base packages and everything they depend on
                              (what apt-get puts in the image), one per line, as installed on this Debian 12 host
  ldd BINARY...               every library `ldd BINARY` resolves is owned by a package of that closure, and no
                              Swift runtime library is linked dynamically
  k8s                         kubernetes-validate --strict on container/k8s/*.yaml, then the rules the schema cannot
                              express (podFailurePolicy, security context, scratch volume, resources, IRSA)
  asl                         container/stepfunctions/optimize-job.asl.json is a well-formed state machine that does
                              not retry bad input, retries transient failures, and runs the same Job as job.yaml
Exits non-zero with one line per problem.
"""
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTAINER = os.path.join(REPO, "container")

# Packages debian:bookworm-slim already has that the binary and the VAMS command line rely on
# (C and C++ runtimes, zlib, the shell and sed used by the wrapper scripts).
BASE_PACKAGES = ["libc6", "libgcc-s1", "libstdc++6", "zlib1g", "dash", "sed"]

problems = []


def problem(text):
    problems.append(text)


def package_list(name):
    path = os.path.join(CONTAINER, name)
    with open(path) as f:
        return [word for line in f for word in line.split("#", 1)[0].split()]


# ---------------------------------------------------------------- Dockerfile

def stages(dockerfile):
    """[(stage name or index, [instruction text])] with line continuations joined."""
    text = re.sub(r"\\\n", " ", dockerfile)
    result = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            match = re.search(r"\sAS\s+(\S+)", line, re.IGNORECASE)
            result.append((match.group(1) if match else str(len(result)), []))
        elif result:
            result[-1][1].append(line)
    return result


def check_dockerfile():
    with open(os.path.join(CONTAINER, "Dockerfile")) as f:
        dockerfile = f.read()
    found = stages(dockerfile)
    if len(found) != 2:
        problem(f"Dockerfile: expected 2 stages (build, runtime), found {len(found)}")
        return
    for (name, instructions), list_name in zip(found, ["packages-build.txt", "packages-runtime.txt"]):
        copied = any(re.match(rf"COPY\s+container/{re.escape(list_name)}\s+/tmp/{re.escape(list_name)}$", i)
                     for i in instructions)
        if not copied:
            problem(f"Dockerfile stage {name}: does not COPY container/{list_name} to /tmp/{list_name}")
        runs = [i for i in instructions if i.startswith("RUN ")]
        fed = rf"sed -e 's/#\.\*//' /tmp/{re.escape(list_name)} \| xargs apt-get install -y --no-install-recommends"
        if not any(re.search(fed, r) for r in runs):
            problem(f"Dockerfile stage {name}: packages are not installed from /tmp/{list_name} via xargs")
        # Any other apt-get install must be the optional USD runtime, guarded by WITH_USD.
        for run in runs:
            for command in re.split(r"&&|;|\|\|", run):
                command = command.strip()
                if "apt-get install" not in command:
                    continue
                words = [w for w in command.split("apt-get install", 1)[1].split() if not w.startswith("-")]
                if not words and re.search(r"xargs apt-get install", command):
                    continue
                if name != "build" and "WITH_USD" in run and set(words) <= {"python3", "python3-venv"}:
                    continue
                problem(f"Dockerfile stage {name}: installs packages not taken from {list_name}: {' '.join(words)}")
    runtime = found[1][1]
    for required, why in [(r'ENTRYPOINT \["optimize", "job"\]$', 'ENTRYPOINT ["optimize", "job"]'),
                          (r"USER 10001(:10001)?$", "USER 10001"),
                          (r"COPY container/bin/rpdx /rpdx/rpdx$", "/rpdx/rpdx"),
                          (r"COPY container/bin/aws .*/usr/local/bin/$", "the aws wrapper on PATH")]:
        if not any(re.match(required, i) for i in runtime):
            problem(f"Dockerfile runtime stage: missing {why}")
    if not any("--static-swift-stdlib" in i for i in found[0][1]):
        problem("Dockerfile build stage: swift build without --static-swift-stdlib")


# ---------------------------------------------------------------- packages and ldd

def installed_depends(package):
    """Names this installed package depends on (Depends + Pre-Depends; first alternative that is installed)."""
    out = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", package],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    names = []
    for clause in out.stdout.split(","):
        alternatives = [a.strip().split()[0].split(":")[0] for a in clause.split("|") if a.strip()]
        for alternative in alternatives:
            if subprocess.run(["dpkg-query", "-W", alternative], capture_output=True).returncode == 0:
                names.append(alternative)
                break
    return names


def closure():
    todo = package_list("packages-runtime.txt") + BASE_PACKAGES
    seen = set()
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        depends = installed_depends(package)
        if depends is None:
            problem(f"package {package} (packages-runtime.txt or base) is not installed on this host")
            continue
        todo += depends
    return sorted(seen)


def owner(path):
    for candidate in dict.fromkeys([path, os.path.realpath(path)]):
        # usrmerge: dpkg may know the file under /lib or /usr/lib.
        for variant in dict.fromkeys([candidate, re.sub(r"^/usr/lib/", "/lib/", candidate),
                                      re.sub(r"^/lib/", "/usr/lib/", candidate)]):
            out = subprocess.run(["dpkg", "-S", variant], capture_output=True, text=True)
            if out.returncode == 0:
                return out.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def check_ldd(binaries):
    allowed = set(closure())
    used = set()
    for binary in binaries:
        used |= packages_of(binary, allowed)
    for package in package_list("packages-runtime.txt"):
        provides_lib = package in used
        if not provides_lib and package != "ca-certificates":
            problem(f"packages-runtime.txt: {package} provides no library the binaries load (remove it?)")


def dlopened(binary):
    """The libraries BINARY loads on first use (dlopen by soname, e.g. "libassimp.so.5"), resolved on this host."""
    with open(binary, "rb") as f:
        names = set(re.findall(rb"\0(lib[A-Za-z0-9_+-]+\.so\.[0-9]+)\0", f.read()))
    linked = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout.split()
    names = sorted(names - {n.encode() for n in linked})
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    paths = []
    for name in names:
        match = re.search(rf"^\s+{re.escape(name.decode())} \(libc6,x86-64\) => (\S+)$", cache, re.M)
        if match:
            paths.append(match.group(1))
        else:
            problem(f"{binary}: loads {name.decode()} at run time, which this host does not have")
    return paths


def packages_of(binary, allowed):
    """The packages that provide the libraries `ldd BINARY` resolves, and those of the libraries it dlopens (with
    their own dependencies); a problem for any outside `allowed`."""
    used = ldd_packages(binary, allowed)
    for library in dlopened(binary):
        package = owner(library)
        if package not in allowed:
            problem(f"{binary}: loads {library} at run time, which comes from {package}, not a runtime package")
            continue
        used |= {package} | ldd_packages(library, allowed)
    return used


def ldd_packages(binary, allowed):
    """The packages that provide the libraries `ldd BINARY` resolves; a problem for any outside `allowed`."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if out.returncode != 0:
        problem(f"ldd {binary} failed: {out.stderr.strip()}")
        return set()
    used = set()
    for line in out.stdout.splitlines():
        line = line.strip()
        if "not found" in line:
            problem(f"{binary}: unresolved library: {line}")
            continue
        name = line.split()[0]
        path = line.split("=>", 1)[1].split("(")[0].strip() if "=>" in line else name
        if not path.startswith("/"):
            continue  # linux-vdso
        if re.search(r"libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime", path):
            problem(f"{binary}: Swift runtime linked dynamically: {path}")
            continue
        package = owner(path)
        if package is None:
            problem(f"{binary}: {path} is owned by no Debian package")
        elif package not in allowed:
            problem(f"{binary}: {path} comes from {package}, which is neither in packages-runtime.txt "
                    f"(or its dependencies) nor a base package")
        else:
            used.add(package)
    print(f"ldd: {len(used)} packages provide the libraries of {os.path.basename(binary)}: {' '.join(sorted(used))}")
    return used


# ---------------------------------------------------------------- Kubernetes

def check_k8s():
    import yaml
    files = sorted(os.path.join(CONTAINER, "k8s", f) for f in os.listdir(os.path.join(CONTAINER, "k8s"))
                   if f.endswith(".yaml"))
    validator = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
    out = subprocess.run([validator, "--strict", "--quiet", *files], capture_output=True, text=True)
    if out.returncode != 0:
        problem(f"kubernetes-validate --strict failed:\n{out.stdout}{out.stderr}")
    documents = {}
    for path in files:
        with open(path) as f:
            for document in yaml.safe_load_all(f):
                if document:
                    documents.setdefault(os.path.basename(path), []).append(document)
    accounts = [d for docs in documents.values() for d in docs if d["kind"] == "ServiceAccount"]
    if not any("eks.amazonaws.com/role-arn" in a["metadata"].get("annotations", {}) for a in accounts):
        problem("k8s: no ServiceAccount with the eks.amazonaws.com/role-arn annotation (IRSA)")
    account_names = {a["metadata"]["name"] for a in accounts}
    for expected, indexed in [("job.yaml", False), ("indexed-job.yaml", True)]:
        jobs = [d for d in documents.get(expected, []) if d["kind"] == "Job"]
        if len(jobs) != 1:
            problem(f"k8s/{expected}: expected one Job, found {len(jobs)}")
            continue
        check_job(expected, jobs[0], indexed, account_names,
                  {d["metadata"]["name"] for d in documents[expected] if d["kind"] == "ConfigMap"})


def check_job(file, job, indexed, account_names, config_maps):
    spec = job["spec"]
    pod = spec["template"]["spec"]
    where = f"k8s/{file}"
    for field in ["activeDeadlineSeconds", "ttlSecondsAfterFinished"]:
        if field not in spec:
            problem(f"{where}: spec.{field} missing")
    if indexed:
        if spec.get("completionMode") != "Indexed" or "backoffLimitPerIndex" not in spec:
            problem(f"{where}: needs completionMode Indexed and backoffLimitPerIndex")
    elif "backoffLimit" not in spec:
        problem(f"{where}: spec.backoffLimit missing")
    if pod.get("restartPolicy") != "Never":
        problem(f"{where}: podFailurePolicy needs restartPolicy Never")
    rules = spec.get("podFailurePolicy", {}).get("rules", [])
    final = "FailIndex" if indexed else "FailJob"
    bad_input = [r for r in rules if r.get("action") == final and r.get("onExitCodes", {}).get("operator") == "In"
                 and 3 in r["onExitCodes"].get("values", [])]
    if not bad_input:
        problem(f"{where}: podFailurePolicy has no {final} rule on exit code 3 (bad input)")
    if not any(r.get("action") == "Ignore" and any(c.get("type") == "DisruptionTarget"
                                                   for c in r.get("onPodConditions", [])) for r in rules):
        problem(f"{where}: podFailurePolicy does not Ignore DisruptionTarget")
    if pod.get("serviceAccountName") not in account_names:
        problem(f"{where}: serviceAccountName is not the IRSA ServiceAccount of serviceaccount.yaml")
    pod_security = pod.get("securityContext", {})
    if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault" or not pod_security.get("runAsNonRoot"):
        problem(f"{where}: pod securityContext needs runAsNonRoot and seccompProfile RuntimeDefault")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for container in pod["containers"]:
        name = f"{where} container {container['name']}"
        security = container.get("securityContext", {})
        expected = {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False}
        for key, value in expected.items():
            if security.get(key) is not value:
                problem(f"{name}: securityContext.{key} must be {value}")
        if security.get("capabilities", {}).get("drop") != ["ALL"]:
            problem(f"{name}: securityContext.capabilities.drop must be [ALL]")
        if security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problem(f"{name}: securityContext.seccompProfile must be RuntimeDefault")
        resources = container.get("resources", {})
        if str(resources.get("limits", {}).get("cpu")) != "2" or str(resources.get("requests", {}).get("cpu")) != "2":
            problem(f"{name}: cpu requests and limits must be 2")
        if resources.get("limits", {}).get("memory") is None or \
                resources.get("limits", {}).get("memory") != resources.get("requests", {}).get("memory"):
            problem(f"{name}: memory requests must equal limits (Guaranteed QoS)")
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        if "emptyDir" not in volumes.get(mounts.get("/tmp"), {}):
            problem(f"{name}: /tmp must be an emptyDir volume")
        for mount in container.get("volumeMounts", []):
            config_map = volumes.get(mount["name"], {}).get("configMap")
            if config_map and config_map["name"] not in config_maps:
                problem(f"{name}: ConfigMap {config_map['name']} is not defined in {file}")
        if indexed and container.get("command") != ["optimize-index"]:
            problem(f"{name}: an Indexed Job runs optimize-index (which picks the input by JOB_COMPLETION_INDEX)")


# ---------------------------------------------------------------- Step Functions

def check_asl():
    import yaml
    path = os.path.join(CONTAINER, "stepfunctions", "optimize-job.asl.json")
    try:
        with open(path) as f:
            machine = json.load(f)
    except (OSError, json.JSONDecodeError) as error:
        problem(f"{path}: not valid JSON: {error}")
        return
    tasks = []

    def walk(states_holder, where):
        states = states_holder.get("States")
        start = states_holder.get("StartAt")
        if not isinstance(states, dict) or start not in states:
            problem(f"ASL {where}: StartAt {start!r} is not one of its States")
            return
        reachable, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name in reachable:
                continue
            reachable.add(name)
            state = states[name]
            kind = state.get("Type")
            if kind not in {"Task", "Parallel", "Choice", "Pass", "Fail", "Succeed", "Wait", "Map"}:
                problem(f"ASL {where}.{name}: unknown Type {kind!r}")
            targets = [state.get("Next"), state.get("Default")] + \
                [c.get("Next") for c in state.get("Choices", []) + state.get("Catch", [])]
            targets = [t for t in targets if t]
            for target in targets:
                if target not in states:
                    problem(f"ASL {where}.{name}: goes to unknown state {target!r}")
                else:
                    todo.append(target)
            terminal = kind in {"Fail", "Succeed"} or state.get("End") is True
            if kind not in {"Fail", "Succeed", "Choice"} and terminal == ("Next" in state):
                problem(f"ASL {where}.{name}: needs exactly one of Next and End")
            if kind == "Task":
                tasks.append((f"{where}.{name}", state))
            for index, branch in enumerate(state.get("Branches", [])):
                walk(branch, f"{where}.{name}[{index}]")
        for name in states.keys() - reachable:
            problem(f"ASL {where}: state {name} is unreachable")

    walk(machine, "root")
    runs = [(n, s) for n, s in tasks if s.get("Resource") == "arn:aws:states:::eks:runJob.sync"]
    if len(runs) != 1:
        problem("ASL: expected one Task with Resource arn:aws:states:::eks:runJob.sync")
        return
    parameters = runs[0][1].get("Parameters", {})
    for field in ["ClusterName", "CertificateAuthority", "Endpoint", "Namespace", "Job"]:
        if field not in parameters:
            problem(f"ASL {runs[0][0]}: Parameters.{field} missing")
    # The Job it runs is job.yaml's, apart from the per-execution fields.
    with open(os.path.join(CONTAINER, "k8s", "job.yaml")) as f:
        reference = yaml.safe_load(f)
    job = parameters.get("Job", {})
    for key in ["podFailurePolicy", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"]:
        if job.get("spec", {}).get(key) != reference["spec"][key]:
            problem(f"ASL: Job spec.{key} differs from container/k8s/job.yaml")
    pod, reference_pod = job.get("spec", {}).get("template", {}).get("spec", {}), reference["spec"]["template"]["spec"]
    for key in ["securityContext", "volumes", "serviceAccountName", "restartPolicy"]:
        if pod.get(key) != reference_pod[key]:
            problem(f"ASL: Job pod {key} differs from container/k8s/job.yaml")
    for key in ["securityContext", "resources", "volumeMounts"]:
        if pod.get("containers", [{}])[0].get(key) != reference_pod["containers"][0][key]:
            problem(f"ASL: Job container {key} differs from container/k8s/job.yaml")
    # Retry: the state whose errors carry the names; bad input must never be retried, transient failures must be.
    retriers = [(n, s) for n, s in machine["States"].items() if s.get("Retry")]
    bad_input_retried, transient_retried = True, False
    for name, state in retriers:
        for retrier in state["Retry"]:
            names = retrier.get("ErrorEquals", [])
            if "Optimize.BadInput" in names or "States.ALL" in names:
                # The first retrier that matches wins: bad input must meet a MaxAttempts 0 one first.
                bad_input_retried = retrier.get("MaxAttempts", 3) != 0
                break
        for retrier in state["Retry"]:
            if "Optimize.Retryable" in retrier.get("ErrorEquals", []) and retrier.get("MaxAttempts", 3) > 0:
                transient_retried = True
    if bad_input_retried:
        problem("ASL: Optimize.BadInput can be retried (needs a MaxAttempts 0 retrier before any other match)")
    if not transient_retried:
        problem("ASL: transient failures (Optimize.Retryable) are not retried")
    text = json.dumps(machine)
    for needle in ["exit code 3 matching FailJob rule", "Optimize.BadInput", "Optimize.Retryable"]:
        if needle not in text:
            problem(f"ASL: {needle!r} not found (the bad-input classification is missing)")


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "dockerfile":
        check_dockerfile()
    elif command == "closure":
        print("\n".join(closure()))
    elif command == "ldd" and len(sys.argv) >= 3:
        check_ldd(sys.argv[2:])
    elif command == "k8s":
        check_k8s()
    elif command == "asl":
        check_asl()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for text in problems:
        print(f"container-check: {text}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
