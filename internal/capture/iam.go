package capture

import "github.com/cogvault/cogvault/internal/iampolicy"

// Actions are the IAM actions each mode of the Lambda calls, and
// ResourceTypes the resource type of each Cognito action cogvault calls.
// Both live in internal/iampolicy, the one table `cogvault iam-policy`, the
// Terraform module's test and this package's tests read.
var (
	Actions       = iampolicy.Lambda
	ResourceTypes = iampolicy.ResourceTypes
)
