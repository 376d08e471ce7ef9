// Package cognito is cogvault's narrow view of the Cognito user-pool API: the
// few operations backup and restore need, as iterators that follow pagination
// tokens to the end, a listing sharded by sub prefix so that independent token
// chains run concurrently, and error classification.
//
// It depends on aws-sdk-go-v2's cognitoidentityprovider types but takes its
// clients as one-method interfaces, so the real client, a paced client and
// the fake in internal/cognitotest are interchangeable. It must not import
// cli, progress or cobra.
package cognito
