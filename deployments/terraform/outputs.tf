# What the deployment file (web-pair.yaml) needs.
output "listener_arn" { value = aws_lb_listener.http.arn }
output "target_group_arns" { value = [aws_lb_target_group.blue.arn, aws_lb_target_group.green.arn] }
output "pair" { value = [for g in aws_autoscaling_group.web : g.name] }
