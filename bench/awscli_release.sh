#!/usr/bin/env bash
# The other baseline: the same release as a bash + awscli script, one `aws` process per call; after each weight
# change it looks once at the alarms and green's target health, as bench/boto3_release.py does.
# Usage: bench/awscli_release.sh ENDPOINT WORLD_JSON   (prints wall seconds)
set -euo pipefail
endpoint=$1
world=$2
j() { python3 -c "import json,sys; print(json.load(open('$world'))$1)"; }
listener=$(j '["listener_arn"]'); blue_tg=$(j '["target_group_arns"][0]'); green_tg=$(j '["target_group_arns"][1]')
new_ami=$(j '["new_ami"]'); alarms=$(j '.get("alarms", [""])[0]'); lt=$(j '["launch_template_id"]'); blue=$(j '["blue_asg"]'); green="$(j '["service"]')-green"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
aws() { command aws --endpoint-url "$endpoint" --output json "$@"; }
start=$(date +%s.%N)

aws elbv2 describe-listeners --listener-arns "$listener" >/dev/null
aws autoscaling describe-auto-scaling-groups >/dev/null
source=$(aws ec2 describe-launch-template-versions --launch-template-id "$lt" --versions '$Latest')
blue_ami=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['LaunchTemplateVersions'][0]['LaunchTemplateData']['ImageId'])" "$source")
aws ec2 describe-images --image-ids "$blue_ami" >/dev/null
aws ec2 describe-images --image-ids "$new_ami" >/dev/null
aws ec2 describe-launch-template-versions --launch-template-id "$lt" >/dev/null
data=$(python3 -c "import json,sys; d=json.loads(sys.argv[1])['LaunchTemplateVersions'][0]['LaunchTemplateData']; d['ImageId']=sys.argv[2]; print(json.dumps(d))" "$source" "$new_ami")
version=$(aws ec2 create-launch-template-version --launch-template-id "$lt" --launch-template-data "$data" --version-description bench \
  --query 'LaunchTemplateVersion.VersionNumber' --output text)
aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$green" >/dev/null
subnets=$(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$blue" --query 'AutoScalingGroups[0].VPCZoneIdentifier' --output text)
aws autoscaling create-auto-scaling-group --auto-scaling-group-name "$green" \
  --launch-template "LaunchTemplateId=$lt,Version=$version" --min-size 2 --max-size 4 --desired-capacity 2 \
  --vpc-zone-identifier "$subnets" --target-group-arns "$green_tg"
until [ "$(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$green" \
  --query 'length(AutoScalingGroups[0].Instances[?LifecycleState==`InService`])' --output text)" -ge 2 ]; do sleep 0.1; done
aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$green" >/dev/null
until [ "$(aws elbv2 describe-target-health --target-group-arn "$green_tg" \
  --query 'length(TargetHealthDescriptions[?TargetHealth.State==`healthy`])' --output text)" -ge 2 ]; do sleep 0.1; done
for w in 10 50 100; do
  aws elbv2 describe-listeners --listener-arns "$listener" >/dev/null
  aws elbv2 modify-listener --listener-arn "$listener" --default-actions \
    "[{\"Type\":\"forward\",\"ForwardConfig\":{\"TargetGroups\":[{\"TargetGroupArn\":\"$blue_tg\",\"Weight\":$((100 - w))},{\"TargetGroupArn\":\"$green_tg\",\"Weight\":$w}],\"TargetGroupStickinessConfig\":{\"Enabled\":false}}}]" >/dev/null
  aws elbv2 describe-listeners --listener-arns "$listener" >/dev/null
  if [ -n "$alarms" ]; then
    [ "$(aws cloudwatch describe-alarms --alarm-names "$alarms" --query 'length(MetricAlarms[?StateValue==`ALARM`])' --output text)" = 0 ]
  fi
  [ "$(aws elbv2 describe-target-health --target-group-arn "$green_tg" \
    --query 'length(TargetHealthDescriptions[?TargetHealth.State!=`healthy`])' --output text)" = 0 ]
done
aws elbv2 describe-listeners --listener-arns "$listener" >/dev/null
python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$start" "$(date +%s.%N)"
