"""`provider: azure` files through the binary: read and checked in full like AWS's, every problem with its line and
key, before anything is called (releases themselves: e2e/test_azure_release.py)."""
import os

from conftest import free_port


def nowhere():
    """Every Azure host at a closed port on 127.0.0.1: a run that gets past the file reaches nothing else."""
    closed = f"127.0.0.1:{free_port()}"
    return {"AZURE_RESOURCE_MANAGER_URL": f"http://{closed}", "AZURE_AUTHORITY_HOST": f"https://{closed}",
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": f"http://{closed}"}

AZURE_FILE = """service: web
provider: azure
azure:
  subscription_id: 6b1f3c2a-0d4e-4f5a-9b8c-7d6e5f4a3b2c
  resource_group: web-prod
fleet:
  scale_set: web-blue
traffic:
  traffic_manager:
    profile: web-tm
    endpoints: [web-stack-a, web-stack-b]
steps:
  - weight: 10
    bake: 5m
  - weight: 100
"""

IMAGE = "/subscriptions/6b1f3c2a-0d4e-4f5a-9b8c-7d6e5f4a3b2c/resourceGroups/web-prod/providers/Microsoft.Compute/galleries/g/images/web/versions/1.4.0"


def write(tmp_path, text, name="azure.yaml"):
    path = os.path.join(str(tmp_path), name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_an_azure_files_image_is_a_resource_id_and_nothing_is_called_before_it_is(switchyard, validator, tmp_path):
    path = write(tmp_path, AZURE_FILE)
    code, out, err = switchyard("plan", path, "--ami", "ami-0123456789abcdef0", env=nowhere())
    assert code == 2 and out == "", (code, out, err)
    assert "--ami gives an AMI; an Azure file's image is an image's resource id: give it with --image ID" in err, err
    code, out, err = switchyard("start", path, "--image", "ami-0123456789abcdef0", env=nowhere())
    assert code == 2 and "--image must be an Azure image's resource id for an Azure file" in err, err
    assert validator.requests == [], [r.action for r in validator.requests]


def test_every_problem_of_an_azure_file_is_named_and_aws_keys_are_not_taken(switchyard, validator, tmp_path):
    text = AZURE_FILE.replace("resource_group: web-prod", "resource_group: web-prod.\nregion: us-east-1") \
        .replace("endpoints: [web-stack-a, web-stack-b]", "endpoints: [web-stack-a]") \
        .replace("  scale_set: web-blue", "  scale_set: web-blue\n  blue_auto_scaling_group: web-blue")
    path = write(tmp_path, text)
    code, out, err = switchyard("plan", path, "--image", IMAGE, env=nowhere())
    assert code == 2 and out == "", (code, err)
    assert f"{path} is not a valid deployment file (4 problems)" in err, err
    for expected in ["line 5, azure.resource_group: is not a resource group name",
                     "line 6, region: unknown key",
                     "line 9, fleet.blue_auto_scaling_group: unknown key",
                     "line 13, traffic.traffic_manager.endpoints: must name exactly two endpoints"]:
        assert expected in err, (expected, err)
    assert validator.requests == []


def test_a_provider_no_format_has_is_refused_naming_the_known_ones(switchyard, tmp_path):
    path = write(tmp_path, AZURE_FILE.replace("provider: azure", "provider: gcp"))
    code, _, err = switchyard("plan", path, "--image", IMAGE, env=nowhere())
    assert code == 2, err
    assert 'line 2, provider: must be one of aws, azure (got "gcp") (see ' in err and "deployment-file.md#provider)" in err, err


def test_image_names_an_aws_files_ami_and_refuses_an_azure_id_there(switchyard, world):
    code, out, err = switchyard("plan", world["file"], "--image", world["new_ami"], "--json")
    assert code == 0, err
    code, _, err = switchyard("plan", world["file"], "--image", IMAGE)
    assert code == 2 and "--image (an AWS file's image is an AMI) must look like ami-0123456789abcdef0" in err, err
    code, _, err = switchyard("plan", world["file"], "--image", "web-1.4.0")
    assert code == 2 and "--image must be an AMI id (ami-0123456789abcdef0) or an Azure image's resource id" in err, err
    code, _, err = switchyard("plan", world["file"], "--image", IMAGE, "--ami", world["new_ami"])
    assert code == 2 and "give one of --ami, --image, not both" in err, err


def test_the_azure_example_file_is_valid(switchyard):
    from conftest import REPO
    path = os.path.join(REPO, "deployments", "web-azure.yaml")
    code, _, err = switchyard("plan", path, "--image", IMAGE, env=nowhere())
    # Past the file: the run looks for Azure credentials (none here, and nothing listens) and stops there.
    assert code != 0 and "not a valid deployment file" not in err and "managed identity" in err, err
