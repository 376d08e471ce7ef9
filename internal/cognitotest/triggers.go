package cognitotest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Lambda triggers (docs/cognito-facts.md §13).
//
// A pool's LambdaConfig (CreateUserPool, echoed by DescribeUserPool) names
// trigger functions by ARN. With Options.LambdaEndpoint set, the fake invokes
// them the way Cognito does: synchronously, through the Lambda Invoke API
// (POST /2015-03-31/functions/<name>/invocations,
// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), with the
// event shape of the developer guide's "common parameters"
// (cognito-user-identity-pools-working-with-aws-lambda-triggers.html
// #cognito-user-pools-lambda-trigger-syntax-shared). Without an endpoint the
// fake invokes nothing, as before this existed.

// Trigger names as LambdaConfigType spells them
// (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_LambdaConfigType.html).
const (
	TriggerPreSignUp          = "PreSignUp"
	TriggerCustomMessage      = "CustomMessage"
	TriggerPostConfirmation   = "PostConfirmation"
	TriggerPreTokenGeneration = "PreTokenGeneration"
	TriggerUserMigration      = "UserMigration"
)

// TriggerEvent is the event Cognito sends every user-pool trigger: the
// common parameters plus a request and response whose members depend on the
// trigger source. The same type serves every trigger (the later
// UserMigration_Authentication / _ForgotPassword work included).
type TriggerEvent struct {
	Version       string         `json:"version"`
	TriggerSource string         `json:"triggerSource"`
	Region        string         `json:"region"`
	UserPoolID    string         `json:"userPoolId"`
	UserName      string         `json:"userName"`
	CallerContext CallerContext  `json:"callerContext"`
	Request       map[string]any `json:"request"`
	Response      map[string]any `json:"response"`
}

// CallerContext says who made the call that fired the trigger. Admin
// operations have no app client: Cognito sends "CLIENT_ID_NOT_APPLICABLE"
// (captured events, docs/cognito-facts.md §13).
type CallerContext struct {
	AWSSDKVersion string `json:"awsSdkVersion"`
	ClientID      string `json:"clientId"`
}

const (
	adminClientID = "CLIENT_ID_NOT_APPLICABLE"
	// fakeSDKVersion stands in for the caller's SDK; the fake's handlers do
	// not see the User-Agent.
	fakeSDKVersion = "aws-sdk-unknown-unknown"
	// triggerTimeout and triggerAttempts: "your Lambda function must respond
	// within 5 seconds. If it does not, Amazon Cognito retries the call.
	// After 3 unsuccessful attempts, the function times out." (dev guide,
	// "Important considerations").
	triggerTimeout  = 5 * time.Second
	triggerAttempts = 3
	// maxTriggerResponse bounds what the fake reads back; Lambda's
	// synchronous response payload limit is 6 MB.
	maxTriggerResponse = 6 << 20
)

// lambdaConfig returns the trigger ARNs the pool's LambdaConfig names, by
// trigger name. Caller holds s.mu.
func (p *pool) lambdaConfig() map[string]string {
	raw, ok := p.config["LambdaConfig"]
	if !ok {
		return nil
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(raw, &all) != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range all {
		var arn string
		if json.Unmarshal(v, &arn) == nil && arn != "" {
			out[k] = arn
		}
	}
	return out
}

// triggerARN is the function the pool runs for trigger name, "" when none
// or when the fake has no Lambda endpoint to call. Caller holds s.mu.
func (s *Service) triggerARN(p *pool, name string) string {
	if s.opts.LambdaEndpoint == "" {
		return ""
	}
	return p.lambdaConfig()[name]
}

// SetLambdaConfig sets a pool's LambdaConfig, straight into the service
// state (as Populate does), for tests and demos: trigger name → function ARN.
func (s *Service) SetLambdaConfig(poolID string, triggers map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pools[poolID]
	if p == nil {
		return fmt.Errorf("set lambda config: no pool %s", poolID)
	}
	b, err := json.Marshal(triggers)
	if err != nil {
		return err
	}
	p.config["LambdaConfig"] = b
	return nil
}

// newTriggerEvent fills the common parameters for an admin operation.
func (s *Service) newTriggerEvent(p *pool, source, userName string, attrs map[string]string) *TriggerEvent {
	ua := map[string]any{}
	for k, v := range attrs {
		ua[k] = v
	}
	return &TriggerEvent{
		Version: "1", TriggerSource: source, Region: s.opts.Region, UserPoolID: p.id, UserName: userName,
		CallerContext: CallerContext{AWSSDKVersion: fakeSDKVersion, ClientID: adminClientID},
		Request:       map[string]any{"userAttributes": ua},
		Response:      map[string]any{},
	}
}

// invokeTrigger calls the function at arn with ev and returns the event the
// function gave back. A function error becomes UserLambdaValidationException
// "<Trigger> failed with error <message>.", as Cognito words it; a function
// that cannot be reached, InvalidLambdaResponseException for output that is
// not an event. It must be called without s.mu held: the function may call
// the fake back (a PreSignUp that lists users, say).
func (s *Service) invokeTrigger(ctx context.Context, arn string, ev *TriggerEvent) (*TriggerEvent, *apiError) {
	name, _, _ := strings.Cut(ev.TriggerSource, "_")
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, errInternal()
	}
	var lastErr error
	for range triggerAttempts {
		out, fnErr, err := s.callLambda(ctx, arn, body)
		switch {
		case err != nil:
			lastErr = err
			continue // Cognito retries a function that did not answer
		case fnErr != "":
			return nil, newErr("UserLambdaValidationException", "%s failed with error %s.", name, fnErr)
		}
		var back TriggerEvent
		if json.Unmarshal(out, &back) != nil {
			return nil, newErr("InvalidLambdaResponseException", "Unrecognizable lambda output")
		}
		return &back, nil
	}
	return nil, newErr("UnexpectedLambdaException", "%s invocation failed: %v", name, lastErr)
}

