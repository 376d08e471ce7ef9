package migrate

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognito"
)

// sourceUser is what the matcher keeps of a source user.
type sourceUser struct {
	username, sub string
}

// matcher pairs target users with the source users they were made from.
type matcher struct {
	target      string
	started     time.Time
	signIn      signIn
	byKey       map[string]int // sign-in key → index in users; -1 when two source users share it
	bySub       map[string]int // source sub → index in users
	users       []sourceUser
	sourceUsers int
}

// newMatcher reads the target's sign-in settings and the migration's start
// (the StartTag). A target start never ran on is refused.
func newMatcher(ctx context.Context, dst PoolReader, target string) (*matcher, error) {
	p, err := describe(ctx, dst, target)
	if err != nil {
		return nil, err
	}
	started, ok := Started(p)
	if !ok {
		return nil, fmt.Errorf("%w: %s has no %s tag: 'cogvault migrate start --to %s' has not run on it (or its tags were replaced)", ErrRefused, target, StartTag, target)
	}
	return &matcher{target: target, started: started, signIn: signInOf(p), byKey: map[string]int{}, bySub: map[string]int{}}, nil
}

func (m *matcher) addSource(u sourceUser, keys []string) {
	i := len(m.users)
	m.users = append(m.users, u)
	m.sourceUsers++
	if u.sub != "" {
		m.bySub[u.sub] = i
	}
	for _, k := range keys {
		if j, ok := m.byKey[k]; ok && j != i {
			m.byKey[k] = -1 // ambiguous: matches no one
			continue
		}
		m.byKey[k] = i
	}
}

// match finds the source user a target user signs in as; ok is false when
// none (or more than one) does.
func (m *matcher) match(u types.UserType) (sourceUser, bool) {
	found := -1
	for _, k := range m.signIn.userKeys(u) {
		if i, ok := m.byKey[k]; ok && i >= 0 {
			if found >= 0 && found != i {
				return sourceUser{}, false
			}
			found = i
		}
	}
	if found < 0 {
		return sourceUser{}, false
	}
	return m.users[found], true
}

// migrated says whether the target user was created by the migration: it
// matches a source user and was created at or after the start. A target
// user that existed before is never one, whatever its sign-in value.
func (m *matcher) migrated(u types.UserType) bool {
	return !aws.ToTime(u.UserCreateDate).Before(m.started)
}

// listWorkers is how many sharded listing chains run at once, as the
// restore and diff list (the client paces them to the UserList quota).
const listWorkers = 16

// eachTarget lists the target's users (paced by the client) and calls f for
// those matching a source user.
func (m *matcher) eachTarget(ctx context.Context, api cognito.UserLister, f func(u types.UserType, src sourceUser, migrated bool) error) error {
	for u, err := range cognito.AllUsers(ctx, api, m.target, listWorkers, nil) {
		if err != nil {
			return err
		}
		s, ok := m.match(u)
		if !ok {
			continue
		}
		if err := f(u, s, m.migrated(u)); err != nil {
			return err
		}
	}
	return nil
}

func sub(attrs []types.AttributeType) string {
	v, _ := cognito.Attr(attrs, "sub")
	return v
}

// verdict is what finish makes of a target user that matches a source
// user or that a proof names.
type verdict int

const (
	unrelated   verdict = iota // neither matches nor is proven: not the migration's business
	preExisting                // created before start: left alone, whatever it matches
	migrated                   // made by the migration (or this run's restore) from src
	conflict                   // matches src, created after start, nothing proves it is src
)

// classify says what the target user u is (proofs.go). A user created
// before the start is never migrated; one this run's restore created
// (restored, by username) is; else a proof names its source user; else a
// sign-in match without proof is a conflict.
func (m *matcher) classify(u types.UserType, pr proofs, restored map[string]bool) (sourceUser, verdict) {
	s, matched := m.match(u)
	if !m.migrated(u) {
		if matched {
			return s, preExisting
		}
		return sourceUser{}, unrelated
	}
	if matched && restored[aws.ToString(u.Username)] {
		return s, migrated
	}
	if old := pr.provenSource(u); old != "" {
		if i, ok := m.bySub[old]; ok {
			return m.users[i], migrated
		}
	}
	if matched {
		return s, conflict
	}
	return sourceUser{}, unrelated
}

// eachClassified lists the target's users (paced by the client) and calls
// f for each one classify relates to a source user.
func (m *matcher) eachClassified(ctx context.Context, api cognito.UserLister, pr proofs, restored map[string]bool, f func(u types.UserType, src sourceUser, v verdict) error) error {
	for u, err := range cognito.AllUsers(ctx, api, m.target, listWorkers, nil) {
		if err != nil {
			return err
		}
		if s, v := m.classify(u, pr, restored); v != unrelated {
			if err := f(u, s, v); err != nil {
				return err
			}
		}
	}
	return nil
}
