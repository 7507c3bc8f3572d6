"""libcurl is loaded when the first HTTP transport starts, not at process start (issue 23: its ~30 dependent libraries
were a third of `history`'s start): a command that speaks no HTTP never loads it, and one that needs it and cannot
load it says which library, why, and how to install it."""
import os
import shutil
import ctypes.util

import pytest


def loaded_libraries(switchyard, *args, **kwargs):
    """The shared objects the dynamic loader opened for the command (LD_DEBUG=libs), and its result."""
    code, out, err = switchyard(*args, env={"LD_DEBUG": "libs", **kwargs.pop("env", {})}, **kwargs)
    opened = {line.split("init: ")[1].strip() for line in err.splitlines() if "calling init: " in line}
    return code, opened, err


@pytest.mark.world(bake="0s", interval="100ms")
def test_a_command_without_http_never_loads_libcurl_and_one_with_it_does(world, switchyard):
    code, opened, err = loaded_libraries(switchyard, "plan", world["file"], "--ami", world["new_ami"])
    assert code == 0, err[-2000:]
    assert [p for p in opened if "libcurl" in os.path.basename(p)], sorted(opened)
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    for command in (["history"], ["history", "--json"], ["status"]):
        code, opened, err = loaded_libraries(switchyard, *command)
        assert code == 0, (command, err[-2000:])
        assert opened and not [p for p in opened if "libcurl" in os.path.basename(p)], (command, sorted(opened))
        assert any("libsqlite3" in p for p in opened), sorted(opened)


@pytest.mark.world(bake="0s", interval="100ms")
def test_a_libcurl_that_cannot_be_loaded_is_named_with_the_reason_and_the_fix(world, switchyard, tmp_path):
    code, _, err = switchyard("start", world["file"], "--ami", world["new_ami"])
    assert code == 0, err
    # A library named libcurl.so.4 that is not libcurl, first on the loader's path: dlopen takes it, dlsym finds no
    # curl_global_init.
    impostor = ctypes.util.find_library("z")
    assert impostor, "no libz to stand in"
    found = next(p for p in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                             "/usr/lib/aarch64-linux-gnu") if os.path.exists(os.path.join(p, impostor)))
    shutil.copy(os.path.join(found, impostor), tmp_path / "libcurl.so.4")
    env = {"LD_LIBRARY_PATH": str(tmp_path), "SWITCHYARD_AWS_DEADLINE": "2s"}
    code, out, err = switchyard("plan", world["file"], "--ami", world["new_ami"], env=env)
    assert code == 1, err
    assert "libcurl could not be loaded (libcurl.so.4: libcurl.so.4 has no curl_global_init" in err, err
    assert "apt-get install libcurl4" in err, err
    # Commands that need no HTTP still work beside it.
    code, out, err = switchyard("history", env=env)
    assert code == 0 and "completed" in out, err
