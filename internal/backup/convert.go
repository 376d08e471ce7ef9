package backup

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cogvault/cogvault/internal/cognito"
	"github.com/cogvault/cogvault/internal/snapshot"
)

// UserRecord converts a listed user into its snapshot record. Every attribute
// is kept as listed, in order, sub and identities included, so a restore or a
// diff sees exactly what the service returned.
func UserRecord(u types.UserType) (snapshot.User, error) {
	rec := snapshot.User{
		Username: deref(u.Username),
		Enabled:  u.Enabled,
		Status:   string(u.UserStatus),
		Created:  derefTime(u.UserCreateDate),
		Modified: derefTime(u.UserLastModifiedDate),
	}
	for _, a := range u.Attributes {
		rec.Attributes = append(rec.Attributes, snapshot.Attribute{Name: deref(a.Name), Value: deref(a.Value)})
	}
	rec.Sub, _ = cognito.Attr(u.Attributes, "sub")
	if rec.Sub == "" {
		return rec, fmt.Errorf("user %q has no sub attribute", rec.Username)
	}
	if ids, ok := cognito.Attr(u.Attributes, "identities"); ok && ids != "" {
		parsed, err := parseIdentities(ids)
		if err != nil {
			return rec, fmt.Errorf("user %q: identities attribute: %w", rec.Username, err)
		}
		rec.Identities = parsed
	}
	return rec, nil
}

// identityWire is one element of the identities attribute as Cognito writes it.
type identityWire struct {
	UserID       string `json:"userId"`
	ProviderName string `json:"providerName"`
	ProviderType string `json:"providerType"`
	Primary      any    `json:"primary"` // true/false, sometimes "true"/"false"
	DateCreated  any    `json:"dateCreated"`
}

func parseIdentities(s string) ([]snapshot.Identity, error) {
	var raw []identityWire
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, err
	}
	out := make([]snapshot.Identity, 0, len(raw))
	for _, r := range raw {
		id := snapshot.Identity{ProviderName: r.ProviderName, ProviderType: r.ProviderType, UserID: r.UserID}
		switch v := r.Primary.(type) {
		case bool:
			id.Primary = v
		case string:
			id.Primary = v == "true"
		}
		switch v := r.DateCreated.(type) {
		case float64:
			id.DateCreated = time.UnixMilli(int64(v)).UTC()
		case string:
			var ms int64
			if _, err := fmt.Sscan(v, &ms); err == nil {
				id.DateCreated = time.UnixMilli(ms).UTC()
			}
		}
		out = append(out, id)
	}
	return out, nil
}

// GroupRecord converts a listed group into its snapshot record.
func GroupRecord(g types.GroupType) snapshot.Group {
	return snapshot.Group{
		Name:        deref(g.GroupName),
		Description: deref(g.Description),
		RoleArn:     deref(g.RoleArn),
		Precedence:  g.Precedence,
		Created:     derefTime(g.CreationDate),
		Modified:    derefTime(g.LastModifiedDate),
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
