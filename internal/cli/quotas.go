package cli

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/spf13/cobra"

	"github.com/cogvault/cogvault/internal/awsx"
	"github.com/cogvault/cogvault/internal/quota"
)

type quotasOptions struct{}

func newQuotasCommand(g *globalOptions) *cobra.Command {
	var opts quotasOptions
	return &cobra.Command{
		Use:   "quotas",
		Short: "Show Cognito's request-rate quotas and the pace cogvault will keep",
		Long: `Show every request-rate quota category of Cognito user pools: its default
rate, the account's provisioned rate where the category is adjustable and the
account lets cogvault read it, the rate cogvault will pace at, and the
operations cogvault calls in it. Use it to plan a restore: a category's rate
bounds how fast cogvault can go, whatever the pool's size.

Quotas are per account and Region, summed over all pools and shared with
production traffic. Six categories are adjustable: an account raises them in
Service Quotas and sets its provisioned rate with UpdateProvisionedLimit;
cogvault reads that rate (GetProvisionedLimit, 1 request a second) and paces
at it, times --max-share. --quota-rate CATEGORY=RPS overrides both.

Any single operation of UserPoolResourceRead, UserPoolResourceUpdate,
UserPoolClientRead and UserPoolClientUpdate is also held to 5 requests a second
per user pool (PER POOL): creating 10,000 groups in one pool takes at least
2,000 seconds, whatever the account's quotas.

Needs cognito-idp:GetProvisionedLimit to show provisioned rates; without it
(or without credentials) the defaults are shown, with one notice on stderr.
--output json prints {"categories": [{"name", "default", "provisioned",
"rate", "perPoolRate", "adjustable", "calls"}], "operations": {operation:
category}}, with every operation of Cognito's quota table.

Source: https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html

EXIT STATUS
  0  the quotas were shown (provisioned rates when readable)
  1  the AWS configuration could not be loaded
  2  bad flags`,
		Example: `  cogvault quotas --region eu-west-1
  cogvault quotas --region eu-west-1 --max-share 0.5 --output json
  cogvault quotas --endpoint-url http://127.0.0.1:9229 --region us-east-1   # the fake`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQuotas(cmd.Context(), opts, g)
		},
	}
}

// quotaCategory is one row of `cogvault quotas`. Provisioned is nil where the
// category is not adjustable or the account's value could not be read.
type quotaCategory struct {
	Name        quota.Category `json:"name"`
	Default     float64        `json:"default"`
	Provisioned *float64       `json:"provisioned"`
	Rate        float64        `json:"rate"`
	PerPoolRate float64        `json:"perPoolRate,omitempty"`
	Adjustable  bool           `json:"adjustable"`
	Calls       []string       `json:"calls"`
}

type quotasReport struct {
	Categories []quotaCategory           `json:"categories"`
	Operations map[string]quota.Category `json:"operations"`
}

func runQuotas(ctx context.Context, _ quotasOptions, g *globalOptions) error {
	ao := g.awsOptions()
	ao.ReadProvisioned = nil    // read below, all adjustable categories at once
	ao.CheckCredentials = false // without credentials it shows the defaults
	cfg, err := awsx.LoadConfig(ctx, ao)
	if err != nil {
		return err
	}
	var adjustable []quota.Category
	for _, c := range quota.Categories() {
		if quota.Adjustable(c) {
			adjustable = append(adjustable, c)
		}
	}
	limits, err := awsx.ReadProvisioned(ctx, cip.NewFromConfig(cfg), adjustable)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(g.stderr, "cogvault: %s\n", awsx.LimitsUnreadableNotice(err))
		limits = nil // all or nothing: a partial read would mislead
	}
	rep := quotaTable(awsx.NewLimiter(ao.Rates, ao.MaxShare), ao.Rates, limits)
	if g.json() {
		return printJSON(g.stdout, rep)
	}
	printQuotas(g, rep)
	return nil
}

// quotaTable builds the report: the pace of each category is what the pacer
// keeps, after the provisioned limits not pinned by --quota-rate.
func quotaTable(lim *awsx.Limiter, pinned quota.Rates, limits map[quota.Category]awsx.Limit) quotasReport {
	rep := quotasReport{Operations: map[string]quota.Category{}}
	calls := map[quota.Category][]string{}
	for _, op := range quota.Operations() {
		c, _ := quota.Of(op)
		rep.Operations[op] = c
	}
	for _, op := range quota.Used() {
		c, _ := quota.Of(op)
		calls[c] = append(calls[c], op)
	}
	for _, c := range quota.Categories() {
		row := quotaCategory{Name: c, Default: quota.DefaultRate(c), Adjustable: quota.Adjustable(c), Calls: calls[c]}
		if l, ok := limits[c]; ok {
			row.Provisioned = &l.Provisioned
			if _, p := pinned[c]; !p {
				lim.ApplyProvisioned(c, l)
			}
		}
		if row.Calls == nil {
			row.Calls = []string{}
		}
		row.Rate = lim.Rate(c)
		row.PerPoolRate = lim.PerPoolRate(c)
		rep.Categories = append(rep.Categories, row)
	}
	return rep
}

func printQuotas(g *globalOptions, rep quotasReport) {
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CATEGORY\tDEFAULT\tPROVISIONED\tRATE\tPER POOL\tOPERATIONS COGVAULT CALLS")
	for _, r := range rep.Categories {
		prov, perPool, ops := "-", "-", "-"
		switch {
		case r.Provisioned != nil:
			prov = fmt.Sprintf("%g", *r.Provisioned)
		case r.Adjustable:
			prov = "?"
		}
		if r.PerPoolRate > 0 {
			perPool = fmt.Sprintf("%g", r.PerPoolRate)
		}
		if len(r.Calls) > 0 {
			ops = strings.Join(r.Calls, ", ")
		}
		fmt.Fprintf(tw, "%s\t%g\t%s\t%g\t%s\t%s\n", r.Name, r.Default, prov, r.Rate, perPool, ops)
	}
	_ = tw.Flush()
	fmt.Fprintln(g.stdout, "\nRates in requests per second, per account and Region (PER POOL: per operation and pool).")
	fmt.Fprintln(g.stdout, "PROVISIONED: - not adjustable, ? not readable. `--output json` lists every operation's category.")
}

// groupsNote says how long creating n groups in one pool takes at least, from
// the quota table (CreateGroup's per-pool cap), or "" under a second.
func groupsNote(n int) string {
	secs, rps := quota.MinSeconds("CreateGroup", n)
	if secs < 1 {
		return ""
	}
	return fmt.Sprintf("creating %s groups takes at least %s s (CreateGroup: %g requests/s per pool)", thousands(n), thousands(int(math.Ceil(secs))), rps)
}

// thousands writes n with comma separators: 10000 → "10,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
