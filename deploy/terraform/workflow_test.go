package terraform_test

// The state machine (worker.asl.json), the alarms, the dead-letter queue
// and the names the module generates, read without Terraform or network.

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

type aslState struct {
	Type      string
	Resource  string
	Next      string
	End       bool
	Default   string
	Output    any
	Error     any
	Cause     any
	Arguments struct {
		FunctionName string
		Payload      any
	}
	Choices []struct {
		Condition string
		Next      string
	}
	Retry []struct {
		ErrorEquals []string
		MaxAttempts *int
	}
	Catch []struct {
		ErrorEquals []string
		Next        string
	}
}

type aslMachine struct {
	QueryLanguage string
	StartAt       string
	States        map[string]aslState
}

func loadASL(t *testing.T) aslMachine {
	t.Helper()
	src, err := os.ReadFile("worker.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	var m aslMachine
	if err := json.Unmarshal(src, &m); err != nil {
		t.Fatalf("worker.asl.json is not JSON: %v", err)
	}
	return m
}

// lambdaServiceErrors are the errors the Step Functions guide ("Handle Lambda
// service exceptions") says to retry, and the throttle it names.
var lambdaServiceErrors = []string{
	"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException",
}

// TestStateMachineLoopsUntilDone: the worker step is invoked until it
// answers done, each next step with the original input and the answer's
// resume; service errors are retried; everything else ends in a Fail state
// (which the ExecutionsFailed alarm sees).
func TestStateMachineLoopsUntilDone(t *testing.T) {
	m := loadASL(t)
	if m.QueryLanguage != "JSONata" {
		t.Errorf("QueryLanguage = %q, want JSONata (the expressions are JSONata)", m.QueryLanguage)
	}
	step, ok := m.States[m.StartAt]
	if !ok || step.Type != "Task" || step.Resource != "arn:aws:states:::lambda:invoke" {
		t.Fatalf("StartAt %q is not a lambda:invoke Task: %+v", m.StartAt, step)
	}
	if step.Arguments.FunctionName != "${worker_function_arn}" || step.Arguments.Payload != "{% $states.input %}" {
		t.Errorf("the step invokes %q with %v, want the worker with the state's input", step.Arguments.FunctionName, step.Arguments.Payload)
	}
	if step.Output != "{% $states.result.Payload %}" {
		t.Errorf("the step's Output = %v, want the worker's answer ($states.result.Payload)", step.Output)
	}
	for _, e := range lambdaServiceErrors {
		retried := false
		for _, r := range step.Retry {
			if slices.Contains(r.ErrorEquals, e) && (r.MaxAttempts == nil || *r.MaxAttempts > 0) {
				retried = true
			}
		}
		if !retried {
			t.Errorf("the step does not retry %s", e)
		}
	}
	for _, r := range step.Retry {
		for _, e := range r.ErrorEquals {
			if e == "States.ALL" || e == "States.TaskFailed" || e == "Lambda.Unknown" {
				t.Errorf("the step retries %s: a worker error (or timeout) would run the step again blindly", e)
			}
		}
	}
	if len(step.Catch) != 1 || !slices.Equal(step.Catch[0].ErrorEquals, []string{"States.ALL"}) || m.States[step.Catch[0].Next].Type != "Fail" {
		t.Errorf("the step's Catch = %+v, want States.ALL to a Fail state", step.Catch)
	}

	choice := m.States[step.Next]
	if choice.Type != "Choice" {
		t.Fatalf("after the step comes %q (%s), want a Choice on done", step.Next, choice.Type)
	}
	var done, again string
	for _, c := range choice.Choices {
		switch {
		case strings.Contains(c.Condition, "$states.input.done = true"):
			done = c.Next
		case strings.Contains(c.Condition, "$states.input.done = false") && strings.Contains(c.Condition, "$states.input.resume"):
			again = c.Next
		}
	}
	if m.States[done].Type != "Succeed" {
		t.Errorf("done = true leads to %q, want a Succeed state", done)
	}
	if m.States[choice.Default].Type != "Fail" {
		t.Errorf("an answer that is neither done nor resumable leads to %q, want a Fail state (no endless loop)", choice.Default)
	}
	next := m.States[again]
	want := "{% $merge([$states.context.Execution.Input, {'resume': $states.input.resume}]) %}"
	if next.Type != "Pass" || next.Next != m.StartAt || next.Output != want {
		t.Errorf("done = false leads to %q %+v, want a Pass state with Output %s back to %q", again, next, want, m.StartAt)
	}
	for name, s := range m.States {
		for _, n := range []string{s.Next, s.Default} {
			if _, ok := m.States[n]; n != "" && !ok {
				t.Errorf("state %q goes to %q, which does not exist", name, n)
			}
		}
	}
}

// TestStateMachineTemplate: templatefile substitutes exactly the
// placeholders worker.asl.json has, and the file holds no %{ directive
// (JSONata's {% %} is not one).
func TestStateMachineTemplate(t *testing.T) {
	src, err := os.ReadFile("worker.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(src), "%{") {
		t.Error("worker.asl.json contains %{, a templatefile directive")
	}
	var placeholders []string
	for _, m := range regexp.MustCompile(`\$\{([^}]*)\}`).FindAllStringSubmatch(string(src), -1) {
		placeholders = append(placeholders, m[1])
	}
	mod := load(t, ".")
	sm := resource(t, mod, "aws_sfn_state_machine", "worker")
	call, ok := sm.Body.Attributes["definition"].Expr.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "templatefile" || len(call.Args) != 2 {
		t.Fatal("aws_sfn_state_machine.worker: definition is not templatefile(<file>, {...})")
	}
	var passed []string
	for _, item := range call.Args[1].(*hclsyntax.ObjectConsExpr).Items {
		passed = append(passed, hcl.ExprAsKeyword(item.KeyExpr))
	}
	slices.Sort(placeholders)
	slices.Sort(passed)
	if !slices.Equal(slices.Compact(placeholders), passed) {
		t.Errorf("worker.asl.json uses %v, templatefile passes %v", placeholders, passed)
	}
	if v, _ := sm.Body.Attributes["type"].Expr.Value(nil); v.IsNull() || v.AsString() != "STANDARD" {
		t.Errorf("state machine type %v, want STANDARD (Express executions end after 5 minutes)", v)
	}
}

func resource(t *testing.T, m *module, typ, name string) *hclsyntax.Block {
	t.Helper()
	for _, r := range m.blocks("resource") {
		if r.Labels[0] == typ && r.Labels[1] == name {
			return r
		}
	}
	t.Fatalf("no %s.%s", typ, name)
	return nil
}

var extraFuncs = map[string]function.Function{"toset": stdlib.MakeToFunc(cty.Set(cty.String))}

// instance is one instance of a resource: its body and the context with
// each.key / each.value (for_each) or count.index.
type instance struct {
	name string
	body *hclsyntax.Body
	ctx  *hcl.EvalContext
}

func (e *evaluated) instances(t *testing.T, typ string) []instance {
	t.Helper()
	var out []instance
	for _, r := range e.m.blocks("resource") {
		if r.Labels[0] != typ {
			continue
		}
		base := e.ctx.NewChild()
		base.Functions = extraFuncs
		if fe, ok := r.Body.Attributes["for_each"]; ok {
			v, diags := fe.Expr.Value(base)
			if diags.HasErrors() {
				t.Fatalf("%s.%s for_each: %s", typ, r.Labels[1], diags.Error())
			}
			for it := v.ElementIterator(); it.Next(); {
				k, val := it.Element()
				if v.Type().IsSetType() {
					k = val
				}
				ctx := base.NewChild()
				ctx.Variables = map[string]cty.Value{"each": cty.ObjectVal(map[string]cty.Value{"key": k, "value": val})}
				out = append(out, instance{r.Labels[1] + "[" + strconv.Quote(k.AsString()) + "]", r.Body, ctx})
			}
			continue
		}
		n := 1
		if c, ok := r.Body.Attributes["count"]; ok {
			v, diags := c.Expr.Value(base)
			if diags.HasErrors() {
				t.Fatalf("%s.%s count: %s", typ, r.Labels[1], diags.Error())
			}
			bf := v.AsBigFloat()
			i, _ := bf.Int64()
			n = int(i)
		}
		for i := 0; i < n; i++ {
			ctx := base.NewChild()
			ctx.Variables = map[string]cty.Value{"count": cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))})}
			out = append(out, instance{r.Labels[1], r.Body, ctx})
		}
	}
	return out
}

