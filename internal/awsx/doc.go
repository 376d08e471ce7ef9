// Package awsx builds the aws-sdk-go-v2 configuration every cogvault command
// and the Lambda share: credentials and region from the default chain (or
// --profile / --region), an optional Cognito endpoint (--endpoint-url, which
// like the AWS CLI's applies to Cognito only: S3 and CloudWatch Logs keep the
// SDK's own AWS_ENDPOINT_URL* resolution; see Configs), a retry policy fit for Cognito's
// throttling, and a per-quota-category rate limiter attached as SDK middleware
// so that every Cognito call is paced by the category its operation belongs
// to, by the 5-requests-a-second-per-pool cap of the UserPoolResource* and
// UserPoolClient* operations, and, when asked, at the account's provisioned
// limits (GetProvisionedLimit, read on a category's first use).
//
// It imports internal/quota, the SDK and x/time/rate; it must not import cli,
// progress or cobra.
package awsx
