package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cogvault/cogvault/internal/cognitotest"
)

type fakeCognitoOptions struct {
	Listen     string
	Users      int
	Groups     int
	Seed       uint64
	QuotaScale float64
	NoQuotas   bool
	// UsernameAttributes, when set, makes the pool sign in with email and/or
	// phone_number as username (usernames are subs) instead of aliases.
	UsernameAttributes []string
	// ListLag makes ListUsers eventually consistent (SetListingLag).
	ListLag time.Duration
	// LambdaEndpoint is the Lambda Invoke API the fake calls for the
	// trigger ARNs a pool's LambdaConfig names.
	LambdaEndpoint string
}

func (o *fakeCognitoOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:9229", "address to serve on")
	fs.IntVar(&o.Users, "users", 1000, "users to generate in the pool")
	fs.IntVar(&o.Groups, "groups", 10, "groups to generate in the pool")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the generated content (same seed, same pool)")
	fs.Float64Var(&o.QuotaScale, "quota-scale", 1, "multiply every request-rate quota by this factor")
	fs.BoolVar(&o.NoQuotas, "no-quotas", false, "turn request-rate quotas off")
	fs.StringSliceVar(&o.UsernameAttributes, "username-attributes", nil,
		"sign in with these as username: `email[,phone_number]` (default: usernames, with email, phone_number and preferred_username as aliases)")
	fs.DurationVar(&o.ListLag, "list-lag", 0, "make ListUsers eventually consistent: for this long after a user is created it is not listed, after a change it is listed as it was (and, at a second place, as it is); AdminGetUser is always current")
	fs.StringVar(&o.LambdaEndpoint, "lambda-endpoint", "", "invoke the Lambda triggers a pool's LambdaConfig names through the Lambda Invoke API at this `URL` (default: invoke none)")
}

