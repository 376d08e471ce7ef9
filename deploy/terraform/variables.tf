variable "user_pool_id" {
  description = "Id of the Cognito user pool to protect, such as \"eu-west-1_AbCdEf123\", when the deployment protects one pool; for several, leave it null and set pools. The module's AWS provider must be configured for the pool's region."
  type        = string
  default     = null

  validation {
    condition     = var.user_pool_id == null ? true : can(regex("^[\\w-]+_[0-9a-zA-Z]+$", var.user_pool_id))
    error_message = "The user_pool_id must look like <region>_<id>, for example \"eu-west-1_AbCdEf123\"."
  }
}

variable "function_name" {
  description = "Name of the capture Lambda function (the PostConfirmation trigger); the worker is <function_name>-worker. Also the base name of the log groups, IAM roles, EventBridge rule, schedules, state machine, queue and alarms (at most 46 characters); change it to deploy cogvault twice in one account and region. With pools, each pool's resources are named <function_name>-<key>, at most 46 characters too."
  type        = string
  default     = "cogvault"

  validation {
    # The longest name built from it is the EventBridge rule
    # "<function_name>-cognito-api-calls" (18 more), and rule names are
    # limited to 64 characters (EventBridge API reference, PutRule);
    # terraform_test.go checks every generated name against its limit.
    condition     = can(regex("^[A-Za-z0-9_-]{1,46}$", var.function_name))
    error_message = "The function_name must be 1 to 46 letters, digits, hyphens or underscores: the module's longest name, the EventBridge rule <function_name>-cognito-api-calls, is limited to 64 characters."
  }
}

variable "architecture" {
  description = "Instruction set of the Lambda function: \"arm64\" (Graviton, cheaper per GB-second) or \"x86_64\". Selects the default lambda_zip."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "The architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "lambda_zip" {
  description = "Path to the Lambda deployment package (a zip holding the `bootstrap` executable). null means the file `make lambda` builds in the repository root: dist/cogvault-lambda-arm64.zip or dist/cogvault-lambda-amd64.zip, according to architecture."
  type        = string
  default     = null
}

variable "memory_size" {
  description = "Memory of the worker Lambda function (snapshots, restores) in MB. CPU share scales with it; 512 MB is enough for snapshots of pools with a few hundred thousand users."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "The memory_size must be between 128 and 10240 MB."
  }
}

variable "capture_memory_size" {
  description = "Memory of the capture function (PostConfirmation trigger and change events) in MB. It reads one user and writes one small object per event."
  type        = number
  default     = 256

  validation {
    condition     = var.capture_memory_size >= 128 && var.capture_memory_size <= 10240
    error_message = "The capture_memory_size must be between 128 and 10240 MB."
  }
}

variable "capture_timeout" {
  description = "Timeout of the capture function in seconds. The trigger answers within its own 3 s budget; change events may wait for a re-read of an eventually consistent listing."
  type        = number
  default     = 30

  validation {
    condition     = var.capture_timeout >= 5 && var.capture_timeout <= 900
    error_message = "The capture_timeout must be between 5 and 900 seconds."
  }
}

variable "capture_reserved_concurrency" {
  description = "Reserved concurrent executions of the capture function, so that a burst of sign-ups or changes cannot be starved by other functions (and cannot starve them). null leaves it on the account's unreserved pool. Do not set 0: it disables the function, and with the PostConfirmation trigger attached, sign-ups fail."
  type        = number
  default     = null

  validation {
    condition     = var.capture_reserved_concurrency == null ? true : var.capture_reserved_concurrency >= 1
    error_message = "The capture_reserved_concurrency must be null or at least 1."
  }
}

variable "worker_reserved_concurrency" {
  description = "Reserved concurrent executions of the worker function (snapshots, restores). null leaves it on the account's unreserved pool; 1 keeps a manual restore from running beside the scheduled snapshot."
  type        = number
  default     = null

  validation {
    condition     = var.worker_reserved_concurrency == null ? true : var.worker_reserved_concurrency >= 1
    error_message = "The worker_reserved_concurrency must be null or at least 1."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda functions' CloudWatch log groups /aws/lambda/<function name> and of the state machine's /aws/vendedlogs/states/<function_name>-worker, in days (0 keeps logs forever)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be a value CloudWatch Logs accepts: 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "repository_prefix" {
  description = "Key prefix of the cogvault repository inside the bucket, without leading or trailing slash. The Lambda function gets COGVAULT_REPO = s3://<bucket>/<repository_prefix>."
  type        = string
  default     = "cogvault"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.repository_prefix))
    error_message = "The repository_prefix must be non-empty, without leading, trailing or double slashes, and use only S3 safe characters."
  }
}

