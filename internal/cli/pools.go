package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/spf13/cobra"
)

type poolsOptions struct{}

func newPoolsCommand(g *globalOptions) *cobra.Command {
	var opts poolsOptions
	return &cobra.Command{
		Use:   "pools",
		Short: "List the user pools of the account in a Region",
		Long: `List the Cognito user pools of the account in the Region, with their ids and
names: the ids to give 'cogvault backup --pool'.

Needs cognito-idp:ListUserPools.

EXIT STATUS
  0  the pools were listed
  1  the call failed (credentials, Region, permission)
  2  bad flags`,
		Example: `  cogvault pools --region eu-west-1
  cogvault pools --profile prod --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPools(cmd.Context(), opts, g)
		},
	}
}

type poolSummary struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func runPools(ctx context.Context, _ poolsOptions, g *globalOptions) error {
	cfg, err := g.awsConfig(ctx)
	if err != nil {
		return err
	}
	c := cip.NewFromConfig(cfg)
	var pools []poolSummary
	p := cip.NewListUserPoolsPaginator(c, &cip.ListUserPoolsInput{MaxResults: ptr(int32(60))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list user pools in %s: %w", cfg.Region, err)
		}
		for _, up := range page.UserPools {
			pools = append(pools, poolSummary{ID: deref(up.Id), Name: deref(up.Name)})
		}
	}
	if g.json() {
		if pools == nil {
			pools = []poolSummary{}
		}
		return printJSON(g.stdout, map[string]any{"region": cfg.Region, "pools": pools})
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POOL ID\tNAME")
	for _, p := range pools {
		fmt.Fprintf(tw, "%s\t%s\n", p.ID, termName(p.Name))
	}
	return tw.Flush()
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