func newFakeCognitoCommand(g *globalOptions) *cobra.Command {
	var opts fakeCognitoOptions
	cmd := &cobra.Command{
		Use:   "fake-cognito",
		Short: "Serve a fake Cognito user-pool service with a generated pool",
		Long: `Serve a fake Amazon Cognito user-pool service (cognito-idp) on a local address,
with one pool of generated users and groups, until interrupted.

The fake speaks the real wire protocol, so the AWS CLI, every AWS SDK and
cogvault itself work against it with --endpoint-url. It enforces what real
pools enforce: ListUsers page limits and pagination tokens, filters, schema
checks, Cognito's error codes, and request-rate quotas at Cognito's default
rates (TooManyRequestsException when exceeded), exactly like a fresh account.
--quota-scale multiplies the quotas; --no-quotas turns them off.

The generated users are a realistic mix: unicode names, values with commas,
quotes and newlines, custom attributes, unconfirmed, disabled, phone-only,
MFA-enabled and federated users. The same --seed gives the same pool.

By default users have usernames and may also sign in with a verified email,
phone number or preferred_username (alias attributes). With
--username-attributes email (or phone_number, or email,phone_number) the pool
is created with those as username attributes instead, as pools that sign in
by email are: every local user's username is its sub (a UUID), every local
user has a sign-in email or phone number, unique in the pool (emails compared
case-insensitively), and API calls accept the email or phone number wherever
they take a Username. Federated users keep their Google_<id> usernames.

ListUsers is eventually consistent on AWS. --list-lag 3s makes the fake so:
for 3 s after a user is created, listings do not show it; for 3 s after a
change, they show (and filter on) its state before the change, and also, at a
second place, its current state, so one listing may meet it twice.
AdminGetUser always reads the current state. Listings are in no fixed order.

Lambda triggers: a pool created with a LambdaConfig keeps it. With
--lambda-endpoint URL the fake invokes those functions as Cognito does,
synchronously through the Lambda Invoke API at URL
(POST /2015-03-31/functions/<name>/invocations) with the event Cognito
sends: AdminCreateUser runs PreSignUp (PreSignUp_AdminCreateUser) before it
creates the user, and CustomMessage (CustomMessage_AdminCreateUser) when it
sends an invitation (not with MessageAction=SUPPRESS); AdminUpdateUserAttributes
runs CustomMessage (CustomMessage_UpdateUserAttribute) for each verification
code it sends; AdminConfirmSignUp runs PostConfirmation
(PostConfirmation_ConfirmSignUp). A function error fails the call with
UserLambdaValidationException. Without the flag no trigger runs.

Passwords: the fake keeps salted hashes of the passwords AdminCreateUser,
AdminSetUserPassword, SignUp and ConfirmForgotPassword set (checked against
the pool's password policy) and signs users in with InitiateAuth
USER_PASSWORD_AUTH and AdminInitiateAuth ADMIN_USER_PASSWORD_AUTH when the
app client allows the flow; its tokens are opaque. An unknown user signing in
or calling ForgotPassword runs the pool's UserMigration trigger, and each
sign-in that issues tokens runs PostAuthentication
(PostAuthentication_Authentication), whose error fails the sign-in. The codes
ForgotPassword sends are readable at GET /_fake/outbox (JSON); that endpoint
is the fake's own and does not exist in Cognito.

Any access key works; the fake does not check signatures.

EXIT STATUS
  0  stopped by an interrupt
  1  could not listen or generate the pool
  2  bad flags`,
		Example: `  cogvault fake-cognito --users 5000 --groups 20 &
  AWS_ACCESS_KEY_ID=fake AWS_SECRET_ACCESS_KEY=fake \
    aws cognito-idp list-users --endpoint-url http://127.0.0.1:9229 \
      --region us-east-1 --user-pool-id <printed pool id> --max-items 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFakeCognito(cmd.Context(), opts, g)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runFakeCognito(ctx context.Context, opts fakeCognitoOptions, g *globalOptions) error {
	if opts.Users < 0 || opts.Groups < 0 {
		return usageError("--users and --groups must be ≥ 0")
	}
	if opts.QuotaScale <= 0 {
		return usageError("--quota-scale %v: must be positive", opts.QuotaScale)
	}
	if opts.ListLag < 0 {
		return usageError("--list-lag %v: must be ≥ 0", opts.ListLag)
	}
	seen := map[string]bool{}
	for _, a := range opts.UsernameAttributes {
		if a != "email" && a != "phone_number" || seen[a] {
			return usageError("--username-attributes %q: give email, phone_number or email,phone_number", strings.Join(opts.UsernameAttributes, ","))
		}
		seen[a] = true
	}
	if err := checkLambdaEndpoint(opts.LambdaEndpoint); err != nil {
		return err
	}
	region := g.Region
	if region == "" {
		region = "us-east-1"
	}
	srv, err := cognitotest.Start(opts.Listen, cognitotest.Options{
		Region: region, Seed: opts.Seed, QuotaScale: opts.QuotaScale, NoQuotas: opts.NoQuotas,
		LambdaEndpoint: opts.LambdaEndpoint,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.SetListingLag(opts.ListLag)
	res, err := srv.Populate(cognitotest.PopulateOptions{Users: opts.Users, Groups: opts.Groups, Seed: opts.Seed,
		UsernameAttributes: opts.UsernameAttributes})
	if err != nil {
		return err
	}
	quotas := fmt.Sprintf("on at Cognito's default rates ×%g", opts.QuotaScale)
	if opts.NoQuotas {
		quotas = "off"
	}
	signIn := "username; email, phone_number, preferred_username as aliases"
	if len(opts.UsernameAttributes) > 0 {
		signIn = strings.Join(opts.UsernameAttributes, ", ") + " as username (usernames are subs)"
	}
	if g.json() {
		if err := printJSON(g.stdout, map[string]any{
			"endpoint": srv.URL, "region": region, "poolId": res.PoolID, "clientId": res.ClientID,
			"users": res.Users, "groups": res.Groups, "memberships": res.Memberships, "quotas": quotas,
			"usernameAttributes": nonNil(opts.UsernameAttributes), "signIn": signIn, "listLag": opts.ListLag.String(),
		}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(g.stdout, `fake Cognito listening on %s
  region       %s
  pool id      %s
  app client   %s
  content      %d users, %d groups, %d memberships (seed %d)
  sign-in      %s
  quotas       %s
  list lag     %s

Try it (any credentials work):
  export AWS_ACCESS_KEY_ID=fake AWS_SECRET_ACCESS_KEY=fake
  aws cognito-idp list-users --endpoint-url %s --region %s --user-pool-id %s --max-items 5
  cogvault pools --endpoint-url %s --region %s
  (restore --via import reads job logs from CloudWatch Logs, which the fake
  serves too: export AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=%s)

Press Ctrl-C (or send SIGTERM) to stop.
`, srv.URL, region, res.PoolID, res.ClientID, res.Users, res.Groups, res.Memberships, opts.Seed, signIn, quotas, opts.ListLag,
			srv.URL, region, res.PoolID, srv.URL, region, srv.URL)
	}
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	fmt.Fprintln(g.stderr, "fake Cognito stopped")
	return nil
}

// checkLambdaEndpoint refuses a --lambda-endpoint that is not an http(s) URL.
func checkLambdaEndpoint(endpoint string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError("--lambda-endpoint %q: give the http(s) URL of a Lambda Invoke API, e.g. http://127.0.0.1:9001", endpoint)
	}
	return nil
}