variable "retention" {
  description = "How many snapshots the scheduled run keeps: the last N, plus the newest of each of the last N days, weeks and months (passed as COGVAULT_KEEP_LAST, _DAILY, _WEEKLY, _MONTHLY)."
  type = object({
    last    = optional(number, 3)
    daily   = optional(number, 7)
    weekly  = optional(number, 5)
    monthly = optional(number, 12)
  })
  default = {}

  validation {
    condition = alltrue([
      for n in [var.retention.last, var.retention.daily, var.retention.weekly, var.retention.monthly] :
      n != null && n >= 0 && floor(n) == n
    ])
    error_message = "Every retention count must be a whole number of at least 0."
  }
}

variable "enable_restore" {
  description = "Grant the function the Cognito write actions a restore needs (AdminCreateUser, CreateGroup, import jobs, ...). false (the default) gives a capture-only deployment that can read the pool but cannot write users."
  type        = bool
  default     = false
}

variable "app_client_ids" {
  description = "App client ids of the pool. Self-service calls made with one (SignUp, ConfirmSignUp, ConfirmForgotPassword, ...) name the client, not the pool, in their CloudTrail record; with their ids the EventBridge rule matches them too. [] (the default) matches by pool id only."
  type        = list(string)
  default     = []
}

variable "capture_unscoped_self_service" {
  description = "Also send the function self-service calls that name neither pool nor client (UpdateUserAttributes, DeleteUser, ... authorised by an access token), from every pool of the account and region; the function journals only subs found in its own pool. Costs one invocation and one AdminGetUser per such call in the region."
  type        = bool
  default     = false
}

variable "import_role_arn" {
  description = "ARN of the IAM role Cognito user import jobs assume to write their CloudWatch logs, passed as COGVAULT_IMPORT_ROLE_ARN. \"\" (the default) means restores use the admin API only. iam:PassRole on it is granted only when enable_restore is true."
  type        = string
  default     = ""

  validation {
    condition     = var.import_role_arn == "" || can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/.+$", var.import_role_arn))
    error_message = "The import_role_arn must be \"\" or an IAM role ARN."
  }
}

variable "age_identity_secret_arn" {
  description = "Full ARN (with the six characters Secrets Manager appends) of a Secrets Manager secret that holds the age identity of an encrypted repository, for the worker's restores and drills: passed to the worker only as COGVAULT_AGE_IDENTITY_SECRET_ARN (\"\" when null), with secretsmanager:GetSecretValue on that secret. The capture and migration functions never get it. null (the default): none."
  type        = string
  default     = null

  validation {
    condition     = var.age_identity_secret_arn == null ? true : can(regex("^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.age_identity_secret_arn))
    error_message = "The age_identity_secret_arn must be null or the full ARN of a Secrets Manager secret, arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters> (IAM matches the full ARN; a partial one grants nothing)."
  }
}

variable "age_identity_secret_kms_key_arn" {
  description = "ARN of the customer managed KMS key the age_identity_secret_arn secret is encrypted with, if any: the worker gets kms:Decrypt on it only through Secrets Manager (kms:ViaService secretsmanager.<the secret's region>.amazonaws.com). null (the default): the secret uses the AWS managed key aws/secretsmanager, which needs no grant."
  type        = string
  default     = null

  validation {
    condition     = var.age_identity_secret_kms_key_arn == null ? true : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.age_identity_secret_kms_key_arn))
    error_message = "The age_identity_secret_kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>; an alias cannot be used in IAM policies)."
  }
}

variable "schedule_expression" {
  description = "EventBridge Scheduler expression of the full snapshot, such as \"rate(1 day)\" or \"cron(15 3 * * ? *)\" (UTC)."
  type        = string
  default     = "rate(1 day)"

  validation {
    condition     = can(regex("^(rate|cron|at)\\(.+\\)$", var.schedule_expression))
    error_message = "The schedule_expression must be a rate(...), cron(...) or at(...) expression."
  }
}

variable "existing_bucket" {
  description = "Name of an existing S3 bucket to hold the repository. When set, the module creates no bucket, bucket configuration or KMS key; the bucket's own versioning, encryption, policy and lifecycle apply. Mutually exclusive with bucket_name."
  type        = string
  default     = null
}

variable "bucket_name" {
  description = "Name of the S3 bucket the module creates. null lets Terraform pick a unique name starting with bucket_name_prefix. Ignored when existing_bucket is set (and then must be null)."
  type        = string
  default     = null
}

