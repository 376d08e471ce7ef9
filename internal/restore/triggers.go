package restore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// Trigger is a Lambda trigger of the target pool and what the restore does
// with it, per path. Which operation fires which trigger is in
// docs/cognito-facts.md §13.
type Trigger struct {
	Name     string `json:"name"`     // the LambdaConfig member, e.g. PreSignUp
	Function string `json:"function"` // its ARN
	// Admin and Import say whether the admin API path and import jobs fire
	// it, and how; Later what it does to restored users afterwards.
	Admin  string `json:"admin"`
	Import string `json:"import"`
	Later  string `json:"later,omitempty"`
	// Gated triggers need --allow-triggers for a restore that writes users.
	Gated bool `json:"needsAllowTriggers"`
}

// triggerFacts is what each trigger means for a restore. The admin path
// calls AdminCreateUser (MessageAction=SUPPRESS), AdminSetUserPassword,
// AdminUpdateUserAttributes (with *_verified true, so no code is sent) and
// user-level admin calls whose service model lists no Lambda error.
var triggerFacts = []struct {
	name, admin, imp, later string
	gated                   bool
}{
	{"PreSignUp", "fires for every user it creates (PreSignUp_AdminCreateUser); a function error rejects that user", "none documented", "", true},
	{"CustomMessage", "not fired: every message is suppressed (MessageAction=SUPPRESS, *_verified set with the value)", "none documented", "runs when restored users reset their password (CustomMessage_ForgotPassword)", true},
	{"PostConfirmation", "not fired: the restore confirms no sign-up", "none documented", "runs when restored users reset their password (PostConfirmation_ConfirmForgotPassword)", true},
	{"PreTokenGeneration", "not fired: the restore signs no one in", "not fired", "runs at every sign-in of restored users", true},
	{"UserMigration", "not fired: the restore signs no one in", "not fired", "no longer runs for restored users: it runs only for users the pool lacks", true},
	{"PreAuthentication", "not fired: the restore signs no one in", "not fired", "runs at sign-in", false},
	{"PostAuthentication", "not fired: the restore signs no one in", "not fired", "runs at sign-in", false},
	{"DefineAuthChallenge", "not fired: the restore signs no one in", "not fired", "", false},
	{"CreateAuthChallenge", "not fired: the restore signs no one in", "not fired", "", false},
	{"VerifyAuthChallengeResponse", "not fired: the restore signs no one in", "not fired", "", false},
	{"CustomEmailSender", "not fired: the restore sends no message", "not fired", "sends restored users' password-reset codes", false},
	{"CustomSMSSender", "not fired: the restore sends no message", "not fired", "sends restored users' password-reset codes", false},
	{"InboundFederation", "not fired: the restore federates no one", "not fired", "", false},
}

// readTriggers lists the target's Lambda triggers in triggerFacts order.
func readTriggers(lc *types.LambdaConfigType) []Trigger {
	if lc == nil {
		return nil
	}
	arns := map[string]string{
		"PreSignUp": aws.ToString(lc.PreSignUp), "CustomMessage": aws.ToString(lc.CustomMessage),
		"PostConfirmation": aws.ToString(lc.PostConfirmation), "PreTokenGeneration": aws.ToString(lc.PreTokenGeneration),
		"UserMigration": aws.ToString(lc.UserMigration), "PreAuthentication": aws.ToString(lc.PreAuthentication),
		"PostAuthentication": aws.ToString(lc.PostAuthentication), "DefineAuthChallenge": aws.ToString(lc.DefineAuthChallenge),
		"CreateAuthChallenge": aws.ToString(lc.CreateAuthChallenge), "VerifyAuthChallengeResponse": aws.ToString(lc.VerifyAuthChallengeResponse),
	}
	// PreTokenGenerationConfig.LambdaArn and PreTokenGeneration hold the same
	// function; a pool set up with the former only may report just it.
	if c := lc.PreTokenGenerationConfig; c != nil && arns["PreTokenGeneration"] == "" {
		arns["PreTokenGeneration"] = aws.ToString(c.LambdaArn)
	}
	if c := lc.CustomEmailSender; c != nil {
		arns["CustomEmailSender"] = aws.ToString(c.LambdaArn)
	}
	if c := lc.CustomSMSSender; c != nil {
		arns["CustomSMSSender"] = aws.ToString(c.LambdaArn)
	}
	if c := lc.InboundFederation; c != nil {
		arns["InboundFederation"] = aws.ToString(c.LambdaArn)
	}
	var out []Trigger
	for _, f := range triggerFacts {
		if arn := arns[f.name]; arn != "" {
			out = append(out, Trigger{Name: f.name, Function: arn, Admin: f.admin, Import: f.imp, Later: f.later, Gated: f.gated})
		}
	}
	return out
}

// checkTriggers refuses, before any write, a restore of users into a pool
// with triggers that the restore fires or that act on restored users,
// unless opts.AllowTriggers: a PreSignUp function can reject or change
// users, and the others run against users their authors never expected to
// see created in bulk.
func checkTriggers(triggers []Trigger, opts Options, users bool) error {
	if opts.DryRun || opts.AllowTriggers || !users {
		return nil
	}
	var gated []string
	for _, t := range triggers {
		if t.Gated {
			gated = append(gated, t.Name+" ("+t.Function+")")
		}
	}
	if len(gated) == 0 {
		return nil
	}
	return fmt.Errorf("restore: %w: the target pool %s has Lambda triggers that this restore fires or that act on restored users: %s; nothing was written: pass --allow-triggers to restore anyway (a user the PreSignUp function rejects is reported and the rest go on; see the plan with --dry-run), or remove the triggers from the pool first",
		ErrRefused, opts.Target, strings.Join(gated, ", "))
}

// CheckCreatedPoolTriggers refuses, before the pool is created, a restore
// --create-pool whose snapshot configuration carries triggers that would
// need --allow-triggers in the new pool: refusing after creating it would
// leave a pool behind. pool names the pool to be created.
func CheckCreatedPoolTriggers(cfg *snapshot.PoolConfig, opts Options, pool string) error {
	var up struct{ LambdaConfig *types.LambdaConfigType }
	if cfg == nil || json.Unmarshal(cfg.UserPool, &up) != nil {
		return nil
	}
	opts.Target = pool
	return checkTriggers(readTriggers(up.LambdaConfig), opts, len(opts.Only) == 0 || opts.Only["users"])
}

// lambdaRejected reports whether err is a trigger's answer to a user:
// UserLambdaValidationException (the function failed),
// InvalidLambdaResponseException (it answered something else) or
// UnexpectedLambdaException (it could not be run), all listed by the
// service model for AdminCreateUser.
func lambdaRejected(code string) bool {
	switch code {
	case "UserLambdaValidationException", "InvalidLambdaResponseException", "UnexpectedLambdaException":
		return true
	}
	return false
}
