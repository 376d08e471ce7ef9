locals {
  create_bucket  = var.existing_bucket == null
  create_kms_key = local.create_bucket && var.kms_key_arn == null

  # Known at plan time, unlike the key's ARN, so it can decide what exists.
  use_kms     = var.kms_key_arn != null || local.create_kms_key
  kms_key_arn = var.kms_key_arn != null ? var.kms_key_arn : one(aws_kms_key.this[*].arn)

  bucket_name = local.create_bucket ? one(aws_s3_bucket.this[*].id) : var.existing_bucket
  bucket_arn  = "arn:${local.partition}:s3:::${local.bucket_name}"
}

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "cogvault repositories of ${var.user_pool_id != null ? "Cognito user pool ${var.user_pool_id}" : "the Cognito user pools of ${var.function_name}"}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = var.tags

  # No policy: the default key policy lets IAM policies in this account grant
  # use of the key, which is how the function's role gets it (iam.tf).
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/cogvault-${local.deployment_slug}"
  target_key_id = aws_kms_key.this[0].key_id
}

resource "aws_s3_bucket" "this" {
  count = local.create_bucket ? 1 : 0

  bucket        = var.bucket_name
  bucket_prefix = var.bucket_name == null ? var.bucket_name_prefix : null

  # Object Lock can only be chosen when the bucket is created.
  object_lock_enabled = var.object_lock

  tags = var.tags
}

resource "aws_s3_bucket_versioning" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.kms_key_arn
    }
    # One data key per bucket instead of one KMS call per object: the journal
    # writes many small objects.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = local.create_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.this[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "bucket" {
  count = local.create_bucket ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this[0].arn,
      "${aws_s3_bucket.this[0].arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Each pool's repository's config.json (format, encryption) is written once by
  # `cogvault init` and never deleted: nobody may delete it or one of its
  # versions, whatever their IAM policy says (an explicit deny wins). Only
  # someone who may change this bucket policy can lift that.
  statement {
    sid       = "DenyConfigDelete"
    effect    = "Deny"
    actions   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = [for p in local.pools : "${aws_s3_bucket.this[0].arn}/${p.repository_prefix}/config.json"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }

  # Create-once: a PutObject or CompleteMultipartUpload into the repository
  # without If-None-Match (which makes S3 refuse an existing key with 412)
  # is denied, for every principal. cogvault sends If-None-Match: * on every
  # write. CreateMultipartUpload and UploadPart take no conditional header;
  # s3:ObjectCreationOperation is false for them, so they pass. S3 User
  # Guide, "Enforce conditional writes on Amazon S3 buckets". CopyObject into
  # the repository is refused too (cogvault never copies).
  statement {
    sid       = "DenyOverwrite"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this[0].arn}/${var.repository_prefix}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Null"
      variable = "s3:if-none-match"
      values   = ["true"]
    }

    condition {
      test     = "Bool"
      variable = "s3:ObjectCreationOperation"
      values   = ["true"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  policy = data.aws_iam_policy_document.bucket[0].json

  # S3 rejects bucket policy changes while the public access block is being
  # changed; order them.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# No storage class transitions, for the journal (<repository_prefix>/journal/)
# or anything else: journal objects are a few KB, below the 128 KB minimum
# billable size of the infrequent-access classes, and snapshots are read back
# by restores and `verify`. cogvault writes every object once
# (If-None-Match: *), so noncurrent versions only come from deletes.
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }

    # Remove a delete marker once no version is left behind it.
    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }

  # Lifecycle rules on noncurrent versions need versioning first.
  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = local.create_bucket && var.object_lock ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  # GOVERNANCE by default; COMPLIANCE with object_lock_mode (README.md,
  # "Object Lock").
  rule {
    default_retention {
      mode = var.object_lock_mode
      days = var.object_lock_retention_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}
