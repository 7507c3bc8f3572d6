"""The Debian package scripts/package builds, installed into a scratch root with `dpkg-deb -x`, as a machine without
Swift gets it: the binary links no Swift runtime, Depends names what it links, the completions pass their shells'
syntax checks, and the installed binary releases the demo (and a gate across two CI jobs) against moto.

The package is dist/switchyard_*.deb, or $SWITCHYARD_DEB; scripts/test builds it and sets SWITCHYARD_REQUIRE_DEB, so
a missing package fails there instead of skipping."""
import glob
import itertools
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from conftest import REPO, SEED

DOC = "usr/share/doc/switchyard"
COMPLETIONS = {"bash": "usr/share/bash-completion/completions/switchyard",
               "zsh": "usr/share/zsh/vendor-completions/_switchyard",
               "fish": "usr/share/fish/vendor_completions.d/switchyard.fish"}


def run(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def wait_for_the_package_build():
    """scripts/test builds the package in the background while the other tests run; wait for it to end."""
    status_file = os.environ.get("SWITCHYARD_PACKAGE_STATUS")
    if not status_file:
        return
    deadline = time.time() + 1800
    while not os.path.exists(status_file) or not open(status_file).read().strip():
        if time.time() > deadline:
            pytest.fail("scripts/package did not finish within 30 minutes")
        time.sleep(1)
    if open(status_file).read().strip() != "0":
        log = open(os.environ["SWITCHYARD_PACKAGE_LOG"], encoding="utf-8", errors="replace").read()
        pytest.fail(f"scripts/package failed:\n{log[-4000:]}", pytrace=False)


@pytest.fixture(scope="module")
def deb():
    wait_for_the_package_build()
    path = os.environ.get("SWITCHYARD_DEB") or next(iter(sorted(glob.glob(os.path.join(REPO, "dist", "switchyard_*.deb")))), None)
    if path and os.path.exists(path):
        return path
    if os.environ.get("SWITCHYARD_REQUIRE_DEB"):
        pytest.fail(f"no Debian package at {path or 'dist/switchyard_*.deb'}: scripts/package builds it")
    pytest.skip("no dist/switchyard_*.deb: run scripts/package first")


@pytest.fixture(scope="module")
def control(deb):
    text = run("dpkg-deb", "-f", deb, check=True).stdout
    return dict(re.findall(r"^([\w-]+): (.*)$", text, re.M))


@pytest.fixture(scope="module")
def root(deb, tmp_path_factory):
    """The package unpacked as dpkg would install it, under a scratch root."""
    target = tmp_path_factory.mktemp("root")
    run("dpkg-deb", "-x", deb, str(target), check=True)
    return str(target)


@pytest.fixture(scope="module")
def installed(root):
    return os.path.join(root, "usr", "bin", "switchyard")


def test_the_package_puts_each_file_where_debian_looks_for_it(deb, root, control):
    listing = run("dpkg-deb", "-c", deb, check=True).stdout
    assert re.search(r"^-rwxr-xr-x root/root .* \./usr/bin/switchyard$", listing, re.M), listing
    # Every directory, the root entry `./` included (mktemp's 0700 was once packaged as it), is 0755.
    directories = re.findall(r"^(d\S+) \S+ .* (\S+)$", listing, re.M)
    assert ("drwxr-xr-x", "./") in directories, directories[:3]
    assert all(mode == "drwxr-xr-x" for mode, _ in directories), [d for d in directories if d[0] != "drwxr-xr-x"]
    assert all(owner == "root/root" for owner in re.findall(r"^\S+ (\S+) ", listing, re.M))
    for path in COMPLETIONS.values():
        assert os.path.getsize(os.path.join(root, path)) > 500, path
    # Sourced, not run: no #! (lintian: bash-completion-with-hashbang).
    assert not open(os.path.join(root, COMPLETIONS["bash"]), encoding="utf-8").read().startswith("#!")
    pages = sorted(os.listdir(os.path.join(root, "usr/share/man/man1")))
    assert "switchyard.1.gz" in pages and len(pages) >= 12, pages
    with gzip.open(os.path.join(root, "usr/share/man/man1", next(p for p in pages if ".start." in p)), "rt") as f:
        start_page = f.read()
    assert start_page.startswith(".\\\"") or ".Dt" in start_page, start_page[:200]
    assert "detach-at-pause" in start_page
    # No empty input lines, which groff warns about (lintian: groff-message).
    for page in pages:
        with gzip.open(os.path.join(root, "usr/share/man/man1", page), "rt") as f:
            assert not [n for n, line in enumerate(f, 1) if not line.strip()], page
    for path in ["README.md", "copyright", "changelog.gz", "docs/ci.md", "docs/commands.md", "docs/iam-policy.json",
                 "deployments/web.yaml", "deployments/demo.yaml", "deployments/ci/github-actions.yml",
                 "deployments/ci/gitlab-ci.yml", "deployments/terraform/main.tf"]:
        assert os.path.isfile(os.path.join(root, DOC, path)), path
    # Every example file of the repository is installed (docs/terraform.md links to deployments/terraform/).
    examples = os.path.join(REPO, "deployments")
    shipped = {os.path.relpath(os.path.join(d, f), examples) for d, _, files in os.walk(examples) for f in files}
    installed_examples = {os.path.relpath(os.path.join(d, f), os.path.join(root, DOC, "deployments"))
                          for d, _, files in os.walk(os.path.join(root, DOC, "deployments")) for f in files}
    assert shipped <= installed_examples, sorted(shipped - installed_examples)
    copyright_text = open(os.path.join(root, DOC, "copyright"), encoding="utf-8").read()
    assert copyright_text.startswith("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/")
    assert "Files: swift-log/*" in copyright_text and "Files: Yams/*" in copyright_text
    assert "License: none-stated" not in copyright_text and "TERMS AND CONDITIONS FOR USE" not in copyright_text
    assert control["Package"] == "switchyard" and control["Architecture"] == run("dpkg", "--print-architecture").stdout.strip()


def copyright_paragraphs(text):
    """The paragraphs of a copyright-format 1.0 file, each a dict of field to its value (continuation lines joined)."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        fields, name = {}, None
        for line in block.splitlines():
            if line.startswith((" ", "\t")):
                fields[name] += "\n" + line
            else:
                name, _, value = line.partition(":")
                fields[name] = value.strip()
        paragraphs.append(fields)
    return paragraphs


def test_switchyard_is_apache_licensed_and_the_copyright_file_names_the_licence_without_copying_it():
    """LICENSE is Apache 2.0; README names it; the .deb's copyright file says `License: Apache-2.0` for Switchyard
    and for each Apache-licensed Swift package, and points to Debian's copy of the text instead of holding it
    (lintian: copyright-file-contains-full-apache-2-license), while a licence Debian has no copy of (Yams' MIT) is
    there in full. Every short name a Files paragraph uses has its text or a stand-alone License paragraph."""
    license_text = open(os.path.join(REPO, "LICENSE"), encoding="utf-8").read()
    assert license_text == open("/usr/share/common-licenses/Apache-2.0", encoding="utf-8").read()
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    assert re.search(r"^## License\n\nSwitchyard is licensed under the Apache License, Version 2\.0", readme, re.M)
    checkouts = os.path.join(REPO, ".build", "checkouts")
    assert os.path.isdir(checkouts), "swift build first: the copyright file lists .build/checkouts"
    text = run(os.path.join(REPO, "scripts", "deb-copyright"), checkouts, check=True).stdout
    assert "TERMS AND CONDITIONS FOR USE" not in text and "none-stated" not in text
    paragraphs = copyright_paragraphs(text)
    assert paragraphs[0]["Format"] == "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    files = {p["Files"]: p for p in paragraphs if "Files" in p}
    assert files["*"]["License"] == "Apache-2.0"
    for apache in ("swift-argument-parser/*", "swift-log/*"):
        assert files[apache]["License"] == "Apache-2.0", files[apache]
    assert "Runtime Library Exception" in files["swift-argument-parser/*"]["Comment"]
    assert files["Yams/*"]["License"].startswith("Yams-licence\n The MIT License"), files["Yams/*"]
    standalone = {p["License"].split("\n")[0]: p["License"] for p in paragraphs if "Files" not in p and "License" in p}
    assert '"/usr/share/common-licenses/Apache-2.0"' in standalone["Apache-2.0"].replace("\n ", " ")
    for name, paragraph in files.items():
        short = paragraph["License"].split("\n")[0]
        assert "\n" in paragraph["License"] or short in standalone, (name, short)


def test_the_readme_links_resolve_where_the_docs_are_installed(root):
    doc = os.path.join(root, DOC)
    text = open(os.path.join(doc, "README.md"), encoding="utf-8").read()
    targets = [t.partition("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+://", t)]
    assert len(targets) > 5
    missing = [t for t in targets if t and not os.path.exists(os.path.join(doc, t))]
    assert not missing, missing


def test_version_names_the_package_version_and_the_git_revision(deb, installed, control):
    out = run(installed, "--version", check=True).stdout.strip()
    revision = run("git", "-C", REPO, "rev-parse", "--short=12", "HEAD").stdout.strip()
    assert re.fullmatch(rf"{re.escape(control['Version'])} \(git {revision}(-dirty)?\)", out), (out, revision)
    arch = os.uname().machine
    dist = os.path.dirname(deb)
    binary = os.path.join(dist, f"switchyard-{control['Version']}-linux-{arch}")
    assert os.path.basename(deb) == f"switchyard_{control['Version']}_{control['Architecture']}.deb"
    # The loose binary is the packaged one, and its .sha256 is sha256sum's own format.
    assert open(binary, "rb").read() == open(installed, "rb").read()
    for name in (binary, deb):
        line = open(name + ".sha256", encoding="utf-8").read()
        assert re.fullmatch(rf"[0-9a-f]{{64}}  {re.escape(os.path.basename(name))}\n", line), line
        assert run("sha256sum", "-c", os.path.basename(name) + ".sha256", cwd=dist).returncode == 0


def test_the_shipped_binary_has_no_test_hook(installed):
    """SWITCHYARD_TEST_CRASH (a SIGKILL of the process mid-release, for the crash tests) is read by debug builds
    only: the release binary does not hold the variable's name at all."""
    assert b"SWITCHYARD_TEST_CRASH" not in open(installed, "rb").read()


def test_no_installed_doc_names_the_test_hook(root):
    """The variable exists in test builds only, so a user's docs do not name it: it is in CONTRIBUTING.md, which the
    package does not install. Every file under /usr/share is read (man pages and changelog unzipped)."""
    read = 0
    for folder, _, names in os.walk(os.path.join(root, "usr", "share")):
        for name in names:
            path = os.path.join(folder, name)
            data = gzip.open(path).read() if name.endswith(".gz") else open(path, "rb").read()
            assert b"SWITCHYARD_TEST_CRASH" not in data, os.path.relpath(path, root)
            read += 1
    assert read > 20 and not os.path.exists(os.path.join(root, DOC, "CONTRIBUTING.md")), read


def direct_libraries(binary):
    """(soname, path) of each library the binary links directly (ELF NEEDED), where ldd finds it."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", run("readelf", "-d", binary, check=True).stdout)
    found = {}
    for line in run("ldd", binary, check=True).stdout.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", line)
        if m:
            found[m.group(1)] = m.group(2)
        elif line.strip().startswith("/"):
            path = line.split()[0]
            found[os.path.basename(path)] = path
    return [(soname, found.get(soname)) for soname in needed]


def owner(path):
    for candidate in (path, os.path.realpath(path), "/usr" + path.removeprefix("/usr"), path.removeprefix("/usr")):
        answer = run("dpkg", "-S", candidate)
        if answer.returncode == 0:
            return answer.stdout.split(":")[0].split(",")[0].strip()
    raise AssertionError(f"no package owns {path}")


def test_no_swift_runtime_is_linked_and_depends_names_exactly_what_ldd_shows_beside_libc(installed, control):
    """Depends is what the binary links directly as ldd resolves it (SQLite, libxml2 for FoundationXML, and the C++
    runtime the static Swift runtime needs) and libcurl, which it loads at run time, each by its package; libc6 only
    as a version floor."""
    ldd = run("ldd", installed, check=True).stdout
    assert "libswift" not in ldd and "libFoundation" not in ldd and "libdispatch" not in ldd, ldd
    assert "not found" not in ldd, ldd
    libraries = direct_libraries(installed)
    assert all(path for _, path in libraries), libraries
    packages = {owner(path) for _, path in libraries} - {"libc6"}
    # libcurl is opened at run time (dlopen on the first HTTP transport), not linked: it is named in the binary and
    # its package is a dependency all the same.
    assert b"libcurl.so.4" in open(installed, "rb").read()
    assert not [soname for soname, _ in libraries if soname.startswith("libcurl")], libraries
    curl = next(line.split()[-1] for line in run("ldconfig", "-p", check=True).stdout.splitlines() if line.split()[0] == "libcurl.so.4")
    packages.add(owner(curl))
    depends = [d.strip() for d in control["Depends"].split(",")]
    names = {re.match(r"[\w.+-]+", d).group(0) for d in depends}
    assert names - {"libc6"} == packages, (control["Depends"], libraries)
    assert any(p.startswith("libcurl") for p in packages) and "libsqlite3-0" in packages
    glibc = max((tuple(map(int, v.split("."))) for v in re.findall(r"GLIBC_([0-9.]+)", run("objdump", "-T", installed).stdout)))
    assert f"libc6 (>= {'.'.join(map(str, glibc))})" in depends, control["Depends"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_completion_script_passes_its_shells_syntax_check(root, shell):
    if shutil.which(shell) is None:
        if os.environ.get("SWITCHYARD_REQUIRE_DEB"):
            pytest.fail(f"{shell} is not installed (scripts/lib.sh installs it)")
        pytest.skip(f"{shell} is not installed")
    check = {"bash": ["bash", "-n"], "zsh": ["zsh", "-n"], "fish": ["fish", "--no-execute"]}[shell]
    result = run(*check, os.path.join(root, COMPLETIONS[shell]))
    assert result.returncode == 0, result.stderr


def test_bash_completes_the_commands_from_the_installed_script(root):
    script = os.path.join(root, COMPLETIONS["bash"])
    result = run("bash", "-c", f'source "{script}"; COMP_WORDS=(switchyard st); COMP_CWORD=1; COMP_LINE="switchyard st"; '
                 f'COMP_POINT=${{#COMP_LINE}}; _switchyard switchyard st switchyard; printf "%s\\n" "${{COMPREPLY[@]}}"',
                 env=dict(os.environ, PATH=os.path.dirname(os.path.join(root, "usr/bin/switchyard")) + ":" + os.environ["PATH"]))
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"start", "status", "state"}, result.stdout


_services = itertools.count(1)


def released(installed, moto_url, validator, tmp_path, *seed_options):
    """Seeds a world in moto; returns it and a runner of the installed binary through the checking proxy."""
    world = json.loads(run(sys.executable, SEED, "--endpoint", moto_url,
                           "--service", f"pkg{next(_services)}-{os.getpid() % 10000}", "--out", str(tmp_path / "d.yaml"),
                           *seed_options, check=True).stdout)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=validator.url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               NO_COLOR="1", HOME=str(tmp_path))

    def switchyard(*args, db):
        return run(installed, *args, "--db", str(db), env=env, timeout=120)

    return world, switchyard


def test_the_installed_binary_releases_the_demo(installed, root, moto_url, validator, tmp_path, aws):
    """scripts/demo's release: deployments/demo.yaml as the package installs it, seeded into moto."""
    template = os.path.join(root, DOC, "deployments", "demo.yaml")
    world, switchyard = released(installed, moto_url, validator, tmp_path, "--template", template)
    db = tmp_path / "state.db"
    plan = switchyard("plan", world["file"], "--ami", world["new_ami"], db=db)
    assert plan.returncode == 0, plan.stderr
    start = switchyard("start", world["file"], "--ami", world["new_ami"], "--json", db=db)
    assert start.returncode == 0, start.stderr
    deployment = json.loads(start.stdout)
    assert deployment["state"] == "completed" and deployment["green_weight"] == 100
    assert aws.weights(world["listener_arn"])[deployment["green"]["target_group_arn"]] == 100
    green = aws.groups()[deployment["green"]["auto_scaling_group"]]
    assert aws.instance_images(green) == {world["new_ami"]}


def test_a_gate_across_two_ci_jobs_with_the_state_file_copied_between_them(installed, moto_url, validator, tmp_path):
    """docs/ci.md: job 1 `start --detach-at-pause --json` (exit 5, paused), the state file copied alone (no -wal) to
    job 2's runner, `promote ID --json` there runs the release to its end."""
    world, switchyard = released(installed, moto_url, validator, tmp_path, "--steps", "10,pause,100", "--interval", "100ms")
    job1, job2 = tmp_path / "job1", tmp_path / "job2"
    job1.mkdir()
    job2.mkdir()
    start = switchyard("start", world["file"], "--ami", world["new_ami"], "--detach-at-pause", "--json", db=job1 / "state.db")
    assert start.returncode == 5, start.stderr
    outputs = json.loads(start.stdout)
    assert outputs["state"] == "paused" and outputs["green_weight"] == 10
    shutil.copy(job1 / "state.db", job2 / "state.db")
    promote = switchyard("promote", outputs["id"], "--json", db=job2 / "state.db")
    assert promote.returncode == 0, promote.stderr
    assert json.loads(promote.stdout)["state"] == "completed"


def ci_commands(path):
    """Each `switchyard COMMAND … --flag …` in a CI example, shell continuation lines joined."""
    text = open(path, encoding="utf-8").read().replace("\\\n", " ")
    return [(m.group(1), m.group(2)) for m in re.finditer(r"\bswitchyard (?!--)(\w+)([^\n;|&>]*)", text)]


def test_the_ci_examples_parse_and_use_only_commands_and_flags_the_binary_has(installed):
    dump = json.loads(run(installed, "--experimental-dump-help", check=True).stdout)
    flags = {c["commandName"]: {n["name"] for a in c.get("arguments", []) for n in a.get("names", []) if n["kind"] == "long"}
             for c in dump["command"]["subcommands"]}
    global_flags = {"version", "help"}
    seen = set()
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        path = os.path.join(REPO, "deployments", "ci", name)
        document = yaml.safe_load(open(path, encoding="utf-8"))
        assert isinstance(document, dict) and document
        for command, rest in ci_commands(path):
            assert command in flags, f"{name}: no command `switchyard {command}`"
            for flag in re.findall(r"(?<![\w-])--([a-z][a-z-]*)", rest):
                assert flag in flags[command] | global_flags, f"{name}: `switchyard {command}` has no --{flag}"
            seen.add(command)
    assert {"plan", "start", "promote", "rollback"} <= seen, seen
    github = yaml.safe_load(open(os.path.join(REPO, "deployments", "ci", "github-actions.yml"), encoding="utf-8"))
    assert github["permissions"]["id-token"] == "write"
    assert github["jobs"]["promote"]["needs"] == "canary"


def test_every_directory_of_the_package_is_0755_and_the_terraform_example_is_in_it(deb, root):
    listing = run("dpkg-deb", "-c", deb, check=True).stdout
    directories = re.findall(r"^(d\S+) \S+ .* (\S+/)$", listing, re.M)
    assert directories and all(mode == "drwxr-xr-x" for mode, _ in directories), [d for d in directories if d[0] != "drwxr-xr-x"]
    # docs/terraform.md links to these: README says the examples are installed.
    for name in sorted(os.listdir(os.path.join(REPO, "deployments", "terraform"))):
        assert os.path.isfile(os.path.join(root, DOC, "deployments", "terraform", name)), name
    terraform_doc = open(os.path.join(root, DOC, "docs", "terraform.md"), encoding="utf-8").read()
    for link in re.findall(r"\]\((\.\./deployments/terraform/[^)#]+)", terraform_doc):
        assert os.path.exists(os.path.join(root, DOC, "docs", link)), link


def test_the_shipped_binary_has_no_test_crash_hook(installed, moto_url, validator, tmp_path):
    """SWITCHYARD_TEST_CRASH makes a test build SIGKILL itself at a chosen point; the release build ignores it."""
    world, switchyard = released(installed, moto_url, validator, tmp_path, "--interval", "100ms")
    db = tmp_path / "state.db"
    proc = subprocess.run([installed, "start", world["file"], "--ami", world["new_ami"], "--db", str(db)], capture_output=True,
                          text=True, timeout=120, env={**_released_env(validator, tmp_path), "SWITCHYARD_TEST_CRASH": "before:setSplit:1"})
    assert proc.returncode == 0, proc.stderr


def _released_env(validator, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=validator.url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               NO_COLOR="1", HOME=str(tmp_path))
    return env


def test_lintian_finds_nothing_but_what_docs_package_md_gives_a_reason_for(deb, root):
    """Debian's own package checker on the built .deb: no error and no warning. What stands is overridden in the
    package itself (/usr/share/lintian/overrides/switchyard), each with its reason, and docs/package.md lists it."""
    if shutil.which("lintian") is None:
        if os.environ.get("SWITCHYARD_REQUIRE_DEB"):
            pytest.fail("lintian is not installed (scripts/test installs it with the package build)")
        pytest.skip("lintian is not installed")
    # A lintian that cannot run (a broken install, a missing Perl module) prints no tag and would pass: it must name
    # its version, and end with 0, which it does only when it checked the package and found no error.
    version = run("lintian", "--version")
    assert version.returncode == 0 and re.match(r"Lintian v\d", version.stdout), (version.returncode, version.stdout, version.stderr)
    result = run("lintian", "--tag-display-limit", "0", deb)
    findings = [l for l in result.stdout.splitlines() + result.stderr.splitlines() if re.match(r"^[EW]: ", l)]
    assert not findings, "\n".join(findings)
    assert result.returncode == 0, f"lintian ended with {result.returncode}:\n{result.stdout}\n{result.stderr}"
    overrides = open(os.path.join(root, "usr/share/lintian/overrides/switchyard"), encoding="utf-8").read()
    documented = open(os.path.join(REPO, "docs", "package.md"), encoding="utf-8").read()
    for tag in re.findall(r"^switchyard: (\S+)", overrides, re.M):
        assert f"`{tag}`" in documented, f"docs/package.md does not say why {tag} is overridden"
    # Every sub-command's page has a NAME that whatis can index (lintian: bad-whatis-entry).
    for page in glob.glob(os.path.join(root, "usr/share/man/man1", "*.1.gz")):
        assert "parse failed" not in run("lexgrog", page).stdout, page


def test_the_installed_man_pages_name_the_installed_docs(root):
    pages = glob.glob(os.path.join(root, "usr/share/man/man1", "*.1.gz"))
    named = 0
    for page in pages:
        with gzip.open(page, "rt") as f:
            text = f.read()
        assert not re.search(r"(^|[^/A-Za-z])docs/", text, re.M), (page, re.findall(r".{30}(?<![/A-Za-z])docs/.{20}", text))
        # Generated from the help of the binary laid out as installed: never a scratch path, a web link or `docs//`.
        assert "docs//" not in text and "switchyardmanual" not in text and "https://example.com" not in text, page
        named += text.count("/usr/share/doc/switchyard/docs/")
    assert named >= 1, named
    for path in re.findall(r"/usr/share/doc/switchyard/(docs/[\w-]+\.(?:md|json))", "".join(gzip.open(p, "rt").read() for p in pages)):
        assert os.path.isfile(os.path.join(root, DOC, path)), path
