"""A blue/green world in the Azure stand-in, as a team would have it before its first Switchyard release:

    world = seed_world(az, name="web")
one subscription of one tenant with an app registration (client secret) that may use it; a resource group; a
virtual network with one subnet; two stacks, each a public IP in front of a Standard load balancer with one backend
pool (stack a, stack b); a Compute Gallery image with versions 1.0.0 and 1.1.0; the blue scale set (Uniform,
capacity 2 over zones 1 and 2, Manual upgrades, the Application Health extension) in stack a's pool, its instances
up; blue's autoscale setting (enabled, 2..4); a Weighted Traffic Manager profile whose endpoint for stack a
(weight 1000) is Enabled and whose endpoint for stack b (weight 1) is Disabled. Every body goes through the stand-in's
model check, so the world is one Azure would accept. Returns the names and ids a test needs."""
import argparse
import json
import os
import tempfile
import threading
import uuid

from azure_auth import make_certificate


def seed_world(az, name="web", location="westeurope", capacity=2, zones=("1", "2"), ttl=5, health_extension=True,
               autoscale=(2, 4)):
    sub, tenant = az.add_subscription()
    client_id, secret = str(uuid.uuid4()), f"secret-{uuid.uuid4()}"
    az.directory.add_app(tenant, client_id, secret=secret)
    rg = f"/subscriptions/{sub}/resourceGroups/{name}-rg"
    net = f"{rg}/providers/Microsoft.Network"
    az.seed("PUT", rg, {"location": location})
    vnet = f"{net}/virtualNetworks/{name}-vnet"
    az.seed("PUT", vnet, {"location": location, "properties": {
        "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
        "subnets": [{"name": "app", "properties": {"addressPrefix": "10.1.0.0/24"}}]}})
    stacks = {}
    for stack in ("a", "b"):
        ip = f"{net}/publicIPAddresses/{name}-{stack}-ip"
        az.seed("PUT", ip, {"location": location, "sku": {"name": "Standard"}, "properties": {
            "publicIPAllocationMethod": "Static", "dnsSettings": {"domainNameLabel": f"{name}-{stack}-{sub[:8]}"}}})
        lb = f"{net}/loadBalancers/{name}-{stack}-lb"
        az.seed("PUT", lb, {"location": location, "sku": {"name": "Standard"}, "properties": {
            "frontendIPConfigurations": [{"name": "front", "properties": {"publicIPAddress": {"id": ip}}}],
            "backendAddressPools": [{"name": "pool"}],
            "probes": [{"name": "healthz", "properties": {"protocol": "Http", "port": 80, "requestPath": "/healthz",
                                                          "intervalInSeconds": 5}}],
            "loadBalancingRules": [{"name": "http", "properties": {
                "protocol": "Tcp", "frontendPort": 80, "backendPort": 80,
                "frontendIPConfiguration": {"id": f"{lb}/frontendIPConfigurations/front"},
                "backendAddressPool": {"id": f"{lb}/backendAddressPools/pool"},
                "probe": {"id": f"{lb}/probes/healthz"}}}]}})
        stacks[stack] = {"ip": ip, "lb": lb, "pool": f"{lb}/backendAddressPools/pool",
                         "endpoint": f"{name}-stack-{stack}"}
    gallery = f"{rg}/providers/Microsoft.Compute/galleries/{name}gallery"
    az.seed("PUT", gallery, {"location": location})
    image = f"{gallery}/images/{name}"
    az.seed("PUT", image, {"location": location, "properties": {
        "osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V2",
        "identifier": {"publisher": "switchyard", "offer": name, "sku": "prod"}}})
    versions = {}
    for version in ("1.0.0", "1.1.0"):
        versions[version] = f"{image}/versions/{version}"
        az.seed("PUT", versions[version], {"location": location, "properties": {
            "storageProfile": {"source": {"virtualMachineId": f"{rg}/providers/Microsoft.Compute/virtualMachines/"
                                                              f"{name}-builder"}}}})
    blue = f"{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}-blue"
    az.seed("PUT", blue, scale_set(location, capacity, zones, versions["1.0.0"], f"{vnet}/subnets/app",
                                   stacks["a"]["pool"], health_extension))
    world = {"subscription": sub, "tenant": tenant, "client_id": client_id, "secret": secret, "resource_group": rg,
             "location": location, "vnet": vnet, "subnet": f"{vnet}/subnets/app", "stacks": stacks,
             "images": versions, "blue": blue, "blue_name": f"{name}-blue"}
    if autoscale:
        setting = f"{rg}/providers/Microsoft.Insights/autoscaleSettings/{name}-blue-autoscale"
        az.seed("PUT", setting, {"location": location, "properties": {
            "enabled": True, "targetResourceUri": blue, "profiles": [{
                "name": "default", "capacity": {"minimum": str(autoscale[0]), "maximum": str(autoscale[1]),
                                                "default": str(capacity)},
                "rules": [cpu_rule(blue, "GreaterThan", 70, "Increase"), cpu_rule(blue, "LessThan", 25, "Decrease")]}]}})
        world["autoscale"] = setting
    profile = f"{net}/trafficManagerProfiles/{name}-tm"
    az.seed("PUT", profile, {"location": "global", "properties": {
        "profileStatus": "Enabled", "trafficRoutingMethod": "Weighted",
        "dnsConfig": {"relativeName": f"{name}-{sub[:8]}", "ttl": ttl},
        "monitorConfig": {"protocol": "HTTP", "port": 80, "path": "/healthz", "intervalInSeconds": 10,
                          "timeoutInSeconds": 5, "toleratedNumberOfFailures": 1},
        "endpoints": [endpoint(stacks["a"], 1000, "Enabled"), endpoint(stacks["b"], 1, "Disabled")]}})
    world["profile"] = profile
    return world


