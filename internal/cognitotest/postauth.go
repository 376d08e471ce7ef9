package cognitotest

import "context"

// The PostAuthentication trigger (docs/cognito-facts.md §27), from the
// developer guide's "Post authentication Lambda trigger" page
// (user-pool-lambda-post-authentication.html): "Amazon Cognito invokes this
// Lambda after authentication is complete, before a user has received
// tokens", so changes it makes (groups) are "reflected on the next
// sign-in". Its event: request {userAttributes, newDeviceUsed,
// clientMetadata}, response {}. "A post authentication Lambda that doesn't
// return the request body to Amazon Cognito can still cause authentication
// to fail to complete": a function error fails the sign-in, through
// invokeTrigger, as "PostAuthentication failed with error <message>." (the
// shape §13 gives every trigger's error).

const (
	TriggerPostAuthentication = "PostAuthentication"
	sourcePostAuth            = "PostAuthentication_Authentication"
)

// postAuth is a PostAuthentication call prepared under s.mu and made after
// it is let go (the function may call the fake back).
type postAuth struct {
	arn string
	ev  *TriggerEvent
}

// signIn authenticates u and, when that issues tokens and the pool has a
// PostAuthentication trigger, prepares the trigger's event: a challenge
// or a refusal is not a completed authentication and runs nothing. Caller
// holds s.mu.
func (s *Service) signIn(p *pool, c *client, u *user, pw string) (any, *postAuth, *apiError) {
	out, err := s.authenticate(p, u, pw)
	if err != nil {
		return nil, nil, err
	}
	if m, _ := out.(map[string]any); m == nil || m["AuthenticationResult"] == nil {
		return out, nil, nil
	}
	arn := s.triggerARN(p, TriggerPostAuthentication)
	if arn == "" {
		return out, nil, nil
	}
	// userAttributes carry the user's sub and cognito:user_status, as the
	// PostConfirmation event does (§13; UNCONFIRMED for this trigger).
	attrs := map[string]string{"cognito:user_status": u.status}
	for _, a := range u.attrs {
		attrs[a.Name] = a.Value
	}
	ev := s.newTriggerEvent(p, sourcePostAuth, u.username, attrs)
	ev.CallerContext.ClientID = c.id
	// newDeviceUsed: "Amazon Cognito only sets this flag if the remembered
	// devices value of the user pool is Always or User Opt-In"; the fake
	// has no devices. clientMetadata: "Amazon Cognito doesn't include data
	// from the ClientMetadata parameter in AdminInitiateAuth and
	// InitiateAuth API operations" in this trigger's request.
	ev.Request["newDeviceUsed"] = false
	ev.Request["clientMetadata"] = map[string]string{}
	return out, &postAuth{arn: arn, ev: ev}, nil
}

// afterSignIn runs a prepared PostAuthentication trigger, without s.mu
// held; its error fails the sign-in, and the tokens are not returned.
func (s *Service) afterSignIn(ctx context.Context, out any, pa *postAuth, err *apiError) (any, *apiError) {
	if err != nil || pa == nil {
		return out, err
	}
	if _, err := s.invokeTrigger(ctx, pa.arn, pa.ev); err != nil {
		return nil, err
	}
	return out, nil
}
