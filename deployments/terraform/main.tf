# An example, not tested here (terraform is not available to the test run): the world of a `fleet.mode: pair`
# release as Terraform declares it. Terraform creates the load balancer, the listener, both target groups, the
# launch template and both Auto Scaling groups; Switchyard owns what changes at each release (see README.md).

terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

provider "aws" {
  region = var.region
}

resource "aws_lb" "web" {
  name               = "web"
  load_balancer_type = "application"
  subnets            = var.subnet_ids
  security_groups    = [var.security_group_id]
}

resource "aws_lb_target_group" "blue" {
  name     = "web-blue"
  port     = 80
  protocol = "HTTP"
  vpc_id   = var.vpc_id
  health_check { path = "/healthz" }
}

resource "aws_lb_target_group" "green" {
  name     = "web-green"
  port     = 80
  protocol = "HTTP"
  vpc_id   = var.vpc_id
  health_check { path = "/healthz" }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.web.arn
  port              = 80
  protocol          = "HTTP"

  # The first weights only: from then on Switchyard moves them.
  default_action {
    type = "forward"
    forward {
      target_group {
        arn    = aws_lb_target_group.blue.arn
        weight = 100
      }
      target_group {
        arn    = aws_lb_target_group.green.arn
        weight = 0
      }
    }
  }

  lifecycle {
    # Switchyard owns the weights, and tags the listener with the release that holds it (switchyard:deployment).
    ignore_changes = [default_action, tags, tags_all]
  }
}

resource "aws_launch_template" "web" {
  name                   = "web"
  image_id               = var.ami # the first AMI; later ones arrive as versions Switchyard creates
  instance_type          = "t3.micro"
  vpc_security_group_ids = [var.security_group_id]
  update_default_version = false
}

locals {
  # Both groups of the pair: the same template, one target group each. Which one serves changes at every release.
  pair = {
    blue  = { target_group = aws_lb_target_group.blue.arn, desired = var.desired }
    green = { target_group = aws_lb_target_group.green.arn, desired = 0 }
  }
}

resource "aws_autoscaling_group" "web" {
  for_each            = local.pair
  name                = "web-${each.key}"
  vpc_zone_identifier = var.subnet_ids
  min_size            = each.value.desired
  max_size            = var.desired * 2
  desired_capacity    = each.value.desired
  target_group_arns   = [each.value.target_group]
  health_check_type   = "ELB"

  launch_template {
    id      = aws_launch_template.web.id
    version = aws_launch_template.web.latest_version # a number: Switchyard never sets $Latest either
  }

  lifecycle {
    # Switchyard owns capacity, the version each group launches and the processes it suspends while a release runs;
    # it never creates or deletes either group.
    ignore_changes = [desired_capacity, min_size, max_size, launch_template[0].version, suspended_processes]
  }
}
