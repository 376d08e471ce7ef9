package drill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"

	"github.com/cogvault/cogvault/internal/cognito"
)

// A drill deletes its scratch pool when it ends, also on failure or
// Ctrl-C; a process killed outright (a Lambda past its deadline, kill -9)
// leaves the pool behind. Sweep finds and deletes such pools: only those
// whose name is NamePrefix+<run id> AND whose TagKey tag is that run id,
// older than a threshold (a drill still running is younger), each re-read
// right before DeleteUserPool (DeleteScratch) as a drill's own deletion is.

// SweepAPI is what Sweep calls.
type SweepAPI interface {
	ListUserPools(ctx context.Context, in *cip.ListUserPoolsInput, optFns ...func(*cip.Options)) (*cip.ListUserPoolsOutput, error)
	DescribeUserPool(ctx context.Context, in *cip.DescribeUserPoolInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolOutput, error)
	DeleteUserPool(ctx context.Context, in *cip.DeleteUserPoolInput, optFns ...func(*cip.Options)) (*cip.DeleteUserPoolOutput, error)
}

// DefaultSweepAge is how old a scratch pool must be before Sweep deletes
// it: a drill runs far shorter (a Lambda at most 15 minutes).
const DefaultSweepAge = 24 * time.Hour

// SweepOptions say which leftover scratch pools to delete.
type SweepOptions struct {
	// OlderThan: only pools created longer ago than this (0: DefaultSweepAge).
	OlderThan time.Duration
	DryRun    bool
	Now       func() time.Time
}

// SweptPool is one scratch pool Sweep found.
type SweptPool struct {
	PoolID  string    `json:"poolId"`
	Name    string    `json:"name"`
	RunID   string    `json:"runId"`
	Created time.Time `json:"created"`
	Deleted bool      `json:"deleted"`
	// Kept says why a scratch pool was left alone (too young).
	Kept string `json:"kept,omitempty"`
}

// SweepResult lists the scratch pools found: deleted (or, with DryRun,
// that would be) and kept.
type SweepResult struct {
	DryRun bool        `json:"dryRun"`
	Pools  []SweptPool `json:"pools"`
}

// Sweep deletes leftover scratch pools of drills. Pools that do not carry
// both marks are never read twice, never deleted, and not listed. It stops
// at the first pool it cannot delete, naming it.
func Sweep(ctx context.Context, api SweepAPI, opts SweepOptions) (*SweepResult, error) {
	if opts.OlderThan < 0 {
		return nil, fmt.Errorf("drill sweep: --older-than %s is negative", opts.OlderThan)
	}
	if opts.OlderThan == 0 {
		opts.OlderThan = DefaultSweepAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	found, err := scratchPools(ctx, api)
	if err != nil {
		return nil, err
	}
	res := &SweepResult{DryRun: opts.DryRun, Pools: []SweptPool{}}
	cutoff := opts.Now().Add(-opts.OlderThan)
	for _, p := range found {
		if p.Created.After(cutoff) {
			p.Kept = fmt.Sprintf("younger than %s: a drill may still be running", opts.OlderThan)
			res.Pools = append(res.Pools, p)
			continue
		}
		if !opts.DryRun {
			if err := DeleteScratch(ctx, api, p.PoolID, p.RunID); err != nil {
				res.Pools = append(res.Pools, p)
				return res, fmt.Errorf("drill sweep: %w", err)
			}
			p.Deleted = true
		}
		res.Pools = append(res.Pools, p)
	}
	return res, nil
}

// scratchPools lists the pools named NamePrefix+<run id> whose TagKey tag
// is that run id. ListUserPools gives no tags: each pool with the name is
// read with DescribeUserPool.
func scratchPools(ctx context.Context, api SweepAPI) ([]SweptPool, error) {
	var out []SweptPool
	pages := cip.NewListUserPoolsPaginator(api, &cip.ListUserPoolsInput{MaxResults: aws.Int32(60)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("drill sweep: list user pools: %w", err)
		}
		for _, d := range page.UserPools {
			if !strings.HasPrefix(aws.ToString(d.Name), NamePrefix) {
				continue
			}
			p, ok, err := readScratch(ctx, api, aws.ToString(d.Id))
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// readScratch reads a pool and says whether both marks make it a drill's.
func readScratch(ctx context.Context, api SweepAPI, id string) (SweptPool, bool, error) {
	out, err := api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: &id})
	if err != nil {
		switch {
		case cognito.IsNotFound(err):
			return SweptPool{}, false, nil // deleted since the listing
		case cognito.Code(err) == "AccessDeniedException":
			// The worker's role reads only pools tagged TagKey (its IAM
			// condition): a pool it cannot read is not provably a drill's.
			return SweptPool{}, false, nil
		}
		return SweptPool{}, false, fmt.Errorf("drill sweep: read pool %s: %w", id, err)
	}
	up := out.UserPool
	if up == nil {
		return SweptPool{}, false, errors.New("drill sweep: read pool " + id + ": empty answer")
	}
	name, run := aws.ToString(up.Name), up.UserPoolTags[TagKey]
	if run == "" || name != NamePrefix+run {
		return SweptPool{}, false, nil
	}
	return SweptPool{PoolID: id, Name: name, RunID: run, Created: aws.ToTime(up.CreationDate)}, true, nil
}
