package diff

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sort"

	"github.com/cogvault/cogvault/internal/snapshot"
)

// PoolSource is a side that can describe the pool's configuration.
type PoolSource interface {
	PoolConfig(ctx context.Context) (*snapshot.PoolConfig, error)
}

// PoolReport says how the configuration changed: the names of changed pool
// settings, and app clients and identity providers added, removed or
// changed (with the names of changed settings).
type PoolReport struct {
	Settings               []string      `json:"settings,omitempty"`
	ClientsAdded           []string      `json:"clientsAdded,omitempty"`
	ClientsRemoved         []string      `json:"clientsRemoved,omitempty"`
	ClientsChanged         []GroupChange `json:"clientsChanged,omitempty"`
	ProvidersAdded         []string      `json:"providersAdded,omitempty"`
	ProvidersRemoved       []string      `json:"providersRemoved,omitempty"`
	ProvidersChanged       []GroupChange `json:"providersChanged,omitempty"`
	ResourceServersAdded   []string      `json:"resourceServersAdded,omitempty"`
	ResourceServersRemoved []string      `json:"resourceServersRemoved,omitempty"`
	ResourceServersChanged []GroupChange `json:"resourceServersChanged,omitempty"`
}

func (p *PoolReport) empty() bool {
	return p == nil || len(p.Settings)+len(p.ClientsAdded)+len(p.ClientsRemoved)+len(p.ClientsChanged)+
		len(p.ProvidersAdded)+len(p.ProvidersRemoved)+len(p.ProvidersChanged)+
		len(p.ResourceServersAdded)+len(p.ResourceServersRemoved)+len(p.ResourceServersChanged) == 0
}

// volatile are settings the service changes by itself.
var volatile = map[string]bool{"LastModifiedDate": true, "CreationDate": true, "EstimatedNumberOfUsers": true}

// perPool are what differs between a pool and one recreated from it, by
// construction: documented in README "Migrate a pool".
var perPool = map[string]bool{"Id": true, "Arn": true, "Name": true, "UserPoolId": true, "ClientId": true,
	"Domain": true, "CustomDomain": true, "AWSAccountId": true, "CloudFrontDistribution": true, "S3Bucket": true, "Version": true}

func comparePools(ctx context.Context, old, new PoolSource, across bool) (*PoolReport, error) {
	oc, err := old.PoolConfig(ctx)
	if err != nil {
		return nil, err
	}
	nc, err := new.PoolConfig(ctx)
	if err != nil {
		return nil, err
	}
	ignore := volatile
	clientKey := "ClientId"
	if across {
		ignore = map[string]bool{}
		for k := range volatile {
			ignore[k] = true
		}
		for k := range perPool {
			ignore[k] = true
		}
		clientKey = "ClientName"
	}
	r := &PoolReport{}
	r.Settings = changedKeys(asMap(oc.UserPool), asMap(nc.UserPool), ignore)
	if !jsonEqual(oc.MFA, nc.MFA) {
		r.Settings = append(r.Settings, "MfaConfig")
	}
	// The domain's description: in a recreated pool only its prefix should
	// match; the pool's own Domain setting is its prefix again.
	domainIgnore := map[string]bool{}
	for k := range ignore {
		domainIgnore[k] = k != "Domain"
	}
	if len(changedKeys(asMap(oc.Domain), asMap(nc.Domain), domainIgnore)) > 0 {
		r.Settings = append(r.Settings, "DomainDescription")
	}
	if !slices.Equal(uiCSS(oc.UI), uiCSS(nc.UI)) {
		r.Settings = append(r.Settings, "UICustomization")
	}
	sort.Strings(r.Settings)
	r.ClientsAdded, r.ClientsRemoved, r.ClientsChanged = compareNamed(oc.Clients, nc.Clients, clientKey, ignore)
	r.ProvidersAdded, r.ProvidersRemoved, r.ProvidersChanged = compareNamed(oc.IdentityProviders, nc.IdentityProviders, "ProviderName", ignore)
	r.ResourceServersAdded, r.ResourceServersRemoved, r.ResourceServersChanged = compareNamed(oc.ResourceServers, nc.ResourceServers, "Identifier", ignore)
	return r, nil
}

func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	_ = json.Unmarshal(a, &x)
	_ = json.Unmarshal(b, &y)
	return reflect.DeepEqual(x, y)
}

func asMap(raw json.RawMessage) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

func changedKeys(o, n map[string]any, ignore map[string]bool) []string {
	keys := map[string]bool{}
	for k := range o {
		keys[k] = true
	}
	for k := range n {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		if !ignore[k] && !reflect.DeepEqual(o[k], n[k]) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func compareNamed(old, new []json.RawMessage, key string, ignore map[string]bool) (added, removed []string, changed []GroupChange) {
	index := func(list []json.RawMessage) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, raw := range list {
			m := withoutSecrets(asMap(raw))
			if name, ok := m[key].(string); ok {
				out[name] = m
			}
		}
		return out
	}
	o, n := index(old), index(new)
	for name, nm := range n {
		om, ok := o[name]
		if !ok {
			added = append(added, name)
			continue
		}
		if fields := changedKeys(om, nm, ignore); fields != nil {
			changed = append(changed, GroupChange{Name: name, Fields: fields})
		}
	}
	for name := range o {
		if _, ok := n[name]; !ok {
			removed = append(removed, name)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	sort.Slice(changed, func(i, j int) bool { return changed[i].Name < changed[j].Name })
	return added, removed, changed
}

// withoutSecrets replaces secret values (kept by backup --include-secrets)
// with the "present" markers a plain backup writes, so that both compare and
// no diff ever shows a secret changing.
func withoutSecrets(m map[string]any) map[string]any {
	if v, ok := m["ClientSecret"]; ok {
		delete(m, "ClientSecret")
		if v != nil {
			m["ClientSecretPresent"] = true
		}
	}
	if d, ok := m["ProviderDetails"].(map[string]any); ok {
		for _, k := range []string{"client_secret", "private_key"} {
			if _, ok := d[k]; ok {
				delete(d, k)
				d[k+"_present"] = "true"
			}
		}
	}
	return m
}

// uiCSS is what the hosted UI customization sets, comparable across pools:
// the pool's CSS first, then the clients' own, sorted (client ids differ
// between a pool and its copy).
func uiCSS(list []json.RawMessage) []string {
	var pool string
	var clients []string
	for _, raw := range list {
		m := asMap(raw)
		css, _ := m["CSS"].(string)
		if m["ClientId"] == "ALL" || m["ClientId"] == nil {
			pool = css
		} else {
			clients = append(clients, css)
		}
	}
	sort.Strings(clients)
	return append([]string{pool}, clients...)
}
