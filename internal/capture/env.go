package capture

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// Env is the Lambda's configuration as its environment gives it.
type Env struct {
	Repo          string
	PoolID        string
	KMSKeyID      string
	ImportRoleArn string
	Retention     snapshot.Policy
}

// EnvVars are the variables FromEnv reads; the Terraform module sets the
// COGVAULT_ ones (a test checks). The COGNITO_ ones are the seed design's,
// honoured so that its deployments can switch by changing the code only.
var EnvVars = []string{
	"COGVAULT_REPO", "COGVAULT_POOL_ID", "COGVAULT_KMS_KEY_ID", "COGVAULT_IMPORT_ROLE_ARN",
	"COGVAULT_KEEP_LAST", "COGVAULT_KEEP_DAILY", "COGVAULT_KEEP_WEEKLY", "COGVAULT_KEEP_MONTHLY",
	"COGNITO_BACKUP_BUCKET", "COGNITO_USER_POOL_ID", "COGNITO_IMPORT_USERS_ROLE_ARN",
	// Read by cmd/cogvault-lambda (identity.go), the worker's only: the
	// Secrets Manager secret holding its age identity.
	"COGVAULT_AGE_IDENTITY_SECRET_ARN",
}

// FromEnv reads the configuration; COGVAULT_* wins over the seed's names.
func FromEnv(getenv func(string) string) (Env, error) {
	first := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		return ""
	}
	e := Env{
		Repo:          first("COGVAULT_REPO"),
		PoolID:        first("COGVAULT_POOL_ID", "COGNITO_USER_POOL_ID"),
		KMSKeyID:      first("COGVAULT_KMS_KEY_ID"),
		ImportRoleArn: first("COGVAULT_IMPORT_ROLE_ARN", "COGNITO_IMPORT_USERS_ROLE_ARN"),
	}
	if e.Repo == "" {
		if b := first("COGNITO_BACKUP_BUCKET"); b != "" {
			e.Repo = "s3://" + b
		}
	}
	var errs []error
	if e.Repo == "" {
		errs = append(errs, errors.New("COGVAULT_REPO is not set: the repository URL, e.g. s3://my-bucket/cogvault"))
	}
	if e.PoolID == "" {
		errs = append(errs, errors.New("COGVAULT_POOL_ID is not set: the user pool to back up, e.g. us-east-1_AbC123"))
	}
	for name, dst := range map[string]*int{
		"COGVAULT_KEEP_LAST": &e.Retention.Last, "COGVAULT_KEEP_DAILY": &e.Retention.Daily,
		"COGVAULT_KEEP_WEEKLY": &e.Retention.Weekly, "COGVAULT_KEEP_MONTHLY": &e.Retention.Monthly,
	} {
		v := first(name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number ≥ 0", name, v))
			continue
		}
		*dst = n
	}
	return e, errors.Join(errs...)
}
