variable "region" {
  type    = string
  default = "us-east-1"
}

variable "vpc_id" { type = string }
variable "subnet_ids" { type = list(string) }
variable "security_group_id" { type = string }

variable "ami" {
  description = "The AMI of the first version of the launch template (releases after that are Switchyard's)."
  type        = string
}

variable "desired" {
  description = "Instances of the serving group at creation."
  type        = number
  default     = 2
}
