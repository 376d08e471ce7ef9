package migration

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
)

// SessionName is the role session name of the source calls: it shows in
// the source account's CloudTrail as assumed-role/<role>/cogvault-migration
// (AssumeRole's RoleSessionName, [\w+=,.@-]{2,64}, API_AssumeRole.html).
const SessionName = "cogvault-migration"

// Session length and early refresh. An hour is the most AssumeRole grants
// here: the function's own credentials are its execution role's session, so
// this is role chaining, which AssumeRole limits to one hour whatever the
// role's MaxSessionDuration (API_AssumeRole.html, DurationSeconds; IAM user
// guide, "Role chaining"). A warm function so calls STS about once an hour
// instead of every 15 minutes (stscreds' default).
// Credentials are refreshed 5 minutes (with jitter) before they expire, so
// a source call never signs with credentials about to lapse.
const (
	sessionDuration = time.Hour
	refreshEarly    = 5 * time.Minute
	// assumeRoleTimeout bounds one AssumeRole: the cache runs it detached
	// from the caller's deadline (below), so without a bound of its own a
	// hung STS call would hold every later sign-in, which would wait on it.
	assumeRoleTimeout = 3 * time.Second
)

// SourceCredentials returns the credentials the source calls sign with when
// the source pool is in another account: sts:AssumeRole of roleARN, made
// with the function's own credentials through client, fetched on the first
// source call and cached until shortly before they expire.
//
// The SDK resolves credentials in the signing step of each source call, and
// aws.CredentialsCache waits for them only as long as that call's context
// allows, which carries the handler's budget (Config.Budget): on a cold
// environment a slow or refused STS refuses that one user ("try again")
// within the trigger's 5 s instead of answering late. The cache runs the
// AssumeRole itself detached from the caller's cancellation (so that one
// caller giving up does not fail others waiting on the same fetch);
// assumeRoleTimeout bounds it, and when it succeeds after the user was
// refused, the next sign-in finds the credentials cached.
//
// No external id is sent: the IAM user guide asks for one when a third
// party assumes roles for many customers (the confused deputy); here the
// source account's trust policy names this function's own role, which
// only the operator's account can use (docs/cognito-facts.md §28).
func SourceCredentials(client stscreds.AssumeRoleAPIClient, roleARN string) aws.CredentialsProvider {
	return sourceCredentials(client, roleARN, assumeRoleTimeout)
}

func sourceCredentials(client stscreds.AssumeRoleAPIClient, roleARN string, timeout time.Duration) aws.CredentialsProvider {
	p := stscreds.NewAssumeRoleProvider(client, roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = SessionName
		o.Duration = sessionDuration
	})
	return aws.NewCredentialsCache(boundedProvider{p, timeout}, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = refreshEarly
		o.ExpiryWindowJitterFrac = 0.5
	})
}

// boundedProvider gives each Retrieve of p at most d.
type boundedProvider struct {
	p aws.CredentialsProvider
	d time.Duration
}

func (b boundedProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, b.d)
	defer cancel()
	return b.p.Retrieve(ctx)
}
