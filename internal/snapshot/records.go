package snapshot

import (
	"encoding/json"
	"time"
)

// FormatVersion is the version of records, chunks and manifests this
// cogvault writes, and the newest it reads.
const FormatVersion = 1

// Attribute is one user attribute, exactly as Cognito returned it.
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// MFASettings are a user's MFA preferences (only with backup --mfa; ListUsers
// does not return them).
type MFASettings struct {
	PreferredMfaSetting string   `json:"preferredMfaSetting,omitempty"`
	UserMFASettingList  []string `json:"userMfaSettingList,omitempty"`
}

// Identity is a federated identity linked to the user (from the identities
// attribute).
type Identity struct {
	ProviderName string    `json:"providerName"`
	ProviderType string    `json:"providerType"`
	UserID       string    `json:"userId"`
	Primary      bool      `json:"primary"`
	DateCreated  time.Time `json:"dateCreated,omitzero"`
}

// User is one user record.
type User struct {
	Username   string       `json:"username"`
	Sub        string       `json:"sub"`
	Attributes []Attribute  `json:"attributes"`
	Enabled    bool         `json:"enabled"`
	Status     string       `json:"status"`
	Created    time.Time    `json:"created"`
	Modified   time.Time    `json:"modified"`
	MFA        *MFASettings `json:"mfa,omitempty"`
	Identities []Identity   `json:"identities,omitempty"`
}

// Attr returns the value of attribute name.
func (u *User) Attr(name string) (string, bool) {
	for _, a := range u.Attributes {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// Group is one group record.
type Group struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	RoleArn     string    `json:"roleArn,omitempty"`
	Precedence  *int32    `json:"precedence,omitempty"`
	Created     time.Time `json:"created"`
	Modified    time.Time `json:"modified"`
}

// Membership says a user belongs to a group.
type Membership struct {
	Group    string `json:"group"`
	Username string `json:"username"`
}

// PoolConfig is the pool's configuration as the API described it. The
// service's own shapes are kept as raw JSON so that settings cogvault does
// not interpret still round-trip; secrets are never among them.
type PoolConfig struct {
	FormatVersion     int               `json:"formatVersion"`
	UserPool          json.RawMessage   `json:"userPool"`
	Clients           []json.RawMessage `json:"clients,omitempty"`
	IdentityProviders []json.RawMessage `json:"identityProviders,omitempty"`
	ResourceServers   []json.RawMessage `json:"resourceServers,omitempty"`
	Domain            json.RawMessage   `json:"domain,omitempty"`
	// MFA is GetUserPoolMfaConfig's answer (the factors' settings).
	MFA json.RawMessage `json:"mfa,omitempty"`
	// UI is the classic hosted UI's customization: the pool's ("ALL") and
	// each app client's own, as GetUICustomization describes them.
	UI     []json.RawMessage `json:"ui,omitempty"`
	Groups []Group           `json:"groups"`
}

// Record kinds: the kind of a chunk's records, in its header line.
const (
	KindUsers   = "users"
	KindMembers = "members"
	KindPool    = "pool"
)