variable "bucket_name_prefix" {
  description = "Prefix of the generated bucket name, used when bucket_name and existing_bucket are null."
  type        = string
  default     = "cogvault-"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{0,36}$", var.bucket_name_prefix))
    error_message = "The bucket_name_prefix must be 1 to 37 lowercase letters, digits, dots or hyphens, starting with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key for SSE-KMS (bucket default encryption and COGVAULT_KMS_KEY_ID). null makes the module create a key with rotation when it creates the bucket; with existing_bucket and null, objects get the bucket's default encryption and no KMS permission is granted."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null ? true : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); an alias ARN cannot be used in IAM policies."
  }
}

variable "noncurrent_version_days" {
  description = "Days after which S3 permanently deletes noncurrent object versions (what a delete, `forget` or `prune`, leaves behind in the versioned bucket)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "The noncurrent_version_days must be at least 1."
  }
}

variable "object_lock" {
  description = "Create the bucket with S3 Object Lock and a default retention of object_lock_retention_days in object_lock_mode. Can only be chosen when the bucket is created; not available with existing_bucket."
  type        = bool
  default     = false
}

variable "object_lock_mode" {
  description = "Default Object Lock retention mode with object_lock: \"GOVERNANCE\" (a principal granted s3:BypassGovernanceRetention can still delete locked versions) or \"COMPLIANCE\" (nobody, not even the account root, can delete a locked version or shorten its retention until it ends)."
  type        = string
  default     = "GOVERNANCE"

  validation {
    condition     = contains(["GOVERNANCE", "COMPLIANCE"], var.object_lock_mode)
    error_message = "The object_lock_mode must be \"GOVERNANCE\" or \"COMPLIANCE\"."
  }
}

variable "object_lock_retention_days" {
  description = "Default Object Lock retention of every new object version, in days, when object_lock is true."
  type        = number
  default     = 30

  validation {
    condition     = var.object_lock_retention_days >= 1
    error_message = "The object_lock_retention_days must be at least 1."
  }
}

variable "signing_key_arn" {
  description = "ARN of an existing AWS KMS key that signs the repository (key spec ECC_NIST_EDWARDS25519, key usage SIGN_VERIFY). null makes the module create one. The functions get COGVAULT_SIGNING_KEY = \"kms:<ARN>\" and kms:Sign on it."
  type        = string
  default     = null

  validation {
    condition     = var.signing_key_arn == null ? true : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.signing_key_arn))
    error_message = "The signing_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); an alias ARN cannot be used in IAM policies."
  }
}

variable "signing_public_key" {
  description = "Public key of signing_key_arn, base64 of its DER SubjectPublicKeyInfo (what `aws kms get-public-key` and the aws_kms_public_key data source return), for when whoever runs Terraform may not call kms:GetPublicKey on that key. null reads it from KMS. Passed as COGVAULT_REPO_KEY."
  type        = string
  default     = null

  validation {
    # An Ed25519 SubjectPublicKeyInfo is 44 bytes: the 12-byte header
    # 302a300506032b6570032100 (RFC 8410, OID 1.3.101.112) and the 32-byte key.
    condition     = var.signing_public_key == null ? true : can(regex("^MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}=$", var.signing_public_key))
    error_message = "The signing_public_key must be null or the base64 of an Ed25519 SubjectPublicKeyInfo (60 characters starting with MCowBQYDK2VwAyEA), such as `aws kms get-public-key --key-id <ARN> --query PublicKey --output text` prints."
  }
}

variable "tags" {
  description = "Tags added to every resource the module creates that supports them."
  type        = map(string)
  default     = {}
}

variable "alarm_topic_arn" {
  description = "ARN of an SNS topic the CloudWatch alarms notify (ALARM and OK). null creates the alarms without actions: they show in the console only."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null ? true : can(regex("^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.alarm_topic_arn))
    error_message = "The alarm_topic_arn must be null or an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)."
  }
}

variable "drill_schedule_expression" {
  description = "EventBridge Scheduler expression of the restore drill, such as \"cron(0 4 ? * SUN *)\" (UTC). null (the default) schedules no drill and creates no drill alarm."
  type        = string
  default     = null

  validation {
    condition     = var.drill_schedule_expression == null ? true : can(regex("^(rate|cron|at)\\(.+\\)$", var.drill_schedule_expression))
    error_message = "The drill_schedule_expression must be null or a rate(...), cron(...) or at(...) expression."
  }
}

variable "permissions_boundary" {
  description = "ARN of an IAM managed policy set as the permissions boundary of every role the module creates (capture, worker, state machine, scheduler). null sets none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary == null ? true : can(regex("^arn:[a-z-]+:iam::([0-9]{12}|aws):policy/.+$", var.permissions_boundary))
    error_message = "The permissions_boundary must be null or an IAM policy ARN (arn:aws:iam::<account>:policy/<name>)."
  }
}

