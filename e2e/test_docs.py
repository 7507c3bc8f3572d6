"""The reference in docs/ stays current: every key the validator accepts, every command and flag, every environment
variable and IAM action the code uses is documented, and every link in README and docs/ resolves in the repository."""
import glob
import json
import os
import re
import subprocess
import urllib.parse

from conftest import REPO

DOCS = os.path.join(REPO, "docs")
# The deployment file's key schema, written once: the core's sections (FileSchema.core) and AWS's part of the file
# (AWSFileFormat.schema), merged into the schema a file is read with (`fields` accepts only those).
SCHEMAS = [(os.path.join(REPO, "Sources", "SwitchyardCore", "DeploymentFile.swift"), "static let core"),
           (os.path.join(REPO, "Sources", "AWSProvider", "File", "AWSFileFormat.swift"), "public let schema"),
           (os.path.join(REPO, "Sources", "AzureProvider", "File", "AzureFileFormat.swift"), "public let schema")]
# Where the sections are read: the core's files and the AWS format's.
READERS = glob.glob(os.path.join(REPO, "Sources", "SwitchyardCore", "DeploymentFile*.swift")) + \
    glob.glob(os.path.join(REPO, "Sources", "AWSProvider", "File", "*.swift")) + \
    glob.glob(os.path.join(REPO, "Sources", "AzureProvider", "File", "*.swift"))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def accepted_keys():
    """(section, key) for every key of the validator's schema, the section as the dotted path."""
    found = []
    for path, start in SCHEMAS:
        table = read(path)
        block = table[table.index(start):]
        block = block[:block.index("]\n\n")]
        found += [(s, k) for s, keys in re.findall(r'"([^"]*)": \[([^\]]*)\]', block) for k in re.findall(r'"([^"]+)"', keys)]
    assert len(found) > 20 and ("traffic", "listener_arn") in found and ("steps", "weight") in found, found
    return found


def anchor(section, key):
    return "-".join(([section.replace(".", "-")] if section else []) + [key])


def ids(path):
    text = read(path)
    explicit = set(re.findall(r'<a id="([^"]+)"></a>', text))
    # GitHub's heading anchors: lower case, punctuation but - and _ dropped, spaces to -.
    headings = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", text, re.M)}
    return explicit | headings


def test_every_key_the_validator_accepts_has_its_section_in_the_reference():
    documented = ids(os.path.join(DOCS, "deployment-file.md"))
    missing = [f"{s}.{k}".strip(".") for s, k in accepted_keys() if anchor(s, k) not in documented]
    assert not missing, f"keys without a section (<a id=…>) in docs/deployment-file.md: {missing}"


def test_the_validator_takes_its_keys_from_the_schema_alone():
    """No section of the validator lists its keys beside the schema (they would drift apart): `fields` is called with
    a path (and at most a schema section's name), never with a list of its own."""
    sources = READERS
    calls = [(os.path.basename(p), line.strip()) for p in sources for line in read(p).splitlines() if re.search(r"\bfields\(\w+, at:", line)]
    assert len(calls) >= 15, calls
    assert not [c for c in calls if "allowed:" in c[1]], calls
    sections = {s for s, _ in accepted_keys()}
    named = set(re.findall(r'section: "([^"]+)"', "\n".join(c[1] for c in calls)))
    assert named <= sections, named - sections


def commands(binary):
    dump = json.loads(subprocess.run([binary, "--experimental-dump-help"], capture_output=True, text=True, check=True).stdout)

    def walk(command, prefix):
        name = (prefix + " " + command["commandName"]).strip()
        flags = {n["name"] for a in command.get("arguments", []) for n in a.get("names", []) if n["kind"] == "long"}
        yield name, flags - {"help", "version", "experimental-dump-help"}
        for sub in command.get("subcommands", []):
            yield from walk(sub, name)

    return list(walk(dump["command"], ""))


def test_every_command_and_flag_is_in_the_reference(binary):
    text = read(os.path.join(DOCS, "commands.md"))
    problems = []
    for name, flags in commands(binary):
        if name == "switchyard":
            continue
        command = name.removeprefix("switchyard ")
        if f"## `switchyard {command}" not in text:
            problems.append(f"no section `## switchyard {command}` in docs/commands.md")
            continue
        section = text[text.index(f"## `switchyard {command}"):]
        section = section[:section.find("\n## ", 1) if "\n## " in section[1:] else len(section)]
        problems += [f"{command} --{flag}" for flag in sorted(flags) if f"--{flag}" not in section]
    assert not problems, problems


