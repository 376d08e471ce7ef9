package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/migration"
	"github.com/cogvault/cogvault/internal/repo"
	"github.com/cogvault/cogvault/internal/storage"
)

// Who migrated (review finding 1; docs/cognito-facts.md §34.1). A target
// user whose sign-in value matches a source user is not that user because
// of the match: anyone may self-sign-up, or an admin create a user, under
// the name of a source user who has not migrated yet. finish takes a
// target user for a migrated one only with positive proof that the
// migration function made it from that source user:
//   - the function's users/<new sub>.json record in the migration's
//     repository (old sub → new sub; signed in a signed repository), or
//   - custom:legacy_sub equal to the source user's sub, when the target has
//     that attribute and no app client of the target can write it (only an
//     admin, the restore and the migration function then set it), or
//   - the function's pending record, bound to the user by the rule its
//     PostAuthentication applies (migration.ClaimPending: the exact value
//     typed, the legacy sub, the creation time): a user migrated by "forgot
//     password" who has not signed in yet.
// Anyone else matching a source user is a conflict: no groups, no mapping,
// the source user not restored over it, and the report says what to do.

// ClientReader reads the target's app clients (their WriteAttributes).
type ClientReader interface {
	ListUserPoolClients(ctx context.Context, in *cip.ListUserPoolClientsInput, optFns ...func(*cip.Options)) (*cip.ListUserPoolClientsOutput, error)
	DescribeUserPoolClient(ctx context.Context, in *cip.DescribeUserPoolClientInput, optFns ...func(*cip.Options)) (*cip.DescribeUserPoolClientOutput, error)
}

// proofs are what proves a target user was migrated.
type proofs struct {
	bySub  map[string]string // new sub → old sub, from the function's users/ records
	legacy bool              // custom:legacy_sub proves: the target has it and no app client writes it
	rp     *repo.Repo        // the migration's repository (its pending records); nil without
}

// UsersPrefix is where the migration function records each user it
// finished (users/<new sub>.json, internal/migration records.go).
func UsersPrefix(target string) string { return "migrations/" + target + "/users/" }

// userRecord is what finish reads of a users/ record.
type userRecord struct {
	OldSub string `json:"oldSub"`
	NewSub string `json:"newSub"`
}

// readUserRecords reads every users/ record of target in rp: new sub →
// old sub. Through rp, a signed repository's records are verified (and an
// encrypted one's decrypted); a record that is not the function's fails
// finish rather than prove anything.
func readUserRecords(ctx context.Context, rp *repo.Repo, target string) (map[string]string, error) {
	out := map[string]string{}
	prefix := UsersPrefix(target)
	for o, err := range rp.Store.List(ctx, prefix) {
		if errors.Is(err, storage.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list the migration's records %s in %s: %w", prefix, rp.Store, err)
		}
		name := strings.TrimPrefix(o.Key, "migrations/"+target+"/")
		b, err := rp.GetMigrationRecord(ctx, target, name)
		if err != nil {
			return nil, fmt.Errorf("read the migration's record: %w", err)
		}
		var r userRecord
		if json.Unmarshal(b, &r) != nil || r.OldSub == "" || name != "users/"+r.NewSub+".json" {
			return nil, fmt.Errorf("%w: %s in %s is not a users/ record of the migration function (old sub → new sub): move it away and run finish again", ErrRefused, o.Key, rp.Store)
		}
		out[r.NewSub] = r.OldSub
	}
	return out, nil
}

// legacySubProves says whether custom:legacy_sub proves a migration in
// p: the attribute exists and every app client of the pool has an
// explicit WriteAttributes list without it. An empty list is taken as
// "can write it": the API reference says a client without WriteAttributes
// writes the standard attributes, while a provider's tests found all
// attributes writable (facts §34.3, UNCONFIRMED), so the safe reading wins.
func legacySubProves(ctx context.Context, api ClientReader, p *types.UserPoolType) (bool, error) {
	if !hasAttr(p, LegacySubAttribute) {
		return false, nil
	}
	pool := aws.ToString(p.Id)
	in := &cip.ListUserPoolClientsInput{UserPoolId: &pool, MaxResults: aws.Int32(60)}
	for {
		out, err := api.ListUserPoolClients(ctx, in)
		if err != nil {
			return false, fmt.Errorf("list app clients of %s: %w", pool, err)
		}
		for _, c := range out.UserPoolClients {
			d, err := api.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: &pool, ClientId: c.ClientId})
			if err != nil {
				return false, fmt.Errorf("describe app client %s of %s: %w", aws.ToString(c.ClientId), pool, err)
			}
			w := d.UserPoolClient.WriteAttributes
			if len(w) == 0 || slices.Contains(w, LegacySubAttribute) {
				return false, nil
			}
		}
		if in.NextToken = out.NextToken; aws.ToString(in.NextToken) == "" {
			return true, nil
		}
	}
}

// provenSource is the source sub a proof gives the target user u, "" when
// none does.
func (pr proofs) provenSource(u types.UserType) string {
	if old, ok := pr.bySub[sub(u.Attributes)]; ok {
		return old
	}
	if pr.legacy {
		if v, ok := cognito.Attr(u.Attributes, LegacySubAttribute); ok {
			return v
		}
	}
	return ""
}

// pendingSource is the source user whose pending record binds the target
// user u (see proofs); ok is false when none does or there is no
// repository.
func (m *matcher) pendingSource(ctx context.Context, pr proofs, u types.UserType) (src sourceUser, ok bool, err error) {
	if pr.rp == nil {
		return sourceUser{}, false, nil
	}
	c := migration.Claimant{Username: aws.ToString(u.Username), ByUsername: len(m.signIn.usernameAttrs) == 0, Created: aws.ToTime(u.UserCreateDate)}
	if v, ok := cognito.Attr(u.Attributes, LegacySubAttribute); ok {
		c.LegacySub = &v
	}
	values := []string{c.Username}
	if !c.ByUsername {
		values = nil
		for _, a := range m.signIn.usernameAttrs {
			if v, ok := cognito.Attr(u.Attributes, a); ok {
				values = append(values, v)
			}
		}
	}
	for _, v := range values {
		b, err := pr.rp.GetMigrationRecord(ctx, m.target, migration.PendingRecordName(v))
		if errors.Is(err, storage.ErrNotExist) {
			continue
		}
		if err != nil {
			return sourceUser{}, false, fmt.Errorf("read the migration's pending record: %w", err)
		}
		if old, ok := migration.ClaimPending(b, c); ok {
			if i, ok := m.bySub[old]; ok {
				return m.users[i], true, nil
			}
		}
	}
	return sourceUser{}, false, nil
}