variable "role_path" {
  description = "IAM path of every role the module creates, such as \"/cogvault/\"."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([\\x21-\\x7e]+/)?$", var.role_path)) && length(var.role_path) <= 512
    error_message = "The role_path must start and end with \"/\" (\"/\" or \"/team/app/\"), at most 512 characters."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of a KMS key that encrypts the functions' and the state machine's log groups. Its key policy must allow the CloudWatch Logs service principal logs.<region>.amazonaws.com (kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey*, kms:Describe*). null keeps CloudWatch Logs' default encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_kms_key_arn == null ? true : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.log_kms_key_arn))
    error_message = "The log_kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "state_machine_log_level" {
  description = "Which execution events the state machine logs to its log group /aws/vendedlogs/states/<function_name>-worker: \"ERROR\" (the default: failed states and executions), \"ALL\", \"FATAL\" or \"OFF\". The execution history in Step Functions keeps every event either way."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.state_machine_log_level)
    error_message = "The state_machine_log_level must be \"ALL\", \"ERROR\", \"FATAL\" or \"OFF\" (Step Functions LoggingConfiguration level)."
  }
}

variable "state_machine_include_execution_data" {
  description = "Include each event's input and output in the state machine's log. false (the default) keeps them out: they carry the worker's requests (target pool, snapshot) and answers, which the execution history already holds for those who may read it."
  type        = bool
  default     = false
}

