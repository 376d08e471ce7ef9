terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.21: the first release whose KMS SDK knows the key spec
      # ECC_NIST_EDWARDS25519 of the signing key (signing.tf); 6.x also
      # names the region data source's attribute `region`. Below 7: a major
      # release may change resource schemas (Terraform's provider
      # versioning, semantic versions).
      version = ">= 6.21, < 7.0"
    }
  }
}
