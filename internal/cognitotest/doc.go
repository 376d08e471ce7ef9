// Package cognitotest is a faithful fake of the Amazon Cognito user-pool
// service (cognito-idp). It speaks the AWS JSON 1.1 wire protocol over HTTP, so
// the real aws-sdk-go-v2 cognitoidentityprovider client talks to it unchanged,
// and it enforces the rules real pools enforce: ListUsers page limits, opaque
// pagination tokens bound to their request, filter grammar, schema-checked
// attributes, Cognito's error codes and messages, and per-category request-rate
// quotas answered with TooManyRequestsException.
//
// Every test, benchmark, `cogvault demo` and `cogvault fake-cognito` trusts it,
// so each rule cites the AWS document it comes from. When you learn how real
// Cognito behaves, encode it here.
//
// State lives in memory and is safe for concurrent use. Populate seeds a pool
// deterministically with realistic users and groups.
//
// This package imports internal/quota and the standard library (plus uuid and
// x/time/rate); it must not import cli, progress or cobra.
package cognitotest