// callLambda makes one Invoke call. fnErr is the function's error message
// when Lambda reports a function error (X-Amz-Function-Error set, payload
// {"errorMessage", "errorType"}); err is a failure to get an answer.
func (s *Service) callLambda(ctx context.Context, arn string, body []byte) (out []byte, fnErr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, triggerTimeout)
	defer cancel()
	fn, qualifier := functionOf(arn)
	u := strings.TrimRight(s.opts.LambdaEndpoint, "/") + "/2015-03-31/functions/" + url.PathEscape(fn) + "/invocations"
	if qualifier != "" {
		u += "?Qualifier=" + url.QueryEscape(qualifier)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	resp, err := s.lambdaClient().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	out, err = io.ReadAll(io.LimitReader(resp.Body, maxTriggerResponse))
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("lambda invoke %s: HTTP %d", fn, resp.StatusCode)
	}
	if resp.Header.Get("X-Amz-Function-Error") != "" {
		var e struct {
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(out, &e)
		if e.ErrorMessage == "" {
			e.ErrorMessage = "Unhandled"
		}
		return nil, e.ErrorMessage, nil
	}
	return out, "", nil
}

func (s *Service) lambdaClient() *http.Client {
	if s.opts.LambdaClient != nil {
		return s.opts.LambdaClient
	}
	return http.DefaultClient
}

// functionOf splits a function ARN
// (arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]) into
// the name and qualifier the Invoke URI takes. Anything else is passed on
// as the function name, which Invoke also accepts.
func functionOf(arn string) (name, qualifier string) {
	parts := strings.Split(arn, ":")
	if len(parts) >= 7 && parts[0] == "arn" && parts[5] == "function" {
		if len(parts) > 7 {
			qualifier = parts[7]
		}
		return parts[6], qualifier
	}
	return arn, ""
}

// TriggerFunc is a trigger function for LambdaHandler: it gets the event
// and the function name and returns the event to give back, or an error,
// which Lambda reports as a function error.
type TriggerFunc func(function string, ev TriggerEvent) (TriggerEvent, error)

// LambdaHandler serves the Lambda Invoke API for tests and demos: each
// POST /2015-03-31/functions/<name>/invocations runs f. An error from f is
// answered the way Lambda reports a function error: HTTP 200,
// X-Amz-Function-Error: Unhandled, payload {"errorMessage", "errorType"}
// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
func LambdaHandler(f TriggerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/")
		fn, ok2 := strings.CutSuffix(rest, "/invocations")
		if !ok || !ok2 || r.Method != http.MethodPost {
			http.Error(w, `{"Type":"User","message":"unknown operation"}`, http.StatusNotFound)
			return
		}
		var ev TriggerEvent
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, `{"Type":"User","message":"bad payload"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		out, err := f(fn, ev)
		if err != nil {
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": err.Error(), "errorType": "Error"})
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	})
}