def scale_set(location, capacity, zones, image, subnet, pool, health_extension=True):
    """A Uniform scale set's PUT body, as a team would have written blue's."""
    extensions = [{"name": "HealthExtension", "properties": {
        "publisher": "Microsoft.ManagedServices", "type": "ApplicationHealthLinux", "typeHandlerVersion": "2.0",
        "autoUpgradeMinorVersion": True,
        "settings": {"protocol": "http", "port": 80, "requestPath": "/healthz"}}}] if health_extension else []
    return {"location": location, "sku": {"name": "Standard_D2s_v5", "tier": "Standard", "capacity": capacity},
            "zones": list(zones), "properties": {
                "orchestrationMode": "Uniform", "overprovision": False, "singlePlacementGroup": False,
                "upgradePolicy": {"mode": "Manual"},
                "virtualMachineProfile": {
                    "osProfile": {"computerNamePrefix": "web", "adminUsername": "azureuser",
                                  "linuxConfiguration": {"disablePasswordAuthentication": True, "ssh": {
                                      "publicKeys": [{"path": "/home/azureuser/.ssh/authorized_keys",
                                                      "keyData": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStandin"}]}}},
                    "storageProfile": {"imageReference": {"id": image},
                                       "osDisk": {"createOption": "FromImage", "caching": "ReadWrite",
                                                  "managedDisk": {"storageAccountType": "Premium_LRS"}}},
                    "networkProfile": {"networkInterfaceConfigurations": [{
                        "name": "nic", "properties": {"primary": True, "ipConfigurations": [{
                            "name": "ipconfig", "properties": {
                                "primary": True, "subnet": {"id": subnet},
                                "loadBalancerBackendAddressPools": [{"id": pool}]}}]}}]},
                    "extensionProfile": {"extensions": extensions}}}}


def cpu_rule(target, operator, threshold, direction):
    return {"metricTrigger": {"metricName": "Percentage CPU", "metricResourceUri": target, "timeGrain": "PT1M",
                              "statistic": "Average", "timeWindow": "PT5M", "timeAggregation": "Average",
                              "operator": operator, "threshold": threshold},
            "scaleAction": {"direction": direction, "type": "ChangeCount", "value": "1", "cooldown": "PT5M"}}


def endpoint(stack, weight, status):
    return {"name": stack["endpoint"], "type": "Microsoft.Network/trafficManagerProfiles/azureEndpoints",
            "properties": {"targetResourceId": stack["ip"], "weight": weight, "endpointStatus": status}}


def demo(standin_class, argv=None):
    """Runs the stand-in with this world until interrupted, and prints how to reach it: its URLs, the certificate
    to trust, the world's ids and a client's environment (with a throwaway secret of this run)."""
    parser = argparse.ArgumentParser(description="A local Azure stand-in with a blue/green world, on 127.0.0.1.")
    parser.add_argument("--no-tls", action="store_true", help="plain HTTP only")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="azure-standin-")
    standin = standin_class(tls=None if args.no_tls else make_certificate(folder))
    world = seed_world(standin)
    standin.directory.add_identity(world["tenant"])   # IMDS answers for the system-assigned identity
    print(json.dumps({"urls": {"http": standin.url, "https": standin.tls_url}, "certificate": None if args.no_tls
                      else os.path.join(folder, "standin.pem"), "world": world,
                      "environment": standin.environment(world["tenant"], world["client_id"], world["secret"])},
                     indent=2), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.close()