func (in instance) value(t *testing.T, attr string) cty.Value {
	t.Helper()
	a, ok := in.body.Attributes[attr]
	if !ok {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	v, diags := a.Expr.Value(in.ctx)
	if diags.HasErrors() {
		t.Fatalf("%s.%s: %s", in.name, attr, diags.Error())
	}
	return v
}

func (in instance) str(t *testing.T, attr string) string {
	v := in.value(t, attr)
	if v.IsNull() {
		return ""
	}
	return v.AsString()
}

func (in instance) num(t *testing.T, attr string) int64 {
	v := in.value(t, attr)
	if v.IsNull() {
		return 0
	}
	n, _ := v.AsBigFloat().Int64()
	return n
}

type alarm struct {
	name, namespace, metric, statistic, comparison, missing string
	threshold, period, periods, datapoints                  int64
	dimensions                                              map[string]string
	actions, okActions                                      []string
}

func (e *evaluated) alarms(t *testing.T) map[string]alarm {
	t.Helper()
	out := map[string]alarm{}
	for _, in := range e.instances(t, "aws_cloudwatch_metric_alarm") {
		a := alarm{
			name: in.str(t, "alarm_name"), namespace: in.str(t, "namespace"), metric: in.str(t, "metric_name"),
			statistic: in.str(t, "statistic"), comparison: in.str(t, "comparison_operator"), missing: in.str(t, "treat_missing_data"),
			threshold: in.num(t, "threshold"), period: in.num(t, "period"), periods: in.num(t, "evaluation_periods"),
			datapoints: in.num(t, "datapoints_to_alarm"), dimensions: map[string]string{},
		}
		for k, v := range in.value(t, "dimensions").AsValueMap() {
			a.dimensions[k] = v.AsString()
		}
		for attr, dst := range map[string]*[]string{"alarm_actions": &a.actions, "ok_actions": &a.okActions} {
			for it := in.value(t, attr).ElementIterator(); it.Next(); {
				_, v := it.Element()
				*dst = append(*dst, v.AsString())
			}
		}
		out[a.namespace+"/"+a.metric] = a
	}
	return out
}

const testTopic = "arn:aws:sns:eu-west-1:123456789012:ops"

// TestAlarms: each failure signal has its alarm, on the right metric and
// dimension, notifying the topic; the heartbeat treats silence as failure.
func TestAlarms(t *testing.T) {
	m := load(t, ".")
	e := evaluate(t, m, map[string]cty.Value{"alarm_topic_arn": cty.StringVal(testTopic)})
	alarms := e.alarms(t)
	pool := map[string]string{"PoolId": testPool}
	anyFailure := func(key string, dims map[string]string) {
		t.Helper()
		a, ok := alarms[key]
		switch {
		case !ok:
			t.Errorf("no alarm on %s", key)
		case a.comparison != "GreaterThanThreshold" || a.threshold != 0 || a.statistic == "Minimum":
			t.Errorf("%s alarms when %s %s %d, want any > 0", key, a.statistic, a.comparison, a.threshold)
		case !mapsEqual(a.dimensions, dims):
			t.Errorf("%s: dimensions %v, want %v", key, a.dimensions, dims)
		}
	}
	anyFailure("cogvault/CaptureFailures", pool)
	anyFailure("cogvault/SnapshotFailures", pool)
	anyFailure("AWS/States/ExecutionsFailed", map[string]string{"StateMachineArn": e.addr("aws_sfn_state_machine.worker", "arn")})
	anyFailure("AWS/SQS/ApproximateNumberOfMessagesVisible", map[string]string{"QueueName": e.addr("aws_sqs_queue.capture_failures", "name")})

	hb, ok := alarms["cogvault/Snapshots"]
	switch {
	case !ok:
		t.Error("no heartbeat alarm on cogvault/Snapshots")
	case hb.missing != "breaching":
		t.Errorf("the heartbeat treats missing data as %q: a stopped schedule (no data at all) would never alarm", hb.missing)
	case hb.comparison != "LessThanThreshold" || hb.threshold != 1 || hb.statistic != "Sum":
		t.Errorf("the heartbeat alarms when %s %s %d, want Sum < 1", hb.statistic, hb.comparison, hb.threshold)
	case hb.period*hb.periods != 26*3600 || hb.datapoints != hb.periods:
		t.Errorf("the heartbeat alarms after %d of %d periods of %d s, want all of 26 hours", hb.datapoints, hb.periods, hb.period)
	case hb.period < 3600 || hb.period*hb.periods > 7*86400:
		t.Errorf("the heartbeat's range %d × %d s is beyond what PutMetricAlarm accepts", hb.periods, hb.period)
	case !mapsEqual(hb.dimensions, pool):
		t.Errorf("the heartbeat's dimensions %v, want %v", hb.dimensions, pool)
	}
	if _, ok := alarms["cogvault/DrillSuccess"]; ok {
		t.Error("a DrillSuccess alarm without a drill schedule would alarm on nothing")
	}
	for key, a := range alarms {
		if !slices.Equal(a.actions, []string{testTopic}) || !slices.Equal(a.okActions, []string{testTopic}) {
			t.Errorf("%s notifies %v / %v, want the topic", key, a.actions, a.okActions)
		}
	}

	d := evaluate(t, m, map[string]cty.Value{"drill_schedule_expression": cty.StringVal("cron(0 4 ? * SUN *)")})
	drill, ok := d.alarms(t)["cogvault/DrillSuccess"]
	if !ok || drill.comparison != "LessThanThreshold" || drill.threshold != 1 || drill.statistic != "Minimum" {
		t.Errorf("with a drill schedule: DrillSuccess alarm %+v, want Minimum < 1", drill)
	}
	if len(e.instances(t, "aws_scheduler_schedule")) != 1 || len(d.instances(t, "aws_scheduler_schedule")) != 2 {
		t.Error("the drill schedule exists exactly when drill_schedule_expression is set")
	}
	for _, in := range d.instances(t, "aws_scheduler_schedule") {
		for _, tgt := range in.body.Blocks {
			if tgt.Type != "target" {
				continue
			}
			v, diags := tgt.Body.Attributes["arn"].Expr.Value(in.ctx)
			if diags.HasErrors() || v.AsString() != d.addr("aws_sfn_state_machine.worker", "arn") {
				t.Errorf("schedule %s targets %v, want the state machine", in.name, v)
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestFailedEventsGoToTheQueue: the capture function's asynchronous
// invocations retry and then go to the queue; its role may only send there,
// and the workflow roles may only start / invoke what they run.
func TestFailedEventsGoToTheQueue(t *testing.T) {
	m := load(t, ".")
	e := evaluate(t, m, nil)
	cfg := e.instances(t, "aws_lambda_function_event_invoke_config")
	if len(cfg) != 1 || cfg[0].str(t, "function_name") != e.addr("aws_lambda_function.capture", "function_name") {
		t.Fatalf("want one event invoke config, for the capture function: %v", cfg)
	}
	if n := cfg[0].num(t, "maximum_retry_attempts"); n < 1 {
		t.Errorf("maximum_retry_attempts = %d: a transient failure would go straight to the queue", n)
	}
	dest := ""
	for _, dc := range cfg[0].body.Blocks {
		for _, of := range dc.Body.Blocks {
			if dc.Type == "destination_config" && of.Type == "on_failure" {
				v, _ := of.Body.Attributes["destination"].Expr.Value(cfg[0].ctx)
				dest = v.AsString()
			}
		}
	}
	if dest != e.addr("aws_sqs_queue.capture_failures", "arn") {
		t.Errorf("on-failure destination %q, want the queue", dest)
	}
	narrow := map[string]map[string]string{
		"capture":   {"sqs:SendMessage": e.addr("aws_sqs_queue.capture_failures", "arn")},
		"states":    {"lambda:InvokeFunction": e.addr("aws_lambda_function.worker", "arn")},
		"scheduler": {"states:StartExecution": e.addr("aws_sfn_state_machine.worker", "arn")},
	}
	for role, want := range narrow {
		found := map[string]bool{}
		for _, doc := range e.roles(t)[role] {
			for _, st := range e.policy(t, doc) {
				for _, a := range st.actions {
					if !strings.HasPrefix(a, "sqs:") && !strings.HasPrefix(a, "states:") && !strings.HasPrefix(a, "lambda:") {
						if role != "capture" && (role != "states" || !slices.Contains(stepFunctionsLogDelivery, a)) {
							t.Errorf("role %s may %s", role, a)
						}
						continue
					}
					if res, ok := want[a]; !ok || !slices.Equal(st.resources, []string{res}) {
						t.Errorf("role %s may %s on %v, want only %v", role, a, st.resources, want)
					}
					found[a] = true
				}
			}
		}
		for a := range want {
			if !found[a] {
				t.Errorf("role %s may not %s", role, a)
			}
		}
	}
}

// nameLimits: the longest name each service accepts (EventBridge PutRule and
// Scheduler CreateSchedule 64, IAM CreateRole 64, Lambda 64, Step Functions
// CreateStateMachine 80, SQS CreateQueue 80, CloudWatch PutMetricAlarm 255).
var nameLimits = map[string]struct {
	attr  string
	limit int
}{
	"aws_iam_role":                {"name", 64},
	"aws_cloudwatch_event_rule":   {"name", 64},
	"aws_scheduler_schedule":      {"name", 64},
	"aws_lambda_function":         {"function_name", 64},
	"aws_sfn_state_machine":       {"name", 80},
	"aws_sqs_queue":               {"name", 80},
	"aws_cloudwatch_metric_alarm": {"alarm_name", 255},
}

// TestGeneratedNamesFitTheirLimits: with the longest function_name the
// validation admits, every name the module builds fits its service's limit,
// and one character more is refused.
func TestGeneratedNamesFitTheirLimits(t *testing.T) {
	m := load(t, ".")
	var cond string
	for _, v := range m.blocks("variable") {
		if v.Labels[0] == "function_name" {
			for _, b := range v.Body.Blocks {
				src, _ := os.ReadFile(b.Body.Attributes["condition"].Expr.Range().Filename)
				r := b.Body.Attributes["condition"].Expr.Range()
				cond = string(src[r.Start.Byte:r.End.Byte])
			}
		}
	}
	mx := regexp.MustCompile(`\{1,(\d+)\}`).FindStringSubmatch(cond)
	if mx == nil {
		t.Fatalf("function_name validation %q has no {1,N} bound", cond)
	}
	longest := strings.Repeat("f", atoi(t, mx[1]))
	e := evaluate(t, m, map[string]cty.Value{
		"function_name":             cty.StringVal(longest),
		"drill_schedule_expression": cty.StringVal("rate(7 days)"),
	})
	tightest := 1 << 30
	for typ, l := range nameLimits {
		for _, in := range e.instances(t, typ) {
			name := in.str(t, l.attr)
			if !strings.Contains(name, longest) {
				continue
			}
			if len(name) > l.limit {
				t.Errorf("%s.%s: %q is %d characters, the limit is %d", typ, in.name, name, len(name), l.limit)
			}
			tightest = min(tightest, l.limit-len(name))
		}
	}
	if tightest != 0 {
		t.Errorf("function_name may be %d characters longer than the validation admits", tightest)
	}
}

func atoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestRolesAndLogsTakeTheOrganisationsSettings: every role gets the path
// and permissions boundary, every log group the log key, and the
// repository key is usable only through S3.
func TestRolesAndLogsTakeTheOrganisationsSettings(t *testing.T) {
	m := load(t, ".")
	const boundary, path, logKey = "arn:aws:iam::123456789012:policy/boundary", "/cogvault/", "arn:aws:kms:eu-west-1:123456789012:key/logs"
	e := evaluate(t, m, map[string]cty.Value{
		"permissions_boundary": cty.StringVal(boundary), "role_path": cty.StringVal(path), "log_kms_key_arn": cty.StringVal(logKey),
		"kms_key_arn": cty.StringVal("arn:aws:kms:eu-west-1:123456789012:key/repo"),
	})
	roles := e.instances(t, "aws_iam_role")
	if len(roles) < 4 {
		t.Fatalf("%d roles, want capture, worker, states, scheduler", len(roles))
	}
	for _, r := range roles {
		if r.str(t, "permissions_boundary") != boundary || r.str(t, "path") != path {
			t.Errorf("aws_iam_role.%s: boundary %q path %q, want the inputs", r.name, r.str(t, "permissions_boundary"), r.str(t, "path"))
		}
	}
	for _, l := range e.instances(t, "aws_cloudwatch_log_group") {
		if l.str(t, "kms_key_id") != logKey {
			t.Errorf("aws_cloudwatch_log_group.%s is not encrypted with log_kms_key_arn", l.name)
		}
	}
	via := "s3." + e.local(t, "region") + ".amazonaws.com"
	for role, docs := range e.roles(t) {
		for _, doc := range docs {
			for _, st := range e.policy(t, doc) {
				if !slices.Contains(st.resources, "arn:aws:kms:eu-west-1:123456789012:key/repo") {
					continue
				}
				ok := false
				for _, c := range st.conditions {
					ok = ok || (c.test == "StringEquals" && c.variable == "kms:ViaService" && slices.Equal(c.values, []string{via}))
				}
				if !ok {
					t.Errorf("role %s may use the repository key outside S3 (statement %q): want kms:ViaService = %s", role, st.sid, via)
				}
			}
		}
	}
}

// stepFunctionsLogDelivery is the list the Step Functions developer guide
// gives for a state machine's role to log to CloudWatch Logs ("IAM policies
// for logging to CloudWatch Logs"), on "*". docs/cognito-facts.md §25.
var stepFunctionsLogDelivery = []string{
	"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
	"logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}

// TestStateMachineLogsErrorsWithoutData: the state machine logs to the
// module's own log group, at ERROR and without execution data unless the
// inputs say otherwise, and its role holds exactly the log-delivery
// actions the guide lists, nothing more and nothing less.
func TestStateMachineLogsErrorsWithoutData(t *testing.T) {
	m := load(t, ".")
	logging := func(e *evaluated) (dest, level string, data bool) {
		t.Helper()
		sm := e.instances(t, "aws_sfn_state_machine")
		if len(sm) != 1 {
			t.Fatalf("%d state machines, want 1", len(sm))
		}
		n := 0
		for _, b := range sm[0].body.Blocks {
			if b.Type != "logging_configuration" {
				continue
			}
			n++
			in := instance{sm[0].name, b.Body, sm[0].ctx}
			dest, level = in.str(t, "log_destination"), in.str(t, "level")
			data = in.value(t, "include_execution_data").True()
		}
		if n != 1 {
			t.Fatalf("aws_sfn_state_machine.%s has %d logging_configuration blocks, want 1", sm[0].name, n)
		}
		return dest, level, data
	}
	e := evaluate(t, m, nil)
	dest, level, data := logging(e)
	if dest != e.addr("aws_cloudwatch_log_group.states", "arn")+":*" {
		t.Errorf("the state machine logs to %q, want the module's log group (its ARN with \":*\")", dest)
	}
	if level != "ERROR" || data {
		t.Errorf("by default the state machine logs level %s with execution data %v, want ERROR without (the data carries requests and answers)", level, data)
	}
	on := evaluate(t, m, map[string]cty.Value{"state_machine_log_level": cty.StringVal("ALL"), "state_machine_include_execution_data": cty.True})
	if _, level, data := logging(on); level != "ALL" || !data {
		t.Errorf("with level ALL and execution data: got %s, %v", level, data)
	}
	for _, v := range []string{"ALL", "ERROR", "FATAL", "OFF", "error", "DEBUG", ""} {
		ev := evaluate(t, m, map[string]cty.Value{"state_machine_log_level": cty.StringVal(v)})
		refused := len(ev.validate(t, "state_machine_log_level")) > 0
		if want := strings.ToUpper(v) != v || !slices.Contains([]string{"ALL", "ERROR", "FATAL", "OFF"}, v); refused != want {
			t.Errorf("state_machine_log_level = %q: refused %v, want %v", v, refused, want)
		}
	}

	groups := map[string]instance{}
	kept := evaluate(t, m, map[string]cty.Value{"log_retention_days": cty.NumberIntVal(90)})
	for _, g := range kept.instances(t, "aws_cloudwatch_log_group") {
		groups[kept.bare(g.name)] = g
	}
	g, ok := groups["states"]
	switch {
	case !ok:
		t.Fatal("no aws_cloudwatch_log_group.states")
	case !strings.HasPrefix(g.str(t, "name"), "/aws/vendedlogs/states/"):
		t.Errorf("the state machine's log group is %q, want under /aws/vendedlogs/states/", g.str(t, "name"))
	case g.num(t, "retention_in_days") != 90:
		t.Errorf("with log_retention_days = 90 the state machine's log group keeps logs %d days", g.num(t, "retention_in_days"))
	}

	var granted []string
	for _, doc := range e.roles(t)["states"] {
		for _, st := range e.policy(t, doc) {
			for _, a := range st.actions {
				if strings.HasPrefix(a, "logs:") {
					granted = append(granted, a)
					if !slices.Equal(st.resources, []string{"*"}) {
						t.Errorf("the states role may %s on %v; the guide grants it on \"*\"", a, st.resources)
					}
				}
			}
		}
	}
	want := slices.Clone(stepFunctionsLogDelivery)
	slices.Sort(want)
	slices.Sort(granted)
	if !slices.Equal(granted, want) {
		t.Errorf("the states role may %v, want exactly the guide's log-delivery actions %v", granted, want)
	}
}