def without_test_only_code(source):
    """Swift source less its `#if SWITCHYARD_TESTING` blocks (up to their `#else` or `#endif`): what a release build
    compiles."""
    kept, open_ifs = [], []   # per open #if: [whether it is `#if SWITCHYARD_TESTING`, whether in its #else]
    for line in source.splitlines():
        directive = line.strip()
        if directive.startswith("#if"):
            open_ifs.append([directive == "#if SWITCHYARD_TESTING", False])
        elif directive.startswith("#else") or directive.startswith("#elseif"):
            if open_ifs:
                open_ifs[-1][1] = True
        elif directive.startswith("#endif"):
            if open_ifs:
                open_ifs.pop()
        elif not any(testing and not in_else for testing, in_else in open_ifs):
            kept.append(line)
    return "\n".join(kept)


ENVIRONMENT_NAME = r'"((?:AWS|SWITCHYARD)_[A-Z0-9_]*[A-Z0-9]|NO_COLOR|HTTPS?_PROXY|NO_PROXY|XDG_STATE_HOME)"'


def test_every_environment_variable_the_code_reads_is_in_the_reference():
    """Every variable a release build reads is in docs/environment.md; one read only by test builds (under
    `#if SWITCHYARD_TESTING`, such as SWITCHYARD_TEST_CRASH) is for contributors, in CONTRIBUTING.md, and not in the
    user's reference the package installs."""
    text = read(os.path.join(DOCS, "environment.md"))
    names, test_only = set(), set()
    for path in glob.glob(os.path.join(REPO, "Sources", "**", "*.swift"), recursive=True):
        source = read(path)
        names |= set(re.findall(ENVIRONMENT_NAME, without_test_only_code(source)))
        test_only |= set(re.findall(ENVIRONMENT_NAME, source))
    test_only -= names
    names.discard("AWS_ENDPOINT_URL_")
    assert "SWITCHYARD_DB" in names and "AWS_PROFILE" in names
    assert "SWITCHYARD_TEST_CRASH" in test_only, test_only
    missing = sorted(n for n in names if f"`{n}" not in text)
    assert not missing, f"environment variables read by the code but not in docs/environment.md: {missing}"
    shown = sorted(n for n in test_only if n in text)
    assert not shown, f"variables only test builds read, documented to users in docs/environment.md: {shown}"
    contributing = read(os.path.join(REPO, "CONTRIBUTING.md"))
    undocumented = sorted(n for n in test_only if f"`{n}`" not in contributing)
    assert not undocumented, f"variables only test builds read, not in CONTRIBUTING.md: {undocumented}"


def test_the_iam_policy_holds_every_action_the_code_calls():
    prefix = {"ec2": "ec2", "autoScaling": "autoscaling", "elasticLoadBalancing": "elasticloadbalancing",
              "classicLoadBalancing": "elasticloadbalancing", "cloudWatch": "cloudwatch", "sts": "sts", "route53": "route53"}
    called = set()
    for path in glob.glob(os.path.join(REPO, "Sources", "AWS", "**", "*.swift"), recursive=True):
        text = read(path)
        calls = re.findall(r'\(\.(\w+),\s*action:\s*"(\w+)"', text) + re.findall(r'AWSRequest\(\.(\w+),\s*"(\w+)"', text)
        called |= {f"{prefix[service]}:{action}" for service, action in calls if service in prefix}
        if path.endswith("DynamoDB.swift"):  # JSON protocol: `call("GetItem", input)`
            called |= {f"dynamodb:{action}" for action in re.findall(r'\bcall\("(\w+)"', text)}
    # IAM authorizes a transaction by the writes in it; there is no TransactWriteItems action.
    if "dynamodb:TransactWriteItems" in called:
        called = (called - {"dynamodb:TransactWriteItems"}) | {f"dynamodb:{a}" for a in ("PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem")}
    # Web identity is allowed by the role's trust policy, not by a permission of the caller.
    called.discard("sts:AssumeRoleWithWebIdentity")
    policy = json.loads(read(os.path.join(DOCS, "iam-policy.json")))
    granted = {a for s in policy["Statement"] for a in s["Action"]}
    assert called <= granted, sorted(called - granted)
    assert len(called) >= 40, called
    assert "autoscaling:CreateOrUpdateTags" in granted and "elasticloadbalancing:AddTags" in granted
    page = read(os.path.join(DOCS, "iam.md"))
    assert all(a.split(":")[1] in page for a in granted)


def test_every_link_in_readme_and_docs_resolves_inside_the_repository():
    files = [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(DOCS, "*.md")))
    assert len(files) >= 6
    problems = []
    for path in files:
        text = read(path)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+://|mailto:", target):
                continue
            file_part, _, fragment = target.partition("#")
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), urllib.parse.unquote(file_part))) if file_part else path
            if not resolved.startswith(REPO + os.sep) or not os.path.exists(resolved):
                problems.append(f"{os.path.relpath(path, REPO)}: {target} does not resolve inside the repository")
            elif fragment and resolved.endswith(".md") and fragment not in ids(resolved):
                problems.append(f"{os.path.relpath(path, REPO)}: {target}: no #{fragment} there")
    assert not problems, problems


