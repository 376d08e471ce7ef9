package cognito

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"sync"

	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// MaxPageSize is the largest Limit the list operations accept.
// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ListUsers.html#CognitoUserPools-ListUsers-request-Limit
const MaxPageSize = 60

// UserLister is the one operation Users needs.
type UserLister interface {
	ListUsers(ctx context.Context, in *cip.ListUsersInput, optFns ...func(*cip.Options)) (*cip.ListUsersOutput, error)
}

// Users yields every user of the pool that matches filter ("" for all), one
// page of at most 60 at a time, following PaginationToken until the service
// stops returning one. A page may be empty while a token is still returned
// (filtered listings scan a bounded number of users per call): that is not
// the end.
func Users(ctx context.Context, api UserLister, poolID, filter string) iter.Seq2[types.UserType, error] {
	return func(yield func(types.UserType, error) bool) {
		in := &cip.ListUsersInput{UserPoolId: &poolID, Limit: ptr(int32(MaxPageSize))}
		if filter != "" {
			in.Filter = &filter
		}
		for {
			out, err := api.ListUsers(ctx, in)
			if err != nil {
				yield(types.UserType{}, fmt.Errorf("list users of %s (filter %q): %w", poolID, filter, err))
				return
			}
			for _, u := range out.Users {
				if !yield(u, nil) {
					return
				}
			}
			if out.PaginationToken == nil || *out.PaginationToken == "" {
				return
			}
			if in.PaginationToken != nil && *in.PaginationToken == *out.PaginationToken {
				yield(types.UserType{}, fmt.Errorf("list users of %s: the service returned the same pagination token twice; stopping to avoid an endless loop", poolID))
				return
			}
			in.PaginationToken = out.PaginationToken
		}
	}
}

// SubShards are the filters that split a listing into 16 disjoint token
// chains: a sub is a lowercase UUID, so its first hex digit partitions the
// pool. One chain is strictly sequential (each call needs the previous
// token), so sharding is what lets a backup use the whole UserList quota.
func SubShards() []string {
	const hex = "0123456789abcdef"
	out := make([]string, len(hex))
	for i, c := range hex {
		out[i] = fmt.Sprintf(`sub ^= "%c"`, c)
	}
	return out
}

// QuoteFilterValue escapes a value for use inside the double quotes of a
// ListUsers filter: backslash and double quote are backslash-escaped.
func QuoteFilterValue(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// Attr returns the value of attribute name, and whether it is present.
func Attr(attrs []types.AttributeType, name string) (string, bool) {
	for _, a := range attrs {
		if a.Name != nil && *a.Name == name {
			if a.Value == nil {
				return "", true
			}
			return *a.Value, true
		}
	}
	return "", false
}

// GroupLister is the one operation Groups needs.
type GroupLister interface {
	ListGroups(ctx context.Context, in *cip.ListGroupsInput, optFns ...func(*cip.Options)) (*cip.ListGroupsOutput, error)
}

// Groups yields every group of the pool.
func Groups(ctx context.Context, api GroupLister, poolID string) iter.Seq2[types.GroupType, error] {
	return func(yield func(types.GroupType, error) bool) {
		in := &cip.ListGroupsInput{UserPoolId: &poolID, Limit: ptr(int32(MaxPageSize))}
		for {
			out, err := api.ListGroups(ctx, in)
			if err != nil {
				yield(types.GroupType{}, fmt.Errorf("list groups of %s: %w", poolID, err))
				return
			}
			for _, g := range out.Groups {
				if !yield(g, nil) {
					return
				}
			}
			if out.NextToken == nil || *out.NextToken == "" {
				return
			}
			in.NextToken = out.NextToken
		}
	}
}

// GroupMemberLister is the one operation GroupMembers needs.
type GroupMemberLister interface {
	ListUsersInGroup(ctx context.Context, in *cip.ListUsersInGroupInput, optFns ...func(*cip.Options)) (*cip.ListUsersInGroupOutput, error)
}

// GroupMembers yields every member of a group. Listing memberships group by
// group costs one call per 60 members, instead of one call per user with
// AdminListGroupsForUser.
func GroupMembers(ctx context.Context, api GroupMemberLister, poolID, group string) iter.Seq2[types.UserType, error] {
	return func(yield func(types.UserType, error) bool) {
		in := &cip.ListUsersInGroupInput{UserPoolId: &poolID, GroupName: &group, Limit: ptr(int32(MaxPageSize))}
		for {
			out, err := api.ListUsersInGroup(ctx, in)
			if err != nil {
				yield(types.UserType{}, fmt.Errorf("list members of group %q in %s: %w", group, poolID, err))
				return
			}
			for _, u := range out.Users {
				if !yield(u, nil) {
					return
				}
			}
			if out.NextToken == nil || *out.NextToken == "" {
				return
			}
			in.NextToken = out.NextToken
		}
	}
}

func ptr[T any](v T) *T { return &v }

// ShardedUsers yields every user matched by any of filters, running one token
// chain per filter concurrently (at most workers at a time). Order is not
// defined. Stopping early, or an error, stops every chain.
func ShardedUsers(ctx context.Context, api UserLister, poolID string, filters []string, workers int) iter.Seq2[types.UserType, error] {
	return func(yield func(types.UserType, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if workers <= 0 {
			workers = len(filters)
		}
		type item struct {
			u   types.UserType
			err error
		}
		out := make(chan item, 2*MaxPageSize)
		jobs := make(chan string)
		var wg sync.WaitGroup
		for range min(workers, len(filters)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for f := range jobs {
					for u, err := range Users(ctx, api, poolID, f) {
						select {
						case out <- item{u, err}:
						case <-ctx.Done():
							return
						}
						if err != nil {
							return
						}
					}
				}
			}()
		}
		go func() {
			defer close(jobs)
			for _, f := range filters {
				select {
				case jobs <- f:
				case <-ctx.Done():
					return
				}
			}
		}()
		go func() { wg.Wait(); close(out) }()
		for it := range out {
			if !yield(it.u, it.err) || it.err != nil {
				return
			}
		}
	}
}

// AllUsers yields every user of the pool once: in the 16 SubShards chains,
// or, when the pool refuses the shard filter (InvalidParameterException; no
// public source promises `sub ^=` on every pool), in one unsharded chain
// that skips the users the shards had already yielded. refused, when not
// nil, hears of the fallback.
func AllUsers(ctx context.Context, api UserLister, poolID string, workers int, refused func(error)) iter.Seq2[types.UserType, error] {
	return func(yield func(types.UserType, error) bool) {
		seen := map[string]struct{}{}
		var fallback error
		for u, err := range ShardedUsers(ctx, api, poolID, SubShards(), workers) {
			if IsInvalidParameter(err) {
				fallback = err
				break
			}
			if err != nil {
				yield(u, err)
				return
			}
			sub, _ := Attr(u.Attributes, "sub")
			seen[sub] = struct{}{}
			if !yield(u, nil) {
				return
			}
		}
		if fallback == nil {
			return
		}
		if refused != nil {
			refused(fallback)
		}
		for u, err := range Users(ctx, api, poolID, "") {
			if err == nil {
				sub, _ := Attr(u.Attributes, "sub")
				if _, dup := seen[sub]; dup {
					continue
				}
			}
			if !yield(u, err) || err != nil {
				return
			}
		}
	}
}