variable "pools" {
  description = "The pools to protect, by a short key (lowercase letters, digits, hyphens): user_pool_id, and optionally schedule_expression, drill_schedule_expression, retention, enable_restore, import_role_arn, age_identity_secret_arn, age_identity_secret_kms_key_arn (null: the module's own input of that name) and app_client_ids (null: none). Each pool gets functions, roles, rule, schedules, state machine, queue and alarms named <function_name>-<key>[-…] and the repository <repository_prefix>/<key> in the shared bucket. {} (the default) with user_pool_id for one pool; set exactly one of the two."
  type = map(object({
    user_pool_id              = string
    schedule_expression       = optional(string)
    drill_schedule_expression = optional(string)
    retention = optional(object({
      last    = optional(number, 3)
      daily   = optional(number, 7)
      weekly  = optional(number, 5)
      monthly = optional(number, 12)
    }))
    enable_restore                  = optional(bool)
    import_role_arn                 = optional(string)
    app_client_ids                  = optional(list(string))
    age_identity_secret_arn         = optional(string)
    age_identity_secret_kms_key_arn = optional(string)
  }))
  default = {}

  validation {
    # <function_name>-<key> must stay within 46 characters (function_name);
    # with the default function_name that leaves 37. A precondition on the
    # capture function checks the sum.
    condition     = alltrue([for k, p in var.pools : can(regex("^[a-z0-9][a-z0-9-]{0,36}$", k))])
    error_message = "Each key of pools must be 1 to 37 lowercase letters, digits or hyphens, starting with a letter or digit: it names the pool's resources (<function_name>-<key>) and repository (<repository_prefix>/<key>)."
  }
  validation {
    condition     = alltrue([for k, p in var.pools : can(regex("^[\\w-]+_[0-9a-zA-Z]+$", p.user_pool_id))])
    error_message = "Every user_pool_id in pools must look like <region>_<id>, for example \"eu-west-1_AbCdEf123\"."
  }
  validation {
    condition     = length(distinct([for k, p in var.pools : p.user_pool_id])) == length(var.pools)
    error_message = "A user pool appears twice in pools: give each pool one key."
  }
  validation {
    condition = alltrue([for k, p in var.pools : alltrue([
      for e in [p.schedule_expression, p.drill_schedule_expression] : e == null ? true : can(regex("^(rate|cron|at)\\(.+\\)$", e))
    ])])
    error_message = "Every schedule_expression and drill_schedule_expression in pools must be null or a rate(...), cron(...) or at(...) expression."
  }
  validation {
    condition = alltrue([for k, p in var.pools : p.retention == null ? true : alltrue([
      for n in [p.retention.last, p.retention.daily, p.retention.weekly, p.retention.monthly] : n != null && n >= 0 && floor(n) == n
    ])])
    error_message = "Every retention count in pools must be a whole number of at least 0."
  }
  validation {
    condition     = alltrue([for k, p in var.pools : p.import_role_arn == null ? true : p.import_role_arn == "" || can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/.+$", p.import_role_arn))])
    error_message = "Every import_role_arn in pools must be null, \"\" or an IAM role ARN."
  }
  validation {
    condition = alltrue([for k, p in var.pools : (p.age_identity_secret_arn == null ? true : can(regex("^arn:[a-z-]+:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", p.age_identity_secret_arn))) && (
    p.age_identity_secret_kms_key_arn == null ? true : can(regex("^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", p.age_identity_secret_kms_key_arn)))])
    error_message = "Every age_identity_secret_arn in pools must be null or the full ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>), and every age_identity_secret_kms_key_arn null or a KMS key ARN."
  }
  validation {
    # A pool's functions are <function_name>-<key>; the migration function
    # is <function_name>-migration (migration.tf), with its log group.
    condition     = alltrue([for k, p in var.pools : k != "migration"])
    error_message = "A key of pools may not be \"migration\": that pool's capture function would take the name of the migration function, <function_name>-migration. Choose another key."
  }
  validation {
    # A pool's resources are named <function_name>-<key><suffix>, with
    # these suffixes (pools_test.go derives them from the module and checks
    # each is refused): a key that is another key plus a suffix would give
    # two resources one name, e.g. key "x-worker"'s capture function is key
    # "x"'s worker. Checked across resource types, which is stricter than
    # AWS needs and simpler to state.
    condition = length(flatten([for k, p in var.pools : [for s in ["", "-capture", "-capture-dead-letters", "-capture-failures", "-cognito-api-calls", "-drill", "-drill-failed", "-no-snapshot-26h", "-restore-failures", "-scheduler", "-snapshot", "-snapshot-failures", "-states", "-worker", "-worker-executionsaborted", "-worker-executionsfailed", "-worker-executionstimedout"] : "${k}${s}"]])) == length(distinct(flatten([
      for k, p in var.pools : [for s in ["", "-capture", "-capture-dead-letters", "-capture-failures", "-cognito-api-calls", "-drill", "-drill-failed", "-no-snapshot-26h", "-restore-failures", "-scheduler", "-snapshot", "-snapshot-failures", "-states", "-worker", "-worker-executionsaborted", "-worker-executionsfailed", "-worker-executionstimedout"] : "${k}${s}"]
    ])))
    error_message = "A key of pools may not be another key followed by a suffix the module appends to names (-capture, -capture-dead-letters, -capture-failures, -cognito-api-calls, -drill, -drill-failed, -no-snapshot-26h, -restore-failures, -scheduler, -snapshot, -snapshot-failures, -states, -worker, -worker-executionsaborted, -worker-executionsfailed, -worker-executionstimedout): for keys \"x\" and \"x-worker\", <function_name>-x-worker would name two resources. Rename one of the two keys."
  }
}

variable "migration" {
  description = "Migration mode (cogvault migrate): a function for the target pool's UserMigration and PostAuthentication triggers that signs users in against the source pool, so that they keep their passwords. null (the default) creates nothing. target_pool_id: the new pool, in this account and Region; source_pool_id and source_client_id: the old pool and an app client of it that allows ALLOW_ADMIN_USER_PASSWORD_AUTH; source_region: default the Region in source_pool_id; source_role_arn: for a source in another account, a role there that trusts migration_role_arn (modules/migration-source-role); legacy_sub_attribute: a custom attribute of the target that takes the old sub, such as \"custom:legacy_sub\"; repository: the pool (a key of pools, or \"default\" with user_pool_id) whose repository keeps the migration records, required with several pools (default: the only pool)."
  type = object({
    target_pool_id       = string
    source_pool_id       = string
    source_client_id     = string
    source_region        = optional(string)
    source_role_arn      = optional(string)
    legacy_sub_attribute = optional(string)
    repository           = optional(string)
  })
  default = null

  validation {
    condition = var.migration == null ? true : (
      can(regex("^[\\w-]+_[0-9a-zA-Z]+$", var.migration.target_pool_id)) &&
      can(regex("^[\\w-]+_[0-9a-zA-Z]+$", var.migration.source_pool_id)) &&
      var.migration.target_pool_id != var.migration.source_pool_id &&
      can(regex("^[\\w+]+$", var.migration.source_client_id)) &&
      (var.migration.source_role_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]+$", var.migration.source_role_arn))) &&
      (var.migration.legacy_sub_attribute == null ? true : can(regex("^custom:.+$", var.migration.legacy_sub_attribute)))
    )
    error_message = "In migration, target_pool_id and source_pool_id must be two different user pool ids (<region>_<id>), source_client_id an app client id, source_role_arn null or an IAM role ARN (arn:aws:iam::<account>:role/<name>), and legacy_sub_attribute null or a custom attribute such as \"custom:legacy_sub\"."
  }
}