def test_the_docs_links_in_messages_resolve():
    """Links the binary prints (errors about the file, the state file, --help) point at sections that exist."""
    sources = "".join(read(p) for p in glob.glob(os.path.join(REPO, "Sources", "**", "*.swift"), recursive=True))
    links = set(re.findall(r"docs/([\w-]+\.md)#([\w-]+)", sources))
    assert links
    for name, fragment in links:
        assert fragment in ids(os.path.join(DOCS, name)), f"docs/{name}#{fragment}"
    for name in set(re.findall(r"docs/([\w-]+\.(?:md|json))", sources)):
        assert os.path.exists(os.path.join(DOCS, name)), name


def yaml_key_paths(text):
    """Every key of a YAML file as a dotted path (list items add no level; the ids under `using` are names, not keys,
    and add none either), commented-out keys included: a comment line `#   key: …` is a key at the column of its `#`
    plus the spaces after it, as it would be uncommented."""
    paths, stack = set(), []
    for line in text.splitlines():
        m = re.match(r"^(\s*)(#\s?)?(\s*)(- )?([a-z][a-z0-9_]*):(\s|$)", line)
        if not m or (m.group(2) is None and line.lstrip().startswith("#")):
            continue
        indent = len(m.group(1)) + len(m.group(3)) + (len(m.group(4)) if m.group(4) else 0)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(5)))
        keys = [key for _, key in stack]
        paths.add(".".join(key for i, key in enumerate(keys) if not (i > 0 and keys[i - 1] == "using")))
    return paths


def test_the_full_example_file_carries_every_documented_key():
    """deployments/web.yaml says it has every key: each heading of docs/deployment-file.md and each key the validator
    accepts is in it, set or (where it cannot stand beside the others) commented out; Azure's keys are in
    deployments/web-azure.yaml, the Azure file."""
    text = read(os.path.join(REPO, "deployments", "web.yaml")) + "\n" + read(os.path.join(REPO, "deployments", "web-azure.yaml"))
    # The five hook points take the same keys: each key once, under any point, is enough.
    points = "|".join(("before_traffic", "after_step", "before_promotion", "after_promotion", "after_rollback"))
    def any_point(paths):
        return {re.sub(rf"^hooks\.({points})\.", "hooks.POINT.", p) for p in paths}
    have = any_point(yaml_key_paths(text))
    documented = set(re.findall(r"^#+ `([a-z][a-z0-9_.]*)`", read(os.path.join(DOCS, "deployment-file.md")), re.M))
    accepted = any_point({f"{section}.{key}" if section else key for section, key in accepted_keys()})
    assert len(documented) > 60, documented
    missing = sorted((documented | accepted) - have)
    assert not missing, f"deployments/web.yaml and web-azure.yaml lack {missing}"
    assert {"checks.metrics.using.stat", "fleet.mode", "traffic.route53.records.target_group"} <= have


def test_the_docs_say_what_the_binary_does():
    """Claims of the docs that the binary contradicted (issue 21): how soon a running process sees a rollback request,
    which final state may still change, the files deployments/README.md cites, what `status` lists."""
    commands = read(os.path.join(DOCS, "commands.md"))
    help_text = subprocess.run([os.path.join(REPO, ".build", "debug", "switchyard"), "rollback", "--help"],
                               capture_output=True, text=True, check=True).stdout
    assert "within a quarter of a second" in " ".join(help_text.split()), help_text
    assert "picks up within a quarter of a second" in commands and "one check interval" not in help_text
    runner = read(os.path.join(REPO, "Sources", "Orchestrator", "DeploymentRunner.swift"))
    assert "requestPoll: TimeInterval = 0.25" in runner
    states = read(os.path.join(DOCS, "states.md"))
    assert "a final state never changes" not in states
    assert "goes to `rolling_back` and ends `rolled_back`; `rolled_back` never changes" in " ".join(states.split())
    state_source = read(os.path.join(REPO, "Sources", "SwitchyardCore", "DeploymentState.swift"))
    assert "return next == .rollingBack && (self == .completed || self == .failed)" in state_source
    examples = os.path.join(REPO, "deployments")
    readme = read(os.path.join(examples, "README.md"))
    # Files it names, from the repository's root or deployments/ (`.demo/demo.yaml` is written by the demo).
    cited = set(re.findall(r"`(\w[\w./-]*\.(?:ya?ml|json|md|tf))`", readme)) | {
        t.partition("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", readme)}
    assert "PRODUCT.md" not in readme
    for name in cited:
        assert os.path.exists(os.path.join(examples, name)) or os.path.exists(os.path.join(REPO, name)), \
            f"deployments/README.md cites {name}, which does not exist"
    assert set(os.listdir(examples)) - {"README.md"} <= {p.split("/")[0] for p in cited} | {"terraform", "ci"}
    assert "blues due for retirement" not in read(os.path.join(REPO, "README.md"))
